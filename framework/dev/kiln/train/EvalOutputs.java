package dev.kiln.train;

import java.util.List;

/**
 * What a task's last dev evaluation predicted, beside what was expected: the input of user metrics
 * ({@link EvalMetric}, HF's {@code compute_metrics(EvalPrediction)}). One shape per kind of output, so a metric
 * written for one task works for every task of that kind; a task of another kind defines its own class.
 */
public interface EvalOutputs {
    /** Classification: class indexes into {@code labels}, gold and predicted per example, and the softmax per example. */
    record Classes(List<String> labels, int[] gold, int[] predicted, float[][] probabilities) implements EvalOutputs {}

    /** Token tagging (NER): per sentence, the gold and the predicted tag of each word. */
    record Tags(List<List<String>> gold, List<List<String>> predicted) implements EvalOutputs {}

    /**
     * Generated or extracted text: per example the prediction and its references (QA: every gold answer;
     * summarization: the one reference summary).
     */
    record Texts(List<String> predicted, List<List<String>> references) implements EvalOutputs {}
}
