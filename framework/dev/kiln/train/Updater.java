package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One optimizer step from accumulated gradients, in fp32 or {@code fp16-mixed}: collect gradients,
 * (unscale into fp32,) clip, skip on a non-finite norm, step the optimizer at the schedule's lr,
 * (round the masters back into the fp16 parameters,) zero the gradients.
 *
 * <p>Use: forward and {@code backward(updater.scaleLoss(loss))} inside a GradientCollector for each
 * micro-batch, close the collector, then {@link #step}. A skipped step does not advance the
 * optimizer's step count, so the lr schedule does not advance either (as in the HF Trainer).
 */
public final class Updater implements AutoCloseable {

    /** What one {@link #step} did. {@code step} is the optimizer's step count afterwards. */
    public static final class Result {
        public final boolean applied;
        public final double gradNorm;
        public final float lr;
        public final double lossScale;
        public final long step;

        Result(boolean applied, double gradNorm, float lr, double lossScale, long step) {
            this.applied = applied;
            this.gradNorm = gradNorm;
            this.lr = lr;
            this.lossScale = lossScale;
            this.step = step;
        }

        @Override
        public String toString() {
            return (applied ? "step " : "skipped before step ") + step + ": lr " + lr + ", grad-norm " + gradNorm
                    + (lossScale != 1 ? ", loss scale " + lossScale : "");
        }
    }

    private final Parameters params;
    private final Predicate<String> trainable;
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final float maxGradNorm;
    private final MasterWeights masters;
    private final LossScaler scaler;
    private StepHook hook;

    private Updater(Parameters params, Predicate<String> trainable, Optimizer optimizer, LrSchedule schedule,
                    float maxGradNorm, MasterWeights masters, LossScaler scaler) {
        this.params = params;
        this.trainable = trainable;
        this.optimizer = optimizer;
        this.schedule = schedule;
        this.maxGradNorm = maxGradNorm;
        this.masters = masters;
        this.scaler = scaler;
        Gradients.require(params, trainable);
    }

    /** fp32 training; {@code maxGradNorm <= 0} disables clipping (the norm is still reported). */
    public static Updater fp32(Parameters params, Predicate<String> trainable, Optimizer optimizer,
                               LrSchedule schedule, float maxGradNorm) {
        return new Updater(params, trainable, optimizer, schedule, maxGradNorm, null, null);
    }

    /**
     * {@code fp16-mixed}: takes fp32 {@code params} (after loading weights), keeps fp32 masters of
     * the trainable ones and casts all of {@code params} to fp16 for compute. The optimizer then holds fp32 state.
     */
    public static Updater fp16Mixed(Parameters params, Predicate<String> trainable, Optimizer optimizer,
                                    LrSchedule schedule, float maxGradNorm, LossScaler scaler) {
        MasterWeights m = MasterWeights.castForCompute(params, DataType.FLOAT16, trainable);
        return new Updater(params, trainable, optimizer, schedule, maxGradNorm, m, scaler);
    }

    /** Runs {@code hook} after each applied step, before the gradients are zeroed; null for none. */
    public void setHook(StepHook hook) {
        this.hook = hook;
    }

    /** The loss to call backward on: the loss itself, or loss·scale in fp16-mixed. */
    public NDArray scaleLoss(NDArray loss) {
        return scaler == null ? loss : scaler.scaleLoss(loss);
    }

    /** The lr the next applied step will use. */
    public float nextLr() {
        return schedule.lr(optimizer.stepCount());
    }

    public Result step() {
        return step(true);
    }

    /**
     * As {@link #step()}; {@code finiteLoss} false skips the step like a non-finite gradient norm does. A NaN
     * loss can come with finite gradients (NaN added to the loss has gradient 1), so checking the norm alone
     * would apply a step the trainer reports as skipped. In fp16-mixed it also backs the loss scale off.
     */
    public Result step(boolean finiteLoss) {
        try (NDManager scope = params.manager().newSubManager()) {
            Map<String, NDArray> grads = Gradients.collect(params, trainable, scope);
            try {
                float lr = nextLr();
                if (masters == null) {
                    double norm = GradClip.clipGlobalNorm(grads, maxGradNorm);
                    if (!finiteLoss || !Double.isFinite(norm)) return new Result(false, norm, lr, 1, optimizer.stepCount());
                    optimizer.step(params, grads, lr);
                    if (hook != null) hook.afterStep(optimizer.stepCount() - 1, params.all(), grads);
                    return new Result(true, norm, lr, 1, optimizer.stepCount());
                }
                double usedScale = scaler.scale();
                Map<String, NDArray> g32 = masters.unscale(grads, usedScale, scope);
                double norm = GradClip.clipGlobalNorm(g32, maxGradNorm);
                if (!scaler.update(finiteLoss && Double.isFinite(norm))) {
                    return new Result(false, norm, lr, usedScale, optimizer.stepCount());
                }
                optimizer.step(masters.masters(), g32, lr);
                if (hook != null) hook.afterStep(optimizer.stepCount() - 1, masters.masters().all(), g32);
                masters.copyToCompute(g32.keySet());
                return new Result(true, norm, lr, usedScale, optimizer.stepCount());
            } finally {
                Gradients.zero(grads);
            }
        }
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    /** The masters in fp16-mixed, else null. */
    public MasterWeights masters() {
        return masters;
    }

    /** The lossless weights to checkpoint: the fp32 masters in fp16-mixed, else the parameters. */
    public LinkedHashMap<String, HostTensor> weights() {
        return masters != null ? masters.stateDict() : params.stateDict();
    }

    /** Optimizer state under {@code optimizer/…}, loss scaler under {@code scaler/…}. */
    public Map<String, HostTensor> state() {
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        optimizer.state().forEach((k, v) -> out.put("optimizer/" + k, v));
        if (scaler != null) scaler.state().forEach((k, v) -> out.put("scaler/" + k, v));
        if (hook != null) hook.state().forEach((k, v) -> out.put("hook/" + k, v));
        return out;
    }

    /**
     * Restores {@link #state}. In fp16-mixed, load the checkpoint's fp32 weights with
     * {@code masters().load(...)} too: the fp16 parameters alone cannot give back the masters.
     */
    public void loadState(Map<String, HostTensor> state) {
        Map<String, HostTensor> opt = new LinkedHashMap<>();
        Map<String, HostTensor> sc = new LinkedHashMap<>();
        Map<String, HostTensor> hk = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : state.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("optimizer/")) opt.put(k.substring("optimizer/".length()), e.getValue());
            else if (k.startsWith("scaler/") && scaler != null) sc.put(k.substring("scaler/".length()), e.getValue());
            else if (k.startsWith("hook/") && hook != null) hk.put(k.substring("hook/".length()), e.getValue());
            else throw new IllegalArgumentException("training state entry '" + k + "' is not an optimizer"
                    + (scaler != null ? " or loss scaler" : "") + " entry (fp16-mixed state loaded into fp32 training?)");
        }
        optimizer.loadState(opt);
        if (scaler != null) scaler.loadState(sc);
        if (hook != null) hook.loadState(hk);
    }

    /** Frees the optimizer state and the masters; the parameters stay with their owner. */
    @Override
    public void close() {
        optimizer.close();
        if (masters != null) masters.close();
    }
}
