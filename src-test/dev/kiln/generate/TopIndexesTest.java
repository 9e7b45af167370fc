package dev.kiln.generate;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The partial top-k selection of beam search returns what a stable descending sort would. */
class TopIndexesTest {
    static int[] bySort(double[] x, int k) {
        Integer[] idx = new Integer[x.length];
        for (int i = 0; i < x.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> Double.compare(x[b], x[a]));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = idx[i];
        return out;
    }

    @Test
    void matchesAStableSortIncludingTiesAndMinusInfinity() {
        SplittableRandom r = new SplittableRandom(5);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + r.nextInt(60);
            double[] x = new double[n];
            for (int i = 0; i < n; i++) {
                int kind = r.nextInt(10);
                x[i] = kind == 0 ? Double.NEGATIVE_INFINITY : kind < 4 ? r.nextInt(3) : r.nextDouble();
            }
            int k = 1 + r.nextInt(n);
            assertArrayEquals(bySort(x, k), Decoder.topIndexes(x, k), Arrays.toString(x) + " k=" + k);
        }
    }
}
