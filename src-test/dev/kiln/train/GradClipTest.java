package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GradClipTest {
    /** [3, 4] and [12]: norms 5 and 12, global norm 13. */
    static Map<String, NDArray> grads(NDManager m) {
        Map<String, NDArray> g = new LinkedHashMap<>();
        g.put("a", m.create(new double[] {3, 4}));
        g.put("b", m.create(new double[] {12}));
        return g;
    }

    @Test
    void belowMaxIsUntouched() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> g = grads(m);
            assertEquals(13.0, GradClip.clipGlobalNorm(g, 26f), 1e-12);
            assertArrayEquals(new double[] {3, 4}, g.get("a").toDoubleArray());
            assertArrayEquals(new double[] {12}, g.get("b").toDoubleArray());
            assertEquals(13.0, GradClip.clipGlobalNorm(g, 0f), 1e-12); // 0: measure only
            assertArrayEquals(new double[] {12}, g.get("b").toDoubleArray());
        }
    }

    @Test
    void aboveMaxScalesToMax() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> g = grads(m);
            assertEquals(13.0, GradClip.clipGlobalNorm(g, 6.5f), 1e-12, "returns the pre-clip norm");
            double coef = 6.5 / (13 + 1e-6);
            assertArrayEquals(new double[] {3 * coef, 4 * coef}, g.get("a").toDoubleArray(), 1e-15);
            assertArrayEquals(new double[] {12 * coef}, g.get("b").toDoubleArray(), 1e-15);
            assertEquals(6.5, GradClip.globalNorm(g), 1e-6);
        }
    }

    @Test
    void nonFiniteIsReportedAndNothingScaled() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> g = grads(m);
            g.put("c", m.create(new double[] {Double.NaN}));
            assertTrue(Double.isNaN(GradClip.clipGlobalNorm(g, 1f)));
            assertArrayEquals(new double[] {3, 4}, g.get("a").toDoubleArray());
            g.put("c", m.create(new double[] {Double.POSITIVE_INFINITY}));
            assertEquals(Double.POSITIVE_INFINITY, GradClip.clipGlobalNorm(g, 1f));
            assertArrayEquals(new double[] {12}, g.get("b").toDoubleArray());
        }
    }

    @Test
    void halfGradientsAreMeasuredWithoutOverflow() {
        try (NDManager m = NDManager.newBaseManager()) {
            // 300² + 400² = 250000 overflows fp16 (max 65504); the norm, 500, does not
            Map<String, NDArray> g = new LinkedHashMap<>();
            g.put("h", m.create(new float[] {300, 400}).toType(DataType.FLOAT16, false));
            g.put("f", m.create(new float[] {1200}));
            assertEquals(1300.0, GradClip.globalNorm(g), 1e-9);
            GradClip.clipGlobalNorm(g, 13f);
            assertEquals(13.0, GradClip.globalNorm(g), 0.02); // fp16 rounding of 3 and 4
        }
    }
}
