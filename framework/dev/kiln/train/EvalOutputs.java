package dev.kiln.train;

import java.util.ArrayList;
import java.util.List;

/**
 * What a task's last dev evaluation predicted, beside what was expected: the input of user metrics
 * ({@link EvalMetric}, HF's {@code compute_metrics(EvalPrediction)}). One shape per kind of output, so a metric
 * written for one task works for every task of that kind; a task of another kind defines its own class.
 * Serializable, so a distributed evaluation's partitions can send theirs to the driver ({@link #concat}).
 */
public interface EvalOutputs extends java.io.Serializable {
    /** Classification: class indexes into {@code labels}, gold and predicted per example, and the softmax per example. */
    record Classes(List<String> labels, int[] gold, int[] predicted, float[][] probabilities) implements EvalOutputs {}

    /** Token tagging (NER): per sentence, the gold and the predicted tag of each word. */
    record Tags(List<List<String>> gold, List<List<String>> predicted) implements EvalOutputs {}

    /**
     * Generated or extracted text: per example the prediction and its references (QA: every gold answer;
     * summarization: the one reference summary).
     */
    record Texts(List<String> predicted, List<List<String>> references) implements EvalOutputs {}

    /**
     * Outputs of a task's own kind that join their slices themselves (what {@link #concat} does for the kinds above),
     * e.g. summaries beside a baseline's and their token counts.
     */
    interface Joinable extends EvalOutputs {
        /** {@code parts} (this one first, all of this class) joined in order. */
        EvalOutputs join(List<? extends EvalOutputs> parts);
    }

    /**
     * The outputs of consecutive slices of one evaluation joined in order, as if one pass had made them (the
     * partitions of a distributed evaluation). Every slice must be of one kind; classes must name the same labels.
     */
    static EvalOutputs concat(List<? extends EvalOutputs> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("no outputs to join");
        EvalOutputs first = parts.get(0);
        for (EvalOutputs p : parts) {
            if (p.getClass() != first.getClass()) {
                throw new IllegalArgumentException("cannot join " + first.getClass().getSimpleName() + " and " + p.getClass().getSimpleName() + " outputs");
            }
        }
        if (parts.size() == 1) return first;
        if (first instanceof Joinable j) return j.join(parts);
        if (first instanceof Classes c0) {
            int n = 0;
            boolean probs = true;
            for (EvalOutputs p : parts) {
                Classes c = (Classes) p;
                if (!c.labels().equals(c0.labels())) throw new IllegalArgumentException("outputs over labels " + c0.labels() + " and " + c.labels());
                n += c.gold().length;
                probs &= c.probabilities() != null;
            }
            int[] gold = new int[n], pred = new int[n];
            float[][] prob = probs ? new float[n][] : null;
            int at = 0;
            for (EvalOutputs p : parts) {
                Classes c = (Classes) p;
                int k = c.gold().length;
                System.arraycopy(c.gold(), 0, gold, at, k);
                System.arraycopy(c.predicted(), 0, pred, at, k);
                if (probs) System.arraycopy(c.probabilities(), 0, prob, at, k);
                at += k;
            }
            return new Classes(c0.labels(), gold, pred, prob);
        }
        if (first instanceof Tags) {
            List<List<String>> gold = new ArrayList<>(), pred = new ArrayList<>();
            for (EvalOutputs p : parts) {
                gold.addAll(((Tags) p).gold());
                pred.addAll(((Tags) p).predicted());
            }
            return new Tags(gold, pred);
        }
        if (first instanceof Texts) {
            List<String> pred = new ArrayList<>();
            List<List<String>> refs = new ArrayList<>();
            for (EvalOutputs p : parts) {
                pred.addAll(((Texts) p).predicted());
                refs.addAll(((Texts) p).references());
            }
            return new Texts(pred, refs);
        }
        throw new IllegalArgumentException(first.getClass().getName() + " outputs do not say how to join");
    }
}
