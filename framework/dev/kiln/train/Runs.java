package dev.kiln.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.config.RunConfig;
import dev.kiln.log.Progress;
import dev.kiln.log.SystemStats;
import dev.kiln.util.AtomicFiles;
import dev.kiln.util.Versions;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * One training run from a validated config: task, trainer, run directory. Layout:
 * {@code config.json, manifest.json, metrics.jsonl, summary.json, loss.png, tensorboard/,
 * checkpoints/step-N/, best/, final/}.
 */
public final class Runs {
    private Runs() {}

    /** What a finished run reports. */
    public record Outcome(Path runDir, Trainer.Result result) {}

    public static TrainerOptions options(RunConfig c) {
        TrainerOptions o = new TrainerOptions();
        o.epochs = c.training.epochs;
        o.maxSteps = c.training.maxSteps;
        o.batchSize = c.training.batchSize;
        o.gradientAccumulationSteps = c.training.gradientAccumulationSteps;
        o.groupByLength = c.training.groupByLength;
        o.maxTokensPerBatch = c.training.maxTokensPerBatch == null ? 0 : c.training.maxTokensPerBatch;
        o.maxGradNorm = (float) c.training.maxGradNorm;
        o.evalEverySteps = c.training.evalEverySteps;
        o.evalEachEpoch = c.training.evalEachEpoch;
        o.evalOnStart = c.training.evalOnStart;
        o.logEverySteps = c.training.logEverySteps;
        o.freeze = c.training.freeze;
        if (c.training.earlyStopping != null) {
            o.earlyStoppingMetric = c.training.earlyStopping.metric;
            o.earlyStoppingMode = c.training.earlyStopping.mode;
            o.earlyStoppingPatience = c.training.earlyStopping.patience;
            o.earlyStoppingMinDelta = c.training.earlyStopping.minDelta;
        }
        o.optimizer = c.optimizer;
        o.schedule = c.schedule;
        o.precision = c.precision;
        o.tensorboard = c.logging.tensorboard;
        o.plot = c.logging.plot;
        o.progress = c.logging.progress;
        o.checkpointEverySteps = c.checkpointing.everySteps;
        o.keepLast = c.checkpointing.keepLast;
        o.keepBest = c.checkpointing.keepBest;
        o.checkpointMetric = c.checkpointing.metric;
        o.checkpointMode = c.checkpointing.mode;
        o.seed = c.seed;
        o.outputDir = c.output.dir;
        return o;
    }

    /**
     * Builds the task (reading and checking all data first), then writes the run directory and trains.
     * An existing run directory with checkpoints is resumed, but only with the same config.
     */
    public static Outcome train(RunConfig cfg, PrintStream console, boolean quiet) throws IOException {
        return train(cfg, console, quiet, java.util.List.of());
    }

    /** As {@link #train(RunConfig, PrintStream, boolean)}, with {@code listeners} added after the run logger. */
    public static Outcome train(RunConfig cfg, PrintStream console, boolean quiet, java.util.List<Trainer.Listener> listeners)
            throws IOException {
        return train(cfg, console, quiet, listeners, java.util.List.of());
    }

    /** As above, with user metrics ({@link EvalMetric}) computed after each of the task's evaluations. */
    public static Outcome train(RunConfig cfg, PrintStream console, boolean quiet, java.util.List<Trainer.Listener> listeners,
                                java.util.List<EvalMetric> metrics) throws IOException {
        TaskProvider provider = Tasks.get(cfg.task.type);
        java.util.List<Device> devices = Replicas.devices(cfg);
        Device device = devices.get(0);
        for (Device d : devices) checkPrecision(cfg, d);
        Path runDir = cfg.output.dir;
        String resolved = cfg.toJson();
        RunFolder.check(runDir);
        guardResume(runDir, resolved);
        TrainerOptions o = options(cfg);
        if (quiet) o.progress = Progress.Mode.QUIET;
        if (cfg.training.threads != null) dev.kiln.util.Threads.set(cfg.training.threads);
        try (NDManager manager = NDManager.newBaseManager(device);
             TrainableTask task = WithMetrics.wrap(dev.kiln.peft.PeftTask.wrap(cfg, provider.create(cfg, manager)), metrics);
             Replicas replicas = Replicas.build(cfg, provider, devices)) {
            Trainer trainer = new Trainer(task, o).replicas(replicas.tasks());
            trainer.preflight(); // model-dependent config errors (freeze) before the first write
            requireSpace(runDir, task.parameters().count(), o);
            RunFolder.claim(runDir);
            AtomicFiles.write(runDir.resolve("config.json"), (resolved + "\n").getBytes(StandardCharsets.UTF_8));
            AtomicFiles.write(runDir.resolve("manifest.json"), manifest(cfg, devices, task).getBytes(StandardCharsets.UTF_8));
            // MFU against the peak of every distinct device (replicas sharing one device share its peak)
            double peak = SystemStats.MatmulPeak.measure(device) * new java.util.HashSet<>(devices).size();
            try (RunLogger log = new RunLogger(runDir, o, task.backbone(), task.flopParameters(), peak, console)) {
                log.stepsPerEpoch(trainer.stepsPerEpoch());
                trainer.addListener(log);
                for (Trainer.Listener l : listeners) trainer.addListener(l);
                Trainer.Result r = trainer.train();
                task.save(runDir.resolve("final"));
                ModelCard.writeForRun(runDir, resolved, r);
                JsonObject extra = new JsonObject();
                extra.addProperty("peak_matmul_gflops", peak / 1e9);
                extra.addProperty("device", Replicas.describe(devices));
                if (!device.isGpu()) extra.addProperty("threads", dev.kiln.util.Threads.current());
                log.writeSummary(r, extra);
                if (!quiet) {
                    console.print(RunReport.closing(runDir, r));
                    console.flush();
                }
                return new Outcome(runDir, r);
            }
        }
    }

    /**
     * Refuses a run whose checkpoints, best/ and final/ will not fit on the output filesystem: found before
     * training, not as "No space left on device" at the first checkpoint after all of it. fp32 weights; AdamW
     * keeps two moments per weight (an upper bound for SGD); fp16-mixed adds fp32 masters to each checkpoint.
     */
    static void requireSpace(Path runDir, long parameters, TrainerOptions o) throws IOException {
        Path probe = runDir.toAbsolutePath().normalize();
        while (probe != null && !Files.exists(probe)) probe = probe.getParent();
        if (probe == null) return;
        long model = parameters * 4;
        long optimizer = parameters * 4 * Optimizers.get(o.optimizer.type).statesPerWeight();
        long masters = o.precision.mode == RunConfig.PrecisionMode.FP16_MIXED ? model : 0;
        String why = spaceShortfall(Files.getFileStore(probe).getUsableSpace(), ownBytes(runDir),
                Math.max(1, o.keepLast), model + optimizer + masters, model, o.keepBest);
        if (why != null) throw new IllegalArgumentException("output folder " + runDir + ": " + why);
    }

    /** The refusal for {@code usable} free bytes (plus what the run's own old files free), or null when it fits. */
    static String spaceShortfall(long usable, long reclaimable, int keepLast, long checkpoint, long model, boolean keepBest) {
        // one more checkpoint than kept exists while the newest is written and before the oldest is rotated out
        long need = (keepLast + 1L) * checkpoint + (keepBest ? model : 0) + model;
        if (usable + reclaimable >= need) return null;
        return String.format(java.util.Locale.ROOT, "the filesystem has %s free but this run needs about %s"
                        + " (%d checkpoints of %s, %sfinal/ of %s); free space, lower checkpointing.keep_last, or choose another --output",
                gb(usable + reclaimable), gb(need), keepLast + 1, gb(checkpoint), keepBest ? "best/ and " : "", gb(model));
    }

    private static String gb(long bytes) {
        return bytes >= 1L << 30 ? String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30))
                : String.format(java.util.Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }

    /** Bytes a resumed or restarted run will replace: its checkpoints, best/ and final/. */
    private static long ownBytes(Path runDir) throws IOException {
        long n = 0;
        for (String sub : new String[] {"checkpoints", "best", "final"}) {
            Path p = runDir.resolve(sub);
            if (!Files.isDirectory(p)) continue;
            try (java.util.stream.Stream<Path> s = Files.walk(p)) {
                for (Path f : (Iterable<Path>) s::iterator) if (Files.isRegularFile(f)) n += Files.size(f);
            }
        }
        return n;
    }

    /** {@link RunConfig#fp16NeedsGpu}'s rule on the device {@code model.device} resolved to. */
    static void checkPrecision(RunConfig cfg, Device device) {
        if (cfg.precision.mode == RunConfig.PrecisionMode.FP16_MIXED && !device.isGpu()) {
            throw new IllegalArgumentException(cfg.source() + ": " + RunConfig.fp16NeedsGpu(cfg.model.device, device.toString()));
        }
    }

    /** Refuses to resume a run directory whose checkpoints came from a different config. */
    static void guardResume(Path runDir, String resolved) throws IOException {
        Path saved = runDir.resolve("config.json");
        if (!Files.isRegularFile(saved) || new Checkpoints(runDir, 1).list().isEmpty()) return;
        JsonObject a = JsonParser.parseString(Files.readString(saved)).getAsJsonObject();
        JsonObject b = JsonParser.parseString(resolved).getAsJsonObject();
        // threads and data-parallel replicas change speed, not the run (replicas: up to fp32 rounding), so a resumed
        // run may use other counts, e.g. continue a two-GPU run on one
        for (JsonObject c : new JsonObject[] {a, b}) {
            if (c.get("training") instanceof JsonObject t) t.remove("threads");
            if (c.get("model") instanceof JsonObject m) m.remove("devices");
        }
        String field = firstDifference("", a, b);
        if (field != null) {
            throw new IllegalArgumentException(runDir + " holds checkpoints of a run with a different config (first difference: "
                    + field + "); use another --output, or delete the folder to start over");
        }
    }

    /**
     * The first key whose values differ, or null. A key absent on one side and null on the other is no difference:
     * a key added to Kiln since the run started (null by default, e.g. model.devices) does not block its resume.
     */
    static String firstDifference(String path, JsonObject a, JsonObject b) {
        java.util.Set<String> keys = new java.util.TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        for (String k : keys) {
            var x = a.has(k) ? a.get(k) : com.google.gson.JsonNull.INSTANCE;
            var y = b.has(k) ? b.get(k) : com.google.gson.JsonNull.INSTANCE;
            if (x.isJsonObject() && y.isJsonObject()) {
                String d = firstDifference(path + k + ".", x.getAsJsonObject(), y.getAsJsonObject());
                if (d != null) return d;
            } else if (!x.equals(y)) {
                return path + k;
            }
        }
        return null;
    }

    static String manifest(RunConfig cfg, java.util.List<Device> devices, TrainableTask task) throws IOException {
        JsonObject m = new JsonObject();
        m.addProperty("seed", cfg.seed);
        m.addProperty("git_commit", gitCommit());
        m.addProperty("kiln_version", Versions.kiln());
        m.addProperty("djl_version", Versions.djl());
        m.addProperty("pytorch_version", Versions.pytorch());
        m.addProperty("java_version", System.getProperty("java.version"));
        m.addProperty("device", Replicas.describe(devices));
        m.addProperty("model", cfg.model.name);
        m.addProperty("parameters", task.parameters().count());
        m.addProperty("started", java.time.Instant.now().toString());
        JsonObject hashes = new JsonObject();
        for (Path p : new Path[] {cfg.data.train, cfg.data.dev, cfg.data.test}) {
            if (p != null && Files.isRegularFile(p)) hashes.addProperty(p.toString(), sha256(p));
        }
        m.add("data_sha256", hashes);
        return AtomicFiles.json(m);
    }

    static String gitCommit() {
        try {
            Process p = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 && out.matches("[0-9a-f]{40}") ? out : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

}
