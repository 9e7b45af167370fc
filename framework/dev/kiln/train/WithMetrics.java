package dev.kiln.train;

import ai.djl.ndarray.NDManager;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A task whose evaluations also run user metrics ({@link EvalMetric}); everything else is the task's own. The
 * trainer sees one more task and stays task-agnostic.
 */
public final class WithMetrics implements TrainableTask {
    private final TrainableTask inner;
    private final List<EvalMetric> metrics;

    private WithMetrics(TrainableTask inner, List<EvalMetric> metrics) {
        this.inner = inner;
        this.metrics = List.copyOf(metrics);
    }

    /** {@code task} itself when there are no metrics. */
    public static TrainableTask wrap(TrainableTask task, List<EvalMetric> metrics) {
        return metrics == null || metrics.isEmpty() ? task : new WithMetrics(task, metrics);
    }

    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        Map<String, Double> own = inner.evaluate(parent);
        if (own.isEmpty()) return own; // no dev data
        Map<String, Double> out = new LinkedHashMap<>(own);
        Map<String, Double> view = Collections.unmodifiableMap(own);
        EvalOutputs outputs = inner.evalOutputs();
        for (EvalMetric m : metrics) {
            Map<String, Double> added = m.compute(outputs, view);
            if (added == null) continue;
            for (Map.Entry<String, Double> e : added.entrySet()) {
                if (out.containsKey(e.getKey())) {
                    throw new IllegalArgumentException("a user metric returned \"" + e.getKey()
                            + "\", which this evaluation already reports; give it another name");
                }
                out.put(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    @Override public EvalOutputs evalOutputs() { return inner.evalOutputs(); }
    @Override public Parameters parameters() { return inner.parameters(); }
    @Override public Backbone backbone() { return inner.backbone(); }
    @Override public long flopParameters() { return inner.flopParameters(); }
    @Override public Predicate<String> trainable() { return inner.trainable(); }
    @Override public int trainSize() { return inner.trainSize(); }
    @Override public Batch collate(int[] indexes) { return inner.collate(indexes); }
    @Override public Batch collate(int[] indexes, int epoch) { return inner.collate(indexes, epoch); }
    @Override public Loss loss(Batch batch, NDManager step, boolean training) { return inner.loss(batch, step, training); }
    @Override public String mainMetric() { return inner.mainMetric(); }
    @Override public boolean higherIsBetter(String metric) { return inner.higherIsBetter(metric); }
    @Override public void save(Path dir) throws IOException { inner.save(dir); }
    @Override public void close() { inner.close(); }
}
