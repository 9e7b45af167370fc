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
        java.util.SplittableRandom r = new java.util.SplittableRandom();
        for (int i = 0; ; i++) {
            try {
                return Files.createFile(dir.resolve(prefix + Long.toUnsignedString(r.nextLong(), 36) + ".tmp"));
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
