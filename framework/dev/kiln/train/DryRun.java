package dev.kiln.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.config.RunConfig;
import dev.kiln.log.SystemStats;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * {@code kiln train CONFIG --dry-run}: everything a run does before its first step (config validation, data
 * reading with its errors, model and head), then a few real optimizer steps to time them, and nothing
 * written: no run directory, no checkpoint. Tells what the run would cost before one commits to it.
 *
 * @param totalSteps       optimizer steps the run would take
 * @param stepSeconds      median wall time of the timed steps after the first (which pays for warm-up)
 * @param peakMemoryMb     the process's peak RSS on CPU; on a GPU the device's used memory after the steps
 * @param estimatedSeconds {@code totalSteps × stepSeconds}: the training steps alone, evaluation and saving excluded
 */
public record DryRun(String task, String model, String device, int trainExamples, long parameters,
                     long trainableParameters, String freeze, long examplesPerStep, long stepsPerEpoch,
                     long totalSteps, long warmupSteps, int timedSteps, double stepSeconds, double tokensPerStep,
                     double firstLoss, double peakMemoryMb,
                     @com.google.gson.annotations.SerializedName("estimated_train_seconds") double estimatedSeconds) {

    /** Steps timed unless the run is shorter: the first pays for warm-up, the median of the rest is reported. */
    public static final int DEFAULT_STEPS = 3;

    public static DryRun run(RunConfig cfg) throws IOException {
        return run(cfg, DEFAULT_STEPS);
    }

    public static DryRun run(RunConfig cfg, int steps) throws IOException {
        if (steps < 1) throw new IllegalArgumentException("dry run: steps must be at least 1, got " + steps);
        TaskProvider provider = Tasks.get(cfg.task.type);
        List<Device> devices = Replicas.devices(cfg);
        Device device = devices.get(0);
        for (Device d : devices) Runs.checkPrecision(cfg, d);
        TrainerOptions planned = Runs.options(cfg);
        if (cfg.training.threads != null) dev.kiln.util.Threads.set(cfg.training.threads);
        try (NDManager manager = NDManager.newBaseManager(device);
             TrainableTask task = dev.kiln.peft.PeftTask.wrap(cfg, provider.create(cfg, manager));
             Replicas replicas = Replicas.build(cfg, provider, devices)) {
            Trainer plan = new Trainer(task, planned);
            long total = plan.totalSteps();
            long spe = plan.stepsPerEpoch();
            Predicate<String> trainable = Freeze.trainable(planned.freeze, task.backbone()).and(task.trainable());
            long all = 0, train = 0;
            for (Map.Entry<String, NDArray> e : task.parameters().all().entrySet()) {
                long n = e.getValue().size();
                all += n;
                if (trainable.test(e.getKey())) train += n;
            }

            // the same trainer, cut to a few steps, with nothing to evaluate or write
            TrainerOptions o = Runs.options(cfg);
            o.maxSteps = Math.min(steps, total);
            o.outputDir = null;
            o.resume = false;
            o.evalEverySteps = 0;
            o.evalEachEpoch = false;
            o.evalOnStart = false;
            o.earlyStoppingMetric = null;
            o.progress = dev.kiln.log.Progress.Mode.QUIET;
            List<Trainer.StepStats> stats = new ArrayList<>();
            Trainer t = new Trainer(task, o).replicas(replicas.tasks());
            t.addListener(new Trainer.Listener() {
                @Override
                public void onStep(long step, int epoch, Trainer.StepStats s) {
                    stats.add(s);
                }
            });
            t.train();
            List<Trainer.StepStats> timed = stats.size() > 1 ? stats.subList(1, stats.size()) : stats;
            double[] secs = timed.stream().mapToDouble(Trainer.StepStats::seconds).sorted().toArray();
            double median = secs.length % 2 == 1 ? secs[secs.length / 2] : (secs[secs.length / 2 - 1] + secs[secs.length / 2]) / 2;
            double tokens = timed.stream().mapToDouble(Trainer.StepStats::tokens).average().orElse(0);
            double mem = device.isGpu() ? SystemStats.deviceMemoryMb(device) : SystemStats.peakRssMb();
            long warmup = LrSchedule.warmupSteps(planned.schedule.warmupSteps, planned.schedule.warmupRatio, total);
            return new DryRun(cfg.task.type, cfg.model.name != null ? cfg.model.name : "(new from model.config)",
                    Replicas.describe(devices), task.trainSize(), all, train, planned.freeze,
                    planned.maxTokensPerBatch > 0 ? (task.trainSize() + spe - 1) / spe // a token budget: the mean
                            : (long) planned.batchSize * planned.gradientAccumulationSteps, spe, total, warmup, stats.size(),
                    median, tokens, stats.get(0).loss(), mem, total * median);
        }
    }

    /** Human-readable lines, as {@code kiln train --dry-run} prints them. */
    public String report() {
        return String.join("\n",
                String.format(Locale.ROOT, "dry run: task %s, model %s, device %s; nothing was written", task, model, device),
                String.format(Locale.ROOT, "data: %,d training examples", trainExamples),
                String.format(Locale.ROOT, "parameters: %,d (%,d trainable, freeze %s)", parameters, trainableParameters, freeze),
                String.format(Locale.ROOT, "plan: %,d optimizer steps (%,d per epoch) of %,d examples, %,d warmup steps",
                        totalSteps, stepsPerEpoch, examplesPerStep, warmupSteps),
                String.format(Locale.ROOT, "measured over %d step(s): %.3f s per step (median after the first), %,.0f tokens per step, "
                        + "first loss %.4f, peak memory %,.0f MB", timedSteps, stepSeconds, tokensPerStep, firstLoss, peakMemoryMb),
                "estimate: " + hms(estimatedSeconds) + " for the training steps (evaluation and saving not included)");
    }

    /** As Gson writes settings (snake_case), after {@code "dry_run": true}; a NaN first loss stays NaN. */
    private static final com.google.gson.Gson GSON = dev.kiln.config.SettingsJson.builder().serializeSpecialFloatingPointValues().create();

    public JsonObject toJson() {
        JsonObject j = new JsonObject();
        j.addProperty("dry_run", true);
        GSON.toJsonTree(this).getAsJsonObject().entrySet().forEach(e -> j.add(e.getKey(), e.getValue()));
        return j;
    }

    static String hms(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60)
                : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }

    @Override
    public String toString() {
        return report();
    }
}
