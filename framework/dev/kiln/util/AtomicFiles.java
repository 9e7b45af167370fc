package dev.kiln.util;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Write-then-rename, so a crash never leaves a half-written file under the final name. */
public final class AtomicFiles {
    private AtomicFiles() {}

    public interface Writer {
        void writeTo(Path tmp) throws IOException;
    }

    /**
     * Kiln's one JSON style for the files it writes: pretty, no HTML escaping ({@code <|endoftext|>} stays
     * readable), NaN and infinities as JavaScript writes them (a diverged loss is still a summary), and a null
     * in the tree written as null (HF files spell out {@code "normalizer": null}, {@code "best_metric": null}).
     */
    private static final com.google.gson.Gson PRETTY = new com.google.gson.GsonBuilder().setPrettyPrinting()
            .disableHtmlEscaping().serializeSpecialFloatingPointValues().serializeNulls().create();

    /** {@code tree} (a JsonElement, or anything Gson serialises) as Kiln writes JSON files, with a final newline. */
    public static String json(Object tree) {
        return PRETTY.toJson(tree) + "\n";
    }

    /** Writes {@link #json}{@code (tree)} to {@code target} atomically. */
    public static void writeJson(Path target, Object tree) throws IOException {
        write(target, json(tree).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, tmp -> Files.write(tmp, bytes));
    }

    /** Runs {@code writer} on a temp file beside {@code target}, then renames it into place. */
    public static void write(Path target, Writer writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = newTempFile(dir, "." + target.getFileName() + ".");
        try {
            writer.writeTo(tmp);
            move(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * A new empty file {@code prefix + random + ".tmp"} in {@code dir}, created with the user's umask:
     * {@link Files#createTempFile} makes it owner-only, and renamed into place that would leak into run folders.
     */
    static Path newTempFile(Path dir, String prefix) throws IOException {
        return fresh(dir, prefix, ".tmp", Files::createFile);
    }

    /**
     * A new folder {@code prefix + random} under {@code parent}, created with the user's umask (unlike
     * {@link Files#createTempDirectory}, which makes it owner-only: renamed into place, that would make run
     * folders unreadable to the group).
     */
    public static Path newDirectory(Path parent, String prefix) throws IOException {
        return fresh(parent, prefix, "", Files::createDirectory);
    }

    /**
     * Puts the folder {@code built} at {@code target}: an existing target is renamed aside first and deleted
     * after, so a reader sees the old folder or the new one, never a half of either (no delete-then-move window).
     */
    public static void publish(Path built, Path target) throws IOException {
        if (!Files.exists(target)) {
            Files.move(built, target);
            return;
        }
        Path old = fresh(target.toAbsolutePath().getParent(), "." + target.getFileName() + ".old-", "", Files::createDirectory);
        Files.delete(old);
        Files.move(target, old);
        Files.move(built, target);
        deleteTree(old);
    }

    /**
     * Builds the folder {@code target}: {@code build} fills a new hidden folder beside it (the user's umask), which
     * is then {@link #publish}ed; on failure the partial folder is removed and {@code target} is untouched.
     * Returns the absolute target.
     */
    public static Path buildFolder(Path target, Writer build) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Files.createDirectories(abs.getParent());
        Path tmp = newDirectory(abs.getParent(), "." + abs.getFileName() + ".tmp-");
        try {
            build.writeTo(tmp);
            publish(tmp, abs);
        } finally {
            deleteTree(tmp);
        }
        return abs;
    }

    /**
     * Renames the folder {@code built} to {@code target} unless another process put one there first (a cache
     * entry that concurrent runs build alike: theirs is as good as ours, and readers may already use it).
     * Returns false, {@code built} left for the caller to delete, when the target existed.
     */
    public static boolean publishNew(Path built, Path target) throws IOException {
        try {
            Files.move(built, target);
            return true;
        } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException raced) {
            return false;
        }
    }

    /** Deletes a file or a folder with everything in it; nothing when absent. */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (java.util.stream.Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) Files.delete(q);
        }
    }

    private interface Create {
        Path at(Path p, java.nio.file.attribute.FileAttribute<?>... attrs) throws IOException;
    }

    private static Path fresh(Path dir, String prefix, String suffix, Create create) throws IOException {
        java.util.SplittableRandom r = new java.util.SplittableRandom();
        for (int i = 0; ; i++) {
            try {
                return create.at(dir.resolve(prefix + Long.toUnsignedString(r.nextLong(), 36) + suffix));
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (i > 100) throw e;
            }
        }
    }

    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
