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

    /** Builds a schedule from the peak lr, warmup and total steps. */
    @FunctionalInterface
    public interface Factory {
        LrSchedule create(float peak, long warmupSteps, long totalSteps);
    }

    private static final java.util.Map<dev.kiln.config.RunConfig.ScheduleType, Factory> REGISTRY =
            new java.util.EnumMap<>(dev.kiln.config.RunConfig.ScheduleType.class);

    static {
        register(dev.kiln.config.RunConfig.ScheduleType.CONSTANT, (peak, warmup, total) -> constant(peak, warmup));
        register(dev.kiln.config.RunConfig.ScheduleType.LINEAR, LrSchedule::linear);
        register(dev.kiln.config.RunConfig.ScheduleType.COSINE, LrSchedule::cosine);
    }

    /** A new schedule is its {@link dev.kiln.config.RunConfig.ScheduleType} constant and one registration. */
    public static void register(dev.kiln.config.RunConfig.ScheduleType type, Factory factory) {
        REGISTRY.put(type, factory);
    }

    /**
     * The schedule of a run config's {@code schedule} section with peak {@code lr}: its warmup
     * ({@link #warmupSteps}) resolved against {@code totalSteps}.
     */
    public static LrSchedule of(dev.kiln.config.RunConfig.Schedule s, float peak, long totalSteps) {
        Factory f = REGISTRY.get(s.type);
        if (f == null) throw new IllegalArgumentException("lr schedule " + s.type + " is not registered in " + LrSchedule.class.getName());
        return f.create(peak, warmupSteps(s.warmupSteps, s.warmupRatio, totalSteps), totalSteps);
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
