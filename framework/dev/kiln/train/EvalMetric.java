package dev.kiln.train;

import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * A dev metric added from Java (HF's {@code compute_metrics}): after every evaluation during training, it gets
 * the task's {@link EvalOutputs} and its own metrics and returns more. They are logged, plotted and written to
 * TensorBoard like the task's, and {@code checkpointing.metric} or {@code training.early_stopping.metric} may
 * name them. Register with {@code Kiln.training(cfg).metric(...)} or {@link Runs#train}.
 */
@FunctionalInterface
public interface EvalMetric {
    /**
     * @param outputs what the task predicted and what was expected; null when the task keeps none (pretraining)
     * @param taskMetrics the task's own metrics of this evaluation (read-only)
     * @return new metric names (a name the task already reports is an error) and values
     */
    Map<String, Double> compute(EvalOutputs outputs, Map<String, Double> taskMetrics);

    /**
     * One named metric over one kind of outputs, e.g.
     * {@code EvalMetric.of("balanced_accuracy", EvalOutputs.Classes.class, c -> ...)}. A task whose outputs are of
     * another kind is an error that names both.
     */
    static <T extends EvalOutputs> EvalMetric of(String name, Class<T> kind, ToDoubleFunction<T> f) {
        return (outputs, taskMetrics) -> {
            if (!kind.isInstance(outputs)) {
                throw new IllegalArgumentException("metric \"" + name + "\" reads " + kind.getSimpleName() + " outputs, but this task's are "
                        + (outputs == null ? "none (it reports only its own metrics)" : outputs.getClass().getSimpleName()));
            }
            return Map.of(name, f.applyAsDouble(kind.cast(outputs)));
        };
    }
}
