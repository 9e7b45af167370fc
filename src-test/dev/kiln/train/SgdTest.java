package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SgdTest {
    static final double[] G = {0.5, -0.25, 1.0};

    private static double[] run(Sgd opt, String name) {
        try (NDManager root = NDManager.newBaseManager()) {
            Parameters p = new Parameters(root.newSubManager(), 0, 0);
            p.create(name, Parameters.Init.ONES, 1);
            p.castAll(DataType.FLOAT64);
            double[] out = new double[G.length];
            for (int s = 0; s < G.length; s++) {
                try (NDManager scope = root.newSubManager()) {
                    Map<String, NDArray> g = new LinkedHashMap<>();
                    g.put(name, scope.create(new double[] {G[s]}));
                    opt.step(p, g, 0.1f);
                }
                out[s] = p.get(name).toDoubleArray()[0];
            }
            opt.close();
            return out;
        }
    }

    @Test
    void momentumWithWeightDecayByHand() {
        // d = g + 0.01·p; b1 = d; b = 0.9·b + d; p -= 0.1·b
        // 1: d = 0.51, b = 0.51, p = 0.949
        // 2: d = -0.25 + 0.00949 = -0.24051, b = 0.459 - 0.24051 = 0.21849, p = 0.927151
        // 3: d = 1.00927151, b = 0.196641 + 1.00927151 = 1.20591251, p = 0.806559749
        double[] p = run(new Sgd(0.9, false, 0.01), "dense.weight");
        double lr = 0.1f;
        double tol = 1e-8; // lr is the float 0.1
        assertEquals(0.949, p[0], tol);
        assertEquals(0.927151, p[1], tol);
        assertEquals(0.806559749, p[2], tol);
        // exact in the widened float lr
        double q = 1, b = 0;
        for (int s = 0; s < 3; s++) {
            double d = G[s] + 0.01 * q;
            b = s == 0 ? d : 0.9 * b + d;
            q -= lr * b;
            assertEquals(q, p[s], 1e-15);
        }
    }

    @Test
    void biasGetsNoDecay() {
        double[] p = run(new Sgd(0.9, false, 0.01), "dense.bias");
        // b: 0.5, 0.2, 1.18 → p: 0.95, 0.93, 0.812
        assertEquals(0.95, p[0], 1e-8);
        assertEquals(0.93, p[1], 1e-8);
        assertEquals(0.812, p[2], 1e-8);
    }

    @Test
    void nesterovByHand() {
        // b: 0.5, 0.2, 1.18; update g + 0.9·b: 0.95, -0.07, 2.062 → p: 0.905, 0.912, 0.7058
        double[] p = run(new Sgd(0.9, true, 0), "w");
        assertEquals(0.905, p[0], 1e-8);
        assertEquals(0.912, p[1], 1e-8);
        assertEquals(0.7058, p[2], 1e-8);
    }

    @Test
    void plainAndDampened() {
        double[] p = run(new Sgd(0, false, 0), "w");
        assertEquals(1 - 0.05 + 0.025 - 0.1, p[2], 1e-8);
        // dampening 0.5: b = 0.5, then 0.45 - 0.125 = 0.325, then 0.2925 + 0.5 = 0.7925
        p = run(new Sgd(0.9, 0.5, false, 0, AdamW::defaultNoDecay), "w");
        assertEquals(1 - 0.05 - 0.0325 - 0.07925, p[2], 1e-8);
    }

    @Test
    void nesterovNeedsMomentum() {
        assertThrows(IllegalArgumentException.class, () -> new Sgd(0, true, 0));
    }
}
