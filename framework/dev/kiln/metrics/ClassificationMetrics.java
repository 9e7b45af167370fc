package dev.kiln.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Accuracy, per-class precision/recall/F1 and the confusion matrix for single-label classification.
 *
 * <p>Conventions (those of scikit-learn with {@code zero_division=0}):
 * <ul>
 *   <li>a class that is never predicted has precision 0 (not NaN); a class with no gold examples has recall 0;
 *       F1 is {@code 2TP / (2TP + FP + FN)}, 0 when that is 0/0;</li>
 *   <li>macro averages are taken over the classes that occur in the gold or the predicted labels, as sklearn does
 *       when not given an explicit label list, so a dev set that lacks a class is not penalised for it.
 *       Such a class still appears in {@code per_class}, with support 0.</li>
 * </ul>
 */
public final class ClassificationMetrics {
    private final List<String> labels;
    private final int[][] confusion;   // [gold][predicted]
    private final int n;
    private final int correct;

    private ClassificationMetrics(List<String> labels, int[][] confusion, int n, int correct) {
        this.labels = labels;
        this.confusion = confusion;
        this.n = n;
        this.correct = correct;
    }

    /** From gold and predicted class indexes into {@code labels}. */
    public static ClassificationMetrics of(int[] gold, int[] predicted, List<String> labels) {
        if (gold.length != predicted.length) {
            throw new IllegalArgumentException(gold.length + " gold labels but " + predicted.length + " predictions");
        }
        if (gold.length == 0) throw new IllegalArgumentException("no examples to score");
        int k = labels.size();
        if (new java.util.HashSet<>(labels).size() != k) throw new IllegalArgumentException("duplicate label names in " + labels);
        int[][] cm = new int[k][k];
        int correct = 0;
        for (int i = 0; i < gold.length; i++) {
            int g = gold[i];
            int p = predicted[i];
            if (g < 0 || g >= k) throw new IllegalArgumentException("gold label index " + g + " at " + i + " is outside 0.." + (k - 1));
            if (p < 0 || p >= k) throw new IllegalArgumentException("predicted index " + p + " at " + i + " is outside 0.." + (k - 1));
            cm[g][p]++;
            if (g == p) correct++;
        }
        return new ClassificationMetrics(List.copyOf(labels), cm, gold.length, correct);
    }

    public List<String> labels() {
        return labels;
    }

    public int count() {
        return n;
    }

    public double accuracy() {
        return (double) correct / n;
    }

    /** Gold examples of class c. */
    public int support(int c) {
        int s = 0;
        for (int p = 0; p < labels.size(); p++) s += confusion[c][p];
        return s;
    }

    /** Examples predicted as class c. */
    public int predictedCount(int c) {
        int s = 0;
        for (int g = 0; g < labels.size(); g++) s += confusion[g][c];
        return s;
    }

    /** TP / (TP + FP); 0 when the class is never predicted. */
    public double precision(int c) {
        int pred = predictedCount(c);
        return pred == 0 ? 0 : (double) confusion[c][c] / pred;
    }

    /** TP / (TP + FN); 0 when the class has no gold examples. */
    public double recall(int c) {
        int s = support(c);
        return s == 0 ? 0 : (double) confusion[c][c] / s;
    }

    /** 2TP / (2TP + FP + FN), which equals 2PR / (P + R) whenever that is defined; 0 when 0/0. */
    public double f1(int c) {
        int tp = confusion[c][c];
        int denom = support(c) + predictedCount(c);   // = 2TP + FN + FP
        return denom == 0 ? 0 : 2.0 * tp / denom;
    }

    public double macroPrecision() {
        return macro(0);
    }

    public double macroRecall() {
        return macro(1);
    }

    public double macroF1() {
        return macro(2);
    }

    private double macro(int which) {
        double sum = 0;
        int m = 0;
        for (int c = 0; c < labels.size(); c++) {
            if (support(c) == 0 && predictedCount(c) == 0) continue;
            sum += which == 0 ? precision(c) : which == 1 ? recall(c) : f1(c);
            m++;
        }
        return sum / m;   // m >= 1: n > 0 means some class was seen
    }

    /** A copy of the confusion matrix: rows are gold classes, columns predicted classes, in {@link #labels()} order. */
    public int[][] confusion() {
        int[][] out = new int[confusion.length][];
        for (int i = 0; i < out.length; i++) out[i] = confusion[i].clone();
        return out;
    }

    /**
     * For JSON output (Gson serialises it as is): {@code count, accuracy, macro_precision, macro_recall, macro_f1,
     * per_class: {label: {precision, recall, f1, support}}, labels, confusion_matrix} (rows gold, columns predicted).
     */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", n);
        m.put("accuracy", accuracy());
        m.put("macro_precision", macroPrecision());
        m.put("macro_recall", macroRecall());
        m.put("macro_f1", macroF1());
        Map<String, Object> per = new LinkedHashMap<>();
        for (int c = 0; c < labels.size(); c++) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("precision", precision(c));
            p.put("recall", recall(c));
            p.put("f1", f1(c));
            p.put("support", support(c));
            per.put(labels.get(c), p);
        }
        m.put("per_class", per);
        m.put("labels", labels);
        List<List<Integer>> rows = new ArrayList<>();
        for (int[] row : confusion) {
            List<Integer> r = new ArrayList<>(row.length);
            for (int v : row) r.add(v);
            rows.add(r);
        }
        m.put("confusion_matrix", rows);
        return m;
    }
}
