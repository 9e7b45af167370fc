package dev.kiln.train;

import dev.kiln.util.AtomicFiles;
import com.google.gson.JsonParser;
import dev.kiln.io.HfFolder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What makes a folder a Kiln run, and what of it Kiln may delete. Kiln writes into a folder only when it is
 * new, empty, or a Kiln run; it never writes into {@code /} or a home folder; and starting over
 * ({@code --overwrite}) removes only the entries a run writes, leaving anything else the user put there.
 *
 * <p>A run is recognised by {@value #MARKER}, written before anything else, or (runs from before the marker)
 * by a manifest.json that carries {@code kiln_version}.
 */
public final class RunFolder {
    public static final String MARKER = ".kiln-run";
    /** Top-level entries a run writes; nothing else in a run folder is ever deleted. */
    static final Set<String> ENTRIES = Set.of("config.json", "manifest.json", "metrics.jsonl", "summary.json",
            "loss.png", "tensorboard", "checkpoints", "best", "final");
    /** Temporary names left by a kill: files of AtomicFiles, folders of HfFolder and Checkpoints. */
    static final Pattern LEFTOVER = Pattern.compile(
            "\\.(config\\.json|manifest\\.json|summary\\.json|metrics\\.jsonl|loss\\.png)\\..*\\.tmp"
                    + "|\\.(best|final)\\.(tmp|old|peft)-.*|\\.best\\.old");
    private static final Pattern STEP = Pattern.compile("step-\\d+(\\.unreadable)?|\\.step-\\d+\\.tmp-.*");
    private static final Pattern EVENTS = Pattern.compile("events\\.out\\.tfevents\\..*");

    private RunFolder() {}

    /**
     * Refuses, before anything is written, an output folder Kiln must not write into: a file, {@code /}, a home
     * folder, a non-empty folder that is not a Kiln run, or a run whose best/ or final/ holds
     * files Kiln did not write (they would be replaced at the end of the run).
     */
    public static void check(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            throw new IllegalArgumentException("output folder " + abs + " is a file; give a folder path to output.dir / --output");
        }
        String why = protectedReason(abs);
        if (why != null) {
            throw new IllegalArgumentException("output folder " + abs + " is " + why
                    + "; Kiln does not write runs there: give a new folder inside it (e.g. " + abs.resolve("runs/my-run") + ")");
        }
        if (!Files.isDirectory(abs) || isEmpty(abs)) return;
        if (!isRun(abs)) {
            throw new IllegalArgumentException("output folder " + abs + " is not empty and is not a Kiln run (it holds "
                    + sample(abs) + "); Kiln only writes into new, empty or Kiln run folders: choose another output.dir / --output");
        }
        for (String sub : new String[] {"best", "final"}) HfFolder.requireReplaceable(abs.resolve(sub));
    }

    /** {@link #check}, then creates the folder and marks it as a run; returns its absolute path. */
    public static Path claim(Path dir) throws IOException {
        check(dir);
        Path abs = dir.toAbsolutePath().normalize();
        Files.createDirectories(abs);
        Path marker = abs.resolve(MARKER);
        if (!Files.exists(marker)) {
            Files.writeString(marker, "A Kiln run folder: Kiln writes and deletes only its own entries here ("
                    + String.join(", ", new java.util.TreeSet<>(ENTRIES)) + ").\n");
        }
        removeLeftovers(abs);
        return abs;
    }

    public static boolean isRun(Path dir) {
        if (Files.isRegularFile(dir.resolve(MARKER))) return true;
        Path manifest = dir.resolve("manifest.json");
        if (!Files.isRegularFile(manifest) || !Files.isRegularFile(dir.resolve("config.json"))) return false;
        try {
            return JsonParser.parseString(Files.readString(manifest)).getAsJsonObject().has("kiln_version");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Starts a run folder over: removes what a run writes (its files, checkpoint step folders, TensorBoard event
     * files, Kiln model folders) and keeps everything else. Refuses a folder that is not a Kiln run.
     */
    public static void clear(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs) || isEmpty(abs)) return;
        check(abs);
        removeLeftovers(abs);
        for (String name : ENTRIES) {
            Path p = abs.resolve(name);
            switch (name) {
                case "checkpoints": removeMatching(p, STEP); break;
                case "tensorboard": removeMatching(p, EVENTS); break;
                case "best":
                case "final": HfFolder.deleteOwnFolder(p); break;
                default: Files.deleteIfExists(p);
            }
        }
    }

    /** Temporary files and folders of an interrupted write (a kill mid-save). */
    static void removeLeftovers(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (LEFTOVER.matcher(p.getFileName().toString()).matches()) AtomicFiles.deleteTree(p);
            }
        }
    }

    /**
     * Why {@code abs} may never hold a run, or null: a filesystem root or a home folder. (Any other non-empty
     * folder that is not a run, a mount point included, is refused by the emptiness rule.)
     */
    static String protectedReason(Path abs) {
        if (abs.getParent() == null) return "a filesystem root";
        Path home = Paths.get(System.getProperty("user.home")).toAbsolutePath().normalize();
        if (abs.equals(home)) return "your home folder";
        if (abs.getParent().equals(Paths.get("/home"))) return "a home folder";
        return null;
    }

    private static void removeMatching(Path folder, Pattern own) throws IOException {
        if (!Files.isDirectory(folder)) return;
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (own.matcher(p.getFileName().toString()).matches()) AtomicFiles.deleteTree(p);
            }
        }
        if (isEmpty(folder)) Files.delete(folder);
    }

    static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static String sample(Path dir) throws IOException {
        List<String> names = new ArrayList<>();
        long n;
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> all = s.sorted().toList();
            n = all.size();
            for (Path p : all.subList(0, (int) Math.min(3, n))) {
                names.add(p.getFileName() + (Files.isDirectory(p) ? "/" : ""));
            }
        }
        return String.join(", ", names) + (n > 3 ? " and " + (n - 3) + " more" : "");
    }
}
