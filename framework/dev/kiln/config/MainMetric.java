package dev.kiln.config;

/**
 * A task's main metric and its direction (HF's {@code metric_for_best_model} / {@code greater_is_better}), declared
 * once as a constant of the task: its provider registers it ({@link ConfigRegistry.TaskSpec#mainMetric(MainMetric)}),
 * so configs, sweeps and the trainer pick best/ by it, and the task returns the same constant to a trainer driven
 * without a config ({@code TrainableTask.declaredMainMetric}). {@link #direction} is the one rule for any metric's direction.
 */
public record MainMetric(String name, RunConfig.Mode mode) {
    public static MainMetric max(String name) {
        return new MainMetric(name, RunConfig.Mode.MAX);
    }

    public static MainMetric min(String name) {
        return new MainMetric(name, RunConfig.Mode.MIN);
    }

    /** The declared mode for the main metric; for another metric, its name's ({@link RunConfig.Mode#infer}). */
    public RunConfig.Mode direction(String metric) {
        return metric.equals(name) ? mode : RunConfig.Mode.infer(metric);
    }

    public boolean higherIsBetter(String metric) {
        return direction(metric) == RunConfig.Mode.MAX;
    }
}
