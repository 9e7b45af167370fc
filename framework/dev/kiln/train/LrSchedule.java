package dev.kiln.train;

import java.util.Locale;

/**
 * Learning rate by optimizer step, with the HF {@code transformers} closed forms: linear warmup
 * {@code step/warmup}, then constant, linear decay {@code (total-step)/(total-warmup)} or cosine
 * {@code 0.5·(1+cos(π·progress))}, floored at 0. Step 0 is the first optimizer step, so with warmup
 * it runs at lr 0, as in HF. Immutable: resuming needs only the optimizer's step count.
 */
public final class LrSchedule {
    public enum Kind { CONSTANT, LINEAR, COSINE }

    private final Kind kind;
    private final double peak;
    private final long warmup;
    private final long total;

    private LrSchedule(Kind kind, float peak, long warmup, long total) {
        if (warmup < 0) throw new IllegalArgumentException("warmup steps must be >= 0, got " + warmup);
        if (kind != Kind.CONSTANT && total <= 0) {
            throw new IllegalArgumentException(kind.name().toLowerCase(Locale.ROOT) + " schedule needs total steps > 0, got " + total);
        }
        this.kind = kind;
        this.peak = peak;
        this.warmup = warmup;
        this.total = total;
    }

    /** HF "constant_with_warmup" ("constant" when warmup is 0). */
    public static LrSchedule constant(float peak, long warmupSteps) {
        return new LrSchedule(Kind.CONSTANT, peak, warmupSteps, 0);
    }

    /** HF "linear" ({@code get_linear_schedule_with_warmup}). */
    public static LrSchedule linear(float peak, long warmupSteps, long totalSteps) {
        return new LrSchedule(Kind.LINEAR, peak, warmupSteps, totalSteps);
    }

    /** HF "cosine" ({@code get_cosine_schedule_with_warmup}, half a cycle). */
    public static LrSchedule cosine(float peak, long warmupSteps, long totalSteps) {
        return new LrSchedule(Kind.COSINE, peak, warmupSteps, totalSteps);
    }

    /** HF {@code TrainingArguments.get_warmup_steps}: explicit steps win, else ceil(total·ratio). */
    public static long warmupSteps(long warmupSteps, double warmupRatio, long totalSteps) {
        if (warmupSteps > 0) return warmupSteps;
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
            throw new IllegalArgumentException("warmup ratio must be in [0, 1], got " + warmupRatio);
        }
        return (long) Math.ceil(totalSteps * warmupRatio);
    }

    /** By name: constant (or constant_with_warmup), linear, cosine. */
    public static LrSchedule of(String name, float peak, long warmupSteps, long totalSteps) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "constant": case "constant_with_warmup": return constant(peak, warmupSteps);
            case "linear": return linear(peak, warmupSteps, totalSteps);
            case "cosine": return cosine(peak, warmupSteps, totalSteps);
            default: throw new IllegalArgumentException("unknown lr schedule '" + name
                    + "' (allowed: constant, constant_with_warmup, linear, cosine)");
        }
    }

    /** The multiplier of the peak lr at {@code step} (HF's lr_lambda). */
    public double factor(long step) {
        if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
        if (step < warmup) return (double) step / Math.max(1, warmup);
        switch (kind) {
            case CONSTANT: return 1.0;
            case LINEAR: return Math.max(0.0, (double) (total - step) / Math.max(1, total - warmup));
            default: {
                double progress = (double) (step - warmup) / Math.max(1, total - warmup);
                return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
            }
        }
    }

    public float lr(long step) {
        return (float) (peak * factor(step));
    }

    public Kind kind() {
        return kind;
    }

    public long warmupSteps() {
        return warmup;
    }

    public long totalSteps() {
        return total;
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(Locale.ROOT) + "(peak " + (float) peak + ", warmup " + warmup
                + (kind == Kind.CONSTANT ? "" : ", total " + total) + ")";
    }
}
