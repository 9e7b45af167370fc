package dev.kiln.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.log.SystemStats;
import dev.kiln.util.AtomicFiles;
import dev.kiln.util.Devices;
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
        o.maxGradNorm = (float) c.training.maxGradNorm;
        o.evalEverySteps = c.training.evalEverySteps;
        o.evalEachEpoch = c.training.evalEachEpoch;
        o.evalOnStart = c.training.evalOnStart;
        o.logEverySteps = c.training.logEverySteps;
        o.freeze = c.training.freeze;
        if (c.training.earlyStopping != null) {
            o.earlyStoppingMetric = c.training.earlyStopping.metric;
            o.earlyStoppingMode = c.training.earlyStopping.mode == null ? null : c.training.earlyStopping.mode.name().toLowerCase();
            o.earlyStoppingPatience = c.training.earlyStopping.patience;
            o.earlyStoppingMinDelta = c.training.earlyStopping.minDelta;
        }
        o.optimizer = c.optimizer.type == RunConfig.OptimizerType.SGD ? "sgd" : "adamw";
        o.lr = (float) c.optimizer.lr;
        o.weightDecay = (float) c.optimizer.weightDecay;
        o.beta1 = (float) c.optimizer.betas[0];
        o.beta2 = (float) c.optimizer.betas[1];
        o.eps = (float) c.optimizer.eps;
        o.momentum = (float) c.optimizer.momentum;
        o.nesterov = c.optimizer.nesterov;
        o.schedule = c.schedule.type.name().toLowerCase();
        o.warmupSteps = c.schedule.warmupSteps;
        o.warmupRatio = c.schedule.warmupRatio;
        o.precision = c.precision.mode == RunConfig.PrecisionMode.FP16_MIXED ? "fp16-mixed" : "fp32";
        o.initialLossScale = (float) c.precision.initialLossScale;
        o.growthInterval = c.precision.growthInterval;
        o.tensorboard = c.logging.tensorboard;
        o.plot = c.logging.plot;
        o.progress = c.logging.progress.name().toLowerCase();
        o.checkpointEverySteps = c.checkpointing.everySteps;
        o.keepLast = c.checkpointing.keepLast;
        o.keepBest = c.checkpointing.keepBest;
        o.checkpointMetric = c.checkpointing.metric;
        o.checkpointMode = c.checkpointing.mode == null ? null : c.checkpointing.mode.name().toLowerCase();
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
        TaskProvider provider = Tasks.get(cfg.task.type);
        Device device = Devices.parse(cfg.model.device);
        checkPrecision(cfg, device);
        Path runDir = cfg.output.dir;
        String resolved = cfg.toJson();
        guardResume(runDir, resolved);
        TrainerOptions o = options(cfg);
        if (quiet) o.progress = "off";
        try (NDManager manager = NDManager.newBaseManager(device);
             TrainableTask task = provider.create(cfg, manager)) {
            Files.createDirectories(runDir);
            AtomicFiles.write(runDir.resolve("config.json"), (resolved + "\n").getBytes(StandardCharsets.UTF_8));
            AtomicFiles.write(runDir.resolve("manifest.json"), manifest(cfg, device, task).getBytes(StandardCharsets.UTF_8));
            double peak = SystemStats.MatmulPeak.measure(device);
            Trainer trainer = new Trainer(task, o);
            try (RunLogger log = new RunLogger(runDir, o, task.backbone(), task.flopParameters(), peak, console)) {
                trainer.addListener(log);
                for (Trainer.Listener l : listeners) trainer.addListener(l);
                Trainer.Result r = trainer.train();
                task.save(runDir.resolve("final"));
                ModelCard.writeForRun(runDir, resolved, r);
                JsonObject extra = new JsonObject();
                extra.addProperty("peak_matmul_gflops", peak / 1e9);
                extra.addProperty("device", device.toString());
                log.writeSummary(r, extra);
                return new Outcome(runDir, r);
            }
        }
    }

    static void checkPrecision(RunConfig cfg, Device device) {
        if (cfg.precision.mode == RunConfig.PrecisionMode.FP16_MIXED && !device.isGpu()) {
            throw new IllegalArgumentException(cfg.source() + ": \"precision.mode\" fp16-mixed needs a GPU (device is "
                    + device + "); use fp32 on CPU");
        }
    }

    /** Refuses to resume a run directory whose checkpoints came from a different config. */
    static void guardResume(Path runDir, String resolved) throws IOException {
        Path saved = runDir.resolve("config.json");
        if (!Files.isRegularFile(saved) || new Checkpoints(runDir, 1).list().isEmpty()) return;
        JsonObject a = JsonParser.parseString(Files.readString(saved)).getAsJsonObject();
        JsonObject b = JsonParser.parseString(resolved).getAsJsonObject();
        if (!a.equals(b)) {
            String field = firstDifference("", a, b);
            throw new IllegalArgumentException(runDir + " holds checkpoints of a run with a different config (first difference: "
                    + field + "); use another --output, or delete the folder to start over");
        }
    }

    private static String firstDifference(String path, JsonObject a, JsonObject b) {
        java.util.Set<String> keys = new java.util.TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        for (String k : keys) {
            var x = a.get(k);
            var y = b.get(k);
            if (x == null || y == null) return path + k;
            if (x.isJsonObject() && y.isJsonObject()) {
                if (!x.equals(y)) return firstDifference(path + k + ".", x.getAsJsonObject(), y.getAsJsonObject());
            } else if (!x.equals(y)) {
                return path + k;
            }
        }
        return path.isEmpty() ? "?" : path;
    }

    static String manifest(RunConfig cfg, Device device, TrainableTask task) throws IOException {
        JsonObject m = new JsonObject();
        m.addProperty("seed", cfg.seed);
        m.addProperty("git_commit", gitCommit());
        m.addProperty("kiln_version", Versions.kiln());
        m.addProperty("djl_version", Versions.djl());
        m.addProperty("pytorch_version", Versions.pytorch());
        m.addProperty("java_version", System.getProperty("java.version"));
        m.addProperty("device", device.toString());
        m.addProperty("model", cfg.model.name);
        m.addProperty("parameters", task.parameters().count());
        m.addProperty("started", java.time.Instant.now().toString());
        JsonObject hashes = new JsonObject();
        for (Path p : new Path[] {cfg.data.train, cfg.data.dev, cfg.data.test}) {
            if (p != null && Files.isRegularFile(p)) hashes.addProperty(p.toString(), sha256(p));
        }
        m.add("data_sha256", hashes);
        return new GsonBuilder().setPrettyPrinting().create().toJson(m) + "\n";
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
