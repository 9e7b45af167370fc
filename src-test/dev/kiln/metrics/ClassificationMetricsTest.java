package dev.kiln.metrics;

import com.google.gson.Gson;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ClassificationMetricsTest {
    private static final double EPS = 1e-12;

    @Test
    void binaryByHand() {
        // gold 0 0 1 1 1 / pred 0 1 1 1 0: class 0 TP1 FP1 FN1, class 1 TP2 FP1 FN1
        ClassificationMetrics m = ClassificationMetrics.of(new int[]{0, 0, 1, 1, 1}, new int[]{0, 1, 1, 1, 0}, List.of("neg", "pos"));
        assertEquals(0.6, m.accuracy(), EPS);
        assertEquals(0.5, m.precision(0), EPS);
        assertEquals(0.5, m.recall(0), EPS);
        assertEquals(0.5, m.f1(0), EPS);
        assertEquals(2.0 / 3, m.precision(1), EPS);
        assertEquals(2.0 / 3, m.recall(1), EPS);
        assertEquals(2.0 / 3, m.f1(1), EPS);
        assertEquals(7.0 / 12, m.macroF1(), EPS);
        assertEquals(2, m.support(0));
        assertEquals(3, m.support(1));
        assertArrayEquals(new int[][]{{1, 1}, {1, 2}}, m.confusion());
    }

    @Test
    void threeClassesByHand() {
        // confusion (rows gold, cols predicted):
        //        cat dog bird   support
        //  cat    2   1   1       4
        //  dog    1   2   0       3
        //  bird   0   1   2       3
        //  pred   3   4   3
        // P = 2/3, 2/4, 2/3; R = 2/4, 2/3, 2/3; F1 = 2TP/(support+pred) = 4/7, 4/7, 4/6
        int[] gold = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
        int[] pred = {0, 0, 1, 2, 1, 1, 0, 2, 2, 1};
        ClassificationMetrics m = ClassificationMetrics.of(gold, pred, List.of("cat", "dog", "bird"));
        assertArrayEquals(new int[][]{{2, 1, 1}, {1, 2, 0}, {0, 1, 2}}, m.confusion());
        assertEquals(0.6, m.accuracy(), EPS);
        assertEquals(2.0 / 3, m.precision(0), EPS);
        assertEquals(0.5, m.precision(1), EPS);
        assertEquals(2.0 / 3, m.precision(2), EPS);
        assertEquals(0.5, m.recall(0), EPS);
        assertEquals(2.0 / 3, m.recall(1), EPS);
        assertEquals(2.0 / 3, m.recall(2), EPS);
        assertEquals(4.0 / 7, m.f1(0), EPS);
        assertEquals(4.0 / 7, m.f1(1), EPS);
        assertEquals(2.0 / 3, m.f1(2), EPS);
        assertEquals(11.0 / 18, m.macroPrecision(), EPS);
        assertEquals(11.0 / 18, m.macroRecall(), EPS);
        assertEquals(38.0 / 63, m.macroF1(), EPS);   // (4/7 + 4/7 + 2/3) / 3
        assertEquals(10, m.count());
    }

    @Test
    void neverPredictedClassHasPrecisionZero() {
        // c has support 2 but is never predicted: P = 0 (zero_division=0), R = 0, F1 = 0; it still counts in the macro mean
        ClassificationMetrics m = ClassificationMetrics.of(new int[]{0, 1, 2, 2}, new int[]{0, 1, 1, 1}, List.of("a", "b", "c"));
        assertEquals(0.0, m.precision(2));
        assertEquals(0.0, m.recall(2));
        assertEquals(0.0, m.f1(2));
        assertEquals(2, m.support(2));
        assertEquals(1.0 / 3, m.precision(1), EPS);
        assertEquals(1.0, m.recall(1), EPS);
        assertEquals(0.5, m.f1(1), EPS);
        assertEquals(0.5, m.accuracy(), EPS);
        assertEquals(0.5, m.macroF1(), EPS);
        assertEquals(4.0 / 9, m.macroPrecision(), EPS);
    }

    @Test
    void classAbsentFromGoldAndPredictionsIsLeftOutOfMacro() {
        ClassificationMetrics m = ClassificationMetrics.of(new int[]{0, 1, 0, 1}, new int[]{0, 1, 1, 1}, List.of("a", "b", "c"));
        assertEquals(2.0 / 3, m.f1(0), EPS);
        assertEquals(0.8, m.f1(1), EPS);
        assertEquals((2.0 / 3 + 0.8) / 2, m.macroF1(), EPS);
        assertEquals(0, m.support(2));
    }

    @Test
    void jsonShape() {
        ClassificationMetrics m = ClassificationMetrics.of(new int[]{0, 0, 1, 1, 1}, new int[]{0, 1, 1, 1, 0}, List.of("neg", "pos"));
        Map<String, Object> j = m.toJson();
        assertEquals(List.of("count", "accuracy", "macro_precision", "macro_recall", "macro_f1", "per_class", "labels",
                "confusion_matrix"), List.copyOf(j.keySet()));
        assertEquals(0.6, (double) j.get("accuracy"), EPS);
        assertEquals("{\"count\":5,\"accuracy\":0.6,\"macro_precision\":0.5833333333333333,\"macro_recall\":0.5833333333333333,"
                        + "\"macro_f1\":0.5833333333333333,\"per_class\":{\"neg\":{\"precision\":0.5,\"recall\":0.5,\"f1\":0.5,\"support\":2},"
                        + "\"pos\":{\"precision\":0.6666666666666666,\"recall\":0.6666666666666666,\"f1\":0.6666666666666666,\"support\":3}},"
                        + "\"labels\":[\"neg\",\"pos\"],\"confusion_matrix\":[[1,1],[1,2]]}",
                new Gson().toJson(j));
    }

    @Test
    void badInput() {
        List<String> l = List.of("a", "b");
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(new int[]{0}, new int[]{0, 1}, l));
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(new int[]{}, new int[]{}, l));
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(new int[]{2}, new int[]{0}, l));
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(new int[]{0}, new int[]{-1}, l));
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(new int[]{0}, new int[]{0}, List.of("a", "a")));
    }
}
