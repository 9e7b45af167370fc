package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import dev.kiln.nn.HostTensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Dynamic loss scaling for fp16 training ({@code torch.amp.GradScaler} rules): multiply the loss by
 * the scale before backward; a step whose unscaled gradients are not all finite is skipped and the
 * scale halves (never below 1); after {@code growthInterval} consecutive clean steps it doubles.
 */
public final class LossScaler {
    public static final double DEFAULT_INIT_SCALE = 65536;
    public static final int DEFAULT_GROWTH_INTERVAL = 2000;
    private static final double MIN_SCALE = 1;

    private final int growthInterval;
    private double scale;
    private long cleanSteps;
    private long skipped;

    public LossScaler(double initScale, int growthInterval) {
        if (!(initScale >= MIN_SCALE) || Double.isInfinite(initScale)) {
            throw new IllegalArgumentException("initial loss scale must be a finite number >= 1, got " + initScale);
        }
        if (growthInterval < 1) throw new IllegalArgumentException("growth interval must be >= 1, got " + growthInterval);
        this.scale = initScale;
        this.growthInterval = growthInterval;
    }

    public LossScaler() {
        this(DEFAULT_INIT_SCALE, DEFAULT_GROWTH_INTERVAL);
    }

    public double scale() {
        return scale;
    }

    /**
     * {@code loss · scale} as float32 (an fp16 loss is promoted by the multiplication, which autograd
     * follows), so the scaled value itself cannot overflow. The backward seed reaching fp16 tensors is
     * still the scale: with an fp16 loss, scales above 65504 overflow and get halved on the first step.
     * Pass the scalar loss: a 0-d scale does not promote a non-scalar fp16 tensor.
     */
    public NDArray scaleLoss(NDArray loss) {
        // the scalar stays in the loss's (per-step) manager: autograd saves it for backward
        return loss.mul(loss.getManager().create((float) scale));
    }

    /** Records a step's outcome and adjusts the scale; returns whether the step may be applied. */
    public boolean update(boolean gradsFinite) {
        if (!gradsFinite) {
            scale = Math.max(MIN_SCALE, scale * 0.5);
            cleanSteps = 0;
            skipped++;
            return false;
        }
        if (++cleanSteps >= growthInterval) {
            // growing past float32 range would make the next scaled loss infinite for no benefit
            if (scale * 2 <= Float.MAX_VALUE) scale *= 2;
            cleanSteps = 0;
        }
        return true;
    }

    /** Steps skipped for overflow so far. */
    public long skippedSteps() {
        return skipped;
    }

    public Map<String, HostTensor> state() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        out.put("scale", StatefulOptimizer.f64(scale));
        out.put("growth_tracker", StatefulOptimizer.i64(cleanSteps));
        out.put("skipped", StatefulOptimizer.i64(skipped));
        return out;
    }

    public void loadState(Map<String, HostTensor> state) {
        for (String k : state.keySet()) {
            if (!k.equals("scale") && !k.equals("growth_tracker") && !k.equals("skipped")) {
                throw new IllegalArgumentException("loss scaler state has unknown entry '" + k + "' (expected scale, growth_tracker, skipped)");
            }
        }
        HostTensor s = state.get("scale");
        HostTensor g = state.get("growth_tracker");
        if (s == null || g == null) throw new IllegalArgumentException("loss scaler state needs 'scale' and 'growth_tracker'");
        scale = StatefulOptimizer.readF64(s, "scale");
        cleanSteps = StatefulOptimizer.readI64(g, "growth_tracker");
        HostTensor k = state.get("skipped");
        skipped = k == null ? 0 : StatefulOptimizer.readI64(k, "skipped");
    }
}
