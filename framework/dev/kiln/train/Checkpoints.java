package dev.kiln.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.io.HfFolder;
import dev.kiln.util.AtomicFiles;
import dev.kiln.util.IoErrors;
import dev.kiln.nn.HostTensor;
import dev.kiln.io.SafeTensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Run checkpoints: {@code checkpoints/step-N/} (full training state), {@code best/} (model folder).
 * Each is built under a temporary name and renamed into place, so a directory named step-N is
 * always complete; a kill mid-write leaves only a temp folder, removed on the next start.
 */
public final class Checkpoints {
    public static final String STATE_FILE = "trainer_state.json";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String MASTERS_FILE = "master_weights.safetensors";

    private final Path runDir;
    private final Path dir;
    private final int keepLast;

    public Checkpoints(Path runDir, int keepLast) {
        this.runDir = runDir;
        this.dir = runDir.resolve("checkpoints");
        this.keepLast = Math.max(1, keepLast);
    }

    public record Restored(Path dir, TrainerState state) {}

    public void save(long step, TrainableTask task, Updater updater, TrainerState state)
            throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve("step-" + step);
        if (Files.exists(target)) return;
        try {
            AtomicFiles.buildFolder(target, tmp -> {
                task.save(tmp.resolve("model"));
                SafeTensors.write(tmp.resolve(OPTIMIZER_FILE), updater.state(), Map.of("kind", "optimizer"));
                // fp16-mixed: the fp32 masters are the real weights; model/ holds the fp16 compute copy
                if (updater.masters() != null) {
                    SafeTensors.write(tmp.resolve(MASTERS_FILE), updater.weights(), Map.of("kind", "fp32-master-weights"));
                }
                Path best = runDir.resolve("best");
                state.bestModelCheckpoint = Files.isDirectory(best) ? best.toAbsolutePath().toString() : null;
                AtomicFiles.writeJson(tmp.resolve(STATE_FILE), state.toJson());
            });
        } catch (IOException e) {
            throw IoErrors.named(target, e);
        }
        rotate();
    }

    /** Copies the current model to best/ (replacing the previous best atomically). */
    public void saveBest(TrainableTask task) throws IOException {
        Files.createDirectories(runDir); // the first best can come before the first checkpoint creates it
        Path best = runDir.resolve("best");
        HfFolder.requireReplaceable(best);
        Path tmp = AtomicFiles.newDirectory(runDir, ".best.tmp-");
        try {
            task.save(tmp.resolve("m"));
            AtomicFiles.publish(tmp.resolve("m"), best);
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }

    /** Step directories, newest first. */
    public List<Path> list() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().matches("step-\\d+"))
                    .filter(p -> Files.isRegularFile(p.resolve(STATE_FILE)))
                    .forEach(out::add);
        }
        out.sort(Comparator.comparingLong(Checkpoints::stepOf).reversed());
        return out;
    }

    static long stepOf(Path p) {
        return Long.parseLong(p.getFileName().toString().substring(5));
    }

    private void rotate() throws IOException {
        List<Path> all = list();
        for (int i = keepLast; i < all.size(); i++) AtomicFiles.deleteTree(all.get(i));
    }

    /** Loads the newest complete checkpoint into the task, optimizer and loss scaler; null when none. */
    public Restored restoreLatest(TrainableTask task, Updater updater) throws IOException {
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : (Iterable<Path>) s.filter(q -> q.getFileName().toString().startsWith(".step-"))::iterator) {
                    AtomicFiles.deleteTree(p); // left by a kill during a write
                }
            }
        }
        List<Path> all = list();
        for (int i = 0; i < all.size(); i++) {
            Path p = all.get(i);
            try {
                return restore(p, task, updater);
            } catch (IOException | RuntimeException e) {
                // a damaged newest checkpoint (disk error, a copy gone wrong) must not cost the whole run
                if (i + 1 == all.size()) {
                    throw new IOException(p + ": checkpoint does not read back (" + e.getMessage() + ") and no older one does;"
                            + " start over with --overwrite or another --output", e);
                }
                // renamed, not deleted: kept for a look, and out of the way of the step that will be saved again
                Path aside = p.resolveSibling(p.getFileName() + ".unreadable");
                Files.move(p, aside);
                System.err.println("kiln: notice: checkpoint " + p + " does not read back (" + e.getMessage()
                        + "); resuming from " + all.get(i + 1).getFileName() + " instead (the bad one is now " + aside.getFileName() + ")");
            }
        }
        return null;
    }

    private static Restored restore(Path p, TrainableTask task, Updater updater) throws IOException {
        JsonObject st = JsonParser.parseString(Files.readString(p.resolve(STATE_FILE))).getAsJsonObject();
        Map<String, HostTensor> weights = TaskFolder.readTensors(p.resolve("model"));
        var report = task.parameters().load(weights, k -> k);
        // a PEFT checkpoint holds what trains; the frozen base weights are the ones loaded at the start
        var trainable = task.trainable();
        for (String missing : report.missing) {
            if (trainable.test(missing)) throw new IOException("it does not match the model (missing " + missing + ")");
        }
        updater.loadState(SafeTensors.readCheckpoint(p.resolve(OPTIMIZER_FILE)));
        if (updater.masters() != null) updater.masters().load(SafeTensors.readCheckpoint(p.resolve(MASTERS_FILE)));
        return new Restored(p, TrainerState.fromJson(st));
    }
}
