package dev.kiln.train;

import ai.djl.engine.Engine;
import com.google.gson.JsonObject;
import dev.kiln.config.RunConfig;
import dev.kiln.nn.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The training loop. It knows nothing about tasks: it shuffles indexes, gets losses, steps the
 * optimizer, evaluates, checkpoints and logs.
 *
 * <p>Determinism, which exact resume rests on: the data order of epoch e is a permutation drawn from
 * (seed, e); the engine RNG (dropout) is reseeded from (seed, step) before every step. So the state
 * of every random stream is a function of the step counter, and a checkpoint needs only that counter
 * besides parameters, optimizer moments and the loss scaler.
 */
public final class Trainer {

    /** What happened in a run. */
    public static final class Result {
        public long steps;
        public long skippedSteps;
        public boolean earlyStopped;
        public Map<String, Double> lastEval = new LinkedHashMap<>();
        public Map<String, Double> bestEval;
        public long bestStep = -1;
        public double trainSeconds;
        public double tokensPerSecond;
        public double finalLoss = Double.NaN;
        /** A listener asked the run to stop ({@link Control#requestStop}); the reason it gave. */
        public String stoppedBy;
    }

    /**
     * What listeners may ask of the loop, as HF's TrainerControl: stop, checkpoint now, evaluate now. A request
     * made in {@code onStep} or {@code onEval} is honoured at the end of that step (an evaluation asked for
     * then counts as a scheduled one: it feeds best/ and early stopping); stopping checkpoints first, so the run
     * ends as an early-stopped one does.
     */
    public static final class Control {
        private String stop;
        private boolean save, evaluate;

        public void requestStop(String reason) {
            if (stop == null) stop = reason == null ? "stopped by a listener" : reason;
        }

        public void requestSave() {
            save = true;
        }

        public void requestEvaluate() {
            evaluate = true;
        }

        public boolean stopRequested() {
            return stop != null;
        }
    }

    /** Receives events; the run directory logger implements it. */
    public interface Listener {
        /** Called once before {@code onStart}: the object through which this listener may steer the run. */
        default void bind(Control control) {}

        default void onStart(long totalSteps, long startStep) {}

        default void onStep(long step, int epoch, StepStats s) {}

        default void onEval(long step, int epoch, Map<String, Double> metrics) {}

        default void onSkip(long step, String reason) {}

        default void onEnd(Result r) {}
    }

    /**
     * Numbers for one optimizer step. {@code flops}: as its batches state them ({@link TrainableTask.Batch#flops}), or
     * NaN. {@code cpuSeconds}: the process's CPU time over the step (all its threads), NaN where the JVM does not
     * report it; on a machine shared with other jobs it measures the step's work where wall time also measures the
     * neighbours.
     */
    public record StepStats(double loss, double lr, double gradNorm, long tokens, double seconds, long examples,
                            long paddedTokens, double flops, double cpuSeconds) {
        public StepStats(double loss, double lr, double gradNorm, long tokens, double seconds, long examples,
                         long paddedTokens) {
            this(loss, lr, gradNorm, tokens, seconds, examples, paddedTokens, Double.NaN, Double.NaN);
        }

        public StepStats(double loss, double lr, double gradNorm, long tokens, double seconds, long examples) {
            this(loss, lr, gradNorm, tokens, seconds, examples, tokens);
        }
    }

    /** The process's CPU time in ns (all threads), or -1 where the JVM does not report it. */
    static long processCpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : -1;
    }

    private final TrainableTask task;
    private final TrainerOptions o;
    private final List<Listener> listeners = new ArrayList<>();

    public Trainer(TrainableTask task, TrainerOptions options) {
        this.task = task;
        this.o = options;
    }

    private List<TrainableTask> replicas = List.of();

    /**
     * Data parallelism: {@code others} are further replicas of this trainer's task (built from the same config on
     * other devices; see {@link DataParallel}). The trainer's own task stays replica 0: it is evaluated, saved and
     * checkpointed, and its optimizer takes the steps. The caller owns and closes the replicas.
     */
    public Trainer replicas(List<TrainableTask> others) {
        this.replicas = List.copyOf(others);
        return this;
    }

    public Trainer addListener(Listener l) {
        listeners.add(l);
        return this;
    }

    public long stepsPerEpoch() {
        return plan().stepsPerEpoch();
    }

    private BatchPlan plan;

    /** The batches of each epoch; example lengths are read once, and only when grouping or a budget needs them. */
    public BatchPlan plan() {
        if (plan == null) {
            int n = task.trainSize();
            int[] lengths = null;
            if (o.groupByLength || o.maxTokensPerBatch > 0) {
                lengths = new int[n];
                for (int i = 0; i < n; i++) lengths[i] = task.exampleLength(i);
            }
            plan = new BatchPlan(o.seed, n, o.batchSize, o.gradientAccumulationSteps, o.groupByLength, o.maxTokensPerBatch, lengths);
        }
        return plan;
    }

    public long totalSteps() {
        return o.maxSteps > 0 ? o.maxSteps : o.epochs * stepsPerEpoch();
    }

    /** The permutation of training indexes for {@code epoch}: a pure function of (seed, epoch). */
    public static int[] epochOrder(long seed, int epoch, int n) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed * 1_000_003L + epoch);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /**
     * The checks that need the built model (freeze strategy against its layers and parameters), so a caller can
     * refuse a run before it writes anything; {@link #train} runs them again.
     */
    public Predicate<String> preflight() {
        Predicate<String> trainable = Freeze.trainable(o.freeze, task.backbone()).and(task.trainable());
        Freeze.requireTrainable(task.parameters().all().keySet(), trainable, o.freeze);
        return trainable;
    }

    public Result train() throws IOException {
        Parameters params = task.parameters();
        Predicate<String> trainable = preflight();
        // nanoGPT's rule, read off the tree: matrices decay; biases, norms and other vectors do not
        java.util.Set<String> decay = new java.util.HashSet<>(task.backbone().root().decayGroups().decay());
        Predicate<String> noDecay = name -> !decay.contains(name);

        long total = totalSteps();
        LrSchedule schedule = LrSchedule.of(o.schedule, (float) o.optimizer.lr, total);
        Optimizer opt = Optimizers.create(o.optimizer, noDecay);
        boolean mixed = o.precision.mode == RunConfig.PrecisionMode.FP16_MIXED;
        Updater updater = mixed
                ? Updater.fp16Mixed(params, trainable, opt, schedule, o.maxGradNorm,
                        new LossScaler((float) o.precision.initialLossScale, o.precision.growthInterval))
                : Updater.fp32(params, trainable, opt, schedule, o.maxGradNorm);
        updater.setHook(task.stepHook(total));
        Checkpoints ckpt = o.outputDir == null ? null : new Checkpoints(o.outputDir, o.keepLast);
        TrainerState state = new TrainerState();
        if (ckpt != null && o.resume) {
            Checkpoints.Restored r = ckpt.restoreLatest(task, updater);
            if (r != null) state = r.state();
        }
        DataParallel dp = new DataParallel(task, replicas);
        dp.prepare(trainable); // after the restore: the other replicas start from replica 0's weights
        state.maxSteps = total;
        state.stepsPerEpoch = stepsPerEpoch();
        state.trainBatchSize = o.batchSize * o.gradientAccumulationSteps;
        state.loggingSteps = o.logEverySteps;
        state.evalSteps = o.evalEverySteps;
        state.saveSteps = o.checkpointEverySteps;
        Result result = new Result();
        result.bestEval = state.bestMetrics;
        result.bestStep = state.bestStep;
        // a resumed run reports the whole run: its last evaluation and time so far come from the checkpoint
        if (state.lastEval != null) result.lastEval = state.lastEval;
        final double priorSeconds = state.trainSeconds;
        final long priorTokens = state.tokensSeen;
        String bestMetric = o.checkpointMetric != null ? o.checkpointMetric
                : o.earlyStoppingMetric != null ? o.earlyStoppingMetric : task.mainMetric();
        state.bestMetricName = bestMetric;
        Control control = new Control();
        for (Listener l : listeners) l.bind(control);
        for (Listener l : listeners) l.onStart(total, state.step);

        long spe = stepsPerEpoch();
        List<int[]> epochBatches = null;
        int orderEpoch = -1;
        if (o.evalOnStart && state.step == 0) {
            // the starting point, e.g. a pretrained model before continued pretraining; not a "best" candidate
            Map<String, Double> metrics = task.evaluate(params.manager());
            if (!metrics.isEmpty()) {
                result.lastEval = metrics;
                for (Listener l : listeners) l.onEval(0, 0, metrics);
            }
        }
        long t0 = System.nanoTime();
        long tokensSeen = 0;
        while (state.step < total && !control.stopRequested()) {
            long s = state.step;
            int epoch = (int) (s / spe);
            if (epoch != orderEpoch) {
                epochBatches = plan().epoch(epoch);
                orderEpoch = epoch;
            }
            DataParallel.Work work = dp.collate(plan().step(epochBatches, s % spe), epoch);
            long tokens = work.tokens(), padded = work.paddedTokens(), examples = work.examples();
            long targets = work.targets();
            long st = System.nanoTime(), cpu0 = processCpuNanos();
            Engine.getInstance().setRandomSeed((int) (o.seed * 7919 + s));
            // normalised by the targets of the whole step: k micro-batches on N replicas == one big batch
            double lossValue = dp.forwardBackward(work, updater);
            dp.reduce(work);
            // after the collector is closed: in-place updates of leaves are refused inside it
            Updater.Result up = updater.step(Double.isFinite(lossValue));
            boolean applied = up.applied;
            if (applied) dp.broadcast();
            double gradNorm = up.gradNorm;
            float lr = up.lr;
            double loss = lossValue / Math.max(1, targets);
            state.step = s + 1;
            double secs = (System.nanoTime() - st) / 1e9;
            long cpu1 = processCpuNanos();
            double cpuSecs = cpu0 < 0 || cpu1 < 0 ? Double.NaN : (cpu1 - cpu0) / 1e9;
            tokensSeen += tokens;
            if (!applied) {
                result.skippedSteps++;
                String why = mixed ? "inf/NaN loss or gradients at loss scale " + up.lossScale : "non-finite loss or gradient norm";
                for (Listener l : listeners) l.onSkip(state.step, why);
            } else {
                result.finalLoss = loss;
            }
            state.logTrain(applied ? loss : Double.NaN, lr, gradNorm);
            StepStats stats = new StepStats(loss, lr, gradNorm, tokens, secs, examples, padded, work.flops(), cpuSecs);
            for (Listener l : listeners) l.onStep(state.step, epoch, stats);

            boolean epochEnd = state.step % spe == 0 || state.step == total;
            boolean evalNow = (o.evalEverySteps > 0 && state.step % o.evalEverySteps == 0)
                    || (o.evalEachEpoch && epochEnd) || control.evaluate;
            control.evaluate = false;
            boolean stop = false;
            if (evalNow) {
                Map<String, Double> metrics = task.evaluate(params.manager());
                result.lastEval = metrics;
                state.lastEval = metrics;
                if (!metrics.isEmpty()) state.logEval(metrics);
                for (Listener l : listeners) l.onEval(state.step, epoch, metrics);
                Double v = metrics.get(bestMetric);
                if (v != null) {
                    // best/ takes any strict improvement; min_delta is early stopping's threshold (as in HF)
                    if (state.bestValue == null || direction(bestMetric, o.checkpointMode).improves(v, state.bestValue, 0)) {
                        state.bestValue = v;
                        state.bestStep = state.step;
                        state.bestMetrics = new LinkedHashMap<>(metrics);
                        if (ckpt != null && o.keepBest) ckpt.saveBest(task);
                    }
                } else if (!metrics.isEmpty() && (o.earlyStoppingMetric != null || o.checkpointMetric != null)) {
                    throw missingMetric(bestMetric, metrics);
                }
                // early stopping watches its own metric, which may differ from the one that picks best/
                String stopMetric = o.earlyStoppingMetric;
                Double sv = stopMetric == null ? null : metrics.get(stopMetric);
                if (sv != null) {
                    if (state.stopBestValue == null || direction(stopMetric, o.earlyStoppingMode)
                            .improves(sv, state.stopBestValue, o.earlyStoppingMinDelta)) {
                        state.stopBestValue = sv;
                        state.evalsWithoutImprovement = 0;
                    } else {
                        state.evalsWithoutImprovement++;
                    }
                    if (state.evalsWithoutImprovement >= o.earlyStoppingPatience) {
                        stop = true;
                        result.earlyStopped = true;
                    }
                } else if (stopMetric != null && !metrics.isEmpty()) {
                    throw missingMetric(stopMetric, metrics);
                }
            }
            if (control.stopRequested()) {
                stop = true;
                result.stoppedBy = control.stop;
            }
            boolean ckptNow = ckpt != null && (control.save || (o.checkpointEverySteps > 0
                    ? state.step % o.checkpointEverySteps == 0
                    : evalNow || epochEnd));
            control.save = false;
            if (ckptNow || (ckpt != null && (stop || state.step == total))) {
                state.trainSeconds = priorSeconds + (System.nanoTime() - t0) / 1e9;
                state.tokensSeen = priorTokens + tokensSeen;
                ckpt.save(state.step, task, updater, state);
            }
            if (stop) break;
        }
        if (control.stopRequested() && result.stoppedBy == null) result.stoppedBy = control.stop; // asked before step 1
        result.steps = state.step;
        result.trainSeconds = priorSeconds + (System.nanoTime() - t0) / 1e9;
        result.tokensPerSecond = (priorTokens + tokensSeen) / Math.max(1e-9, result.trainSeconds);
        result.bestEval = state.bestMetrics;
        result.bestStep = state.bestStep;
        for (Listener l : listeners) l.onEnd(result);
        updater.close();
        return result;
    }

    /** {@code mode} when configured, else the task's own direction for the metric. */
    private RunConfig.Mode direction(String metric, RunConfig.Mode mode) {
        return mode != null ? mode : task.higherIsBetter(metric) ? RunConfig.Mode.MAX : RunConfig.Mode.MIN;
    }

    private static IllegalArgumentException missingMetric(String metric, Map<String, Double> metrics) {
        return new IllegalArgumentException("metric '" + metric + "' is not reported by the task (it reports "
                + metrics.keySet() + ")");
    }
}
