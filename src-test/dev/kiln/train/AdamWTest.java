package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.kiln.nn.HostTensor;
import dev.kiln.io.SafeTensors;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdamWTest {
    static final String[] NAMES = {"bert.encoder.layer.0.output.dense.weight", "bert.encoder.layer.0.output.dense.bias",
            "bert.encoder.layer.0.output.LayerNorm.weight"};
    static final long[][] SHAPES = {{3, 4}, {3}, {3}};
    static final float[] LRS = {1e-2f, 2e-2f, 0f, 5e-3f, 1e-2f};
    static final double B1 = 0.9, B2 = 0.999, EPS = 1e-8, WD = 0.1;

    /** torch.optim.AdamW's single-tensor update, written out in doubles. */
    static final class Reference {
        final double[] p, m, v;
        final boolean decay;
        long t;

        Reference(double[] p, boolean decay) {
            this.p = p.clone();
            this.m = new double[p.length];
            this.v = new double[p.length];
            this.decay = decay;
        }

        void step(double[] g, double lr) {
            t++;
            for (int i = 0; i < p.length; i++) {
                if (decay) p[i] *= 1 - lr * WD;
                m[i] += (g[i] - m[i]) * (1 - B1);             // exp_avg.lerp_(grad, 1 - beta1)
                v[i] = v[i] * B2 + (1 - B2) * g[i] * g[i];    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
                double stepSize = lr / (1 - Math.pow(B1, t));
                double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(B2, t)) + EPS;
                p[i] -= stepSize * m[i] / denom;
            }
        }
    }

    @Test
    void matchesPyTorchRuleInFloat64() {
        try (NDManager root = NDManager.newBaseManager();
             Parameters params = OptimFixtures.params(root, DataType.FLOAT64, 3, NAMES, SHAPES);
             AdamW opt = new AdamW(B1, B2, EPS, WD, AdamW::defaultNoDecay)) {
            assertTrue(opt.decays(NAMES[0]));
            assertFalse(opt.decays(NAMES[1]));
            assertFalse(opt.decays(NAMES[2]));
            Map<String, Reference> ref = new HashMap<>();
            double worst = 0;
            for (String n : NAMES) ref.put(n, new Reference(OptimFixtures.f64(params.get(n)), opt.decays(n)));
            for (int s = 0; s < LRS.length; s++) {
                try (NDManager scope = root.newSubManager()) {
                    Map<String, NDArray> g = OptimFixtures.grads(params, scope, 3, s);
                    opt.step(params, g, LRS[s]);
                    for (String n : NAMES) ref.get(n).step(OptimFixtures.f64(g.get(n)), LRS[s]);
                }
                for (String n : NAMES) {
                    double[] got = OptimFixtures.f64(params.get(n));
                    double[] want = ref.get(n).p;
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(want[i], got[i], 1e-10, n + "[" + i + "] after step " + (s + 1));
                        worst = Math.max(worst, Math.abs(want[i] - got[i]));
                    }
                }
            }
            assertEquals(LRS.length, opt.stepCount());
            System.out.printf("AdamW f64 vs reference over %d steps: max |Δ| %.1e%n", LRS.length, worst);
            // guard against a vacuous pass: every weight moved from its initial value
            try (Parameters init = OptimFixtures.params(root, DataType.FLOAT64, 3, NAMES, SHAPES)) {
                for (String n : NAMES) {
                    double[] a = OptimFixtures.f64(init.get(n)), b = OptimFixtures.f64(params.get(n));
                    for (int i = 0; i < a.length; i++) assertTrue(Math.abs(a[i] - b[i]) > 1e-4, n + "[" + i + "] did not move");
                }
            }
        }
    }

    @Test
    void firstStepByHand() {
        // g = 1e-6: m̂ = g and sqrt(v̂) = |g| exactly, so the step is lr·g/(|g| + eps) = 0.1/1.01.
        // DJL's eps on sqrt(v) (not v̂) would give ~0.076 instead; a plain sign step would give 0.1.
        try (NDManager root = NDManager.newBaseManager()) {
            Parameters params = new Parameters(root.newSubManager(), 0, 0);
            params.create("w", Parameters.Init.ONES, 1);
            params.create("ln_f.weight", Parameters.Init.ONES, 1);
            params.castAll(DataType.FLOAT64);
            try (AdamW opt = new AdamW(0.9, 0.999, 1e-8, 0.01, AdamW::defaultNoDecay);
                 NDManager scope = root.newSubManager()) {
                Map<String, NDArray> g = new HashMap<>();
                g.put("w", scope.create(new double[] {1e-6}));
                g.put("ln_f.weight", scope.create(new double[] {-1e-6}));
                opt.step(params, g, 0.1f);
                double lr = 0.1f; // the float lr, widened
                assertEquals(1 - lr * 0.01 - lr / 1.01, params.get("w").toDoubleArray()[0], 1e-15);
                assertEquals(0.899990099009901, params.get("w").toDoubleArray()[0], 2e-9); // 1 - 0.001 - 0.1/1.01, lr = 0.1 in decimal
                assertEquals(1 + lr / 1.01, params.get("ln_f.weight").toDoubleArray()[0], 1e-15);
            }
            params.close();
        }
    }

    @Test
    void resumeFromSavedStateIsBitwiseIdentical(@TempDir Path dir) throws Exception {
        int total = 6, cut = 3;
        try (NDManager root = NDManager.newBaseManager()) {
            byte[][] straight;
            Map<String, HostTensor> straightState;
            try (Parameters p = OptimFixtures.params(root, DataType.FLOAT32, 11, NAMES, SHAPES);
                 AdamW opt = new AdamW(0.01)) {
                for (int s = 0; s < total; s++) stepWith(root, p, opt, s);
                straight = bytes(p);
                straightState = opt.state();
            }

            Path weights = dir.resolve("model.safetensors");
            Path optState = dir.resolve("optimizer.safetensors");
            try (Parameters p = OptimFixtures.params(root, DataType.FLOAT32, 11, NAMES, SHAPES);
                 AdamW opt = new AdamW(0.01)) {
                for (int s = 0; s < cut; s++) stepWith(root, p, opt, s);
                SafeTensors.write(weights, p.stateDict(), null);
                SafeTensors.write(optState, opt.state(), null);
            }
            try (Parameters p = OptimFixtures.params(root, DataType.FLOAT32, 999, NAMES, SHAPES);
                 AdamW opt = new AdamW(0.01)) {
                assertTrue(p.load(SafeTensors.read(weights), k -> k).complete());
                opt.loadState(SafeTensors.read(optState));
                assertEquals(cut, opt.stepCount());
                for (int s = cut; s < total; s++) stepWith(root, p, opt, s);
                assertEquals(total, opt.stepCount());
                byte[][] resumed = bytes(p);
                for (int i = 0; i < NAMES.length; i++) assertArrayEquals(straight[i], resumed[i], NAMES[i]);
                Map<String, HostTensor> st = opt.state();
                assertEquals(straightState.keySet(), st.keySet());
                for (String k : st.keySet()) {
                    assertEquals(straightState.get(k).bytes(), st.get(k).bytes(), "state " + k);
                }
            }
        }
    }

    /**
     * Large tensors are updated in slices of whole rows (views, in place): the parameters and both moments must
     * come out bit for bit as from the whole-tensor update, on slices that do not divide the rows evenly, on a
     * 1-d tensor, through a zero-lr step, with decay and without, and with no arrays left behind in the managers.
     */
    @Test
    void slicedUpdateIsBitwiseIdenticalToWholeTensors() {
        String[] names = {"encoder.embed.weight", "encoder.dense.bias", "encoder.dense.weight"};
        long[][] shapes = {{37, 5}, {300}, {4, 50}};
        try (NDManager root = NDManager.newBaseManager();
             Parameters whole = OptimFixtures.params(root, DataType.FLOAT32, 21, names, shapes);
             Parameters sliced = OptimFixtures.params(root, DataType.FLOAT32, 21, names, shapes);
             AdamW a = new AdamW(0.01);
             AdamW b = new AdamW(0.01)) {
            a.slice = Long.MAX_VALUE;
            b.slice = 16; // 3 rows of 5, 16 of 1, and 50 > 16: a row per slice
            Gradients.require(sliced, n -> true); // as in the trainer: views of leaves that autograd tracks
            int arrays = -1;
            for (int s = 0; s < LRS.length; s++) {
                stepWith(root, whole, a, s);
                stepWith(root, sliced, b, s);
                if (s == 0) arrays = sliced.manager().getManagedArrays().size();
            }
            byte[][] x = bytes(whole), y = bytes(sliced);
            for (int i = 0; i < names.length; i++) assertArrayEquals(x[i], y[i], names[i]);
            Map<String, HostTensor> sa = a.state(), sb = b.state();
            assertEquals(sa.keySet(), sb.keySet());
            for (String k : sa.keySet()) assertEquals(sa.get(k).bytes(), sb.get(k).bytes(), "state " + k);
            assertEquals(arrays, sliced.manager().getManagedArrays().size(), "slices' views freed each step");
            try (Parameters init = OptimFixtures.params(root, DataType.FLOAT32, 21, names, shapes)) {
                byte[][] z = bytes(init);
                for (int i = 0; i < names.length; i++) assertFalse(java.util.Arrays.equals(z[i], y[i]), names[i] + " did not move");
            }
        }
    }

    @Test
    void rejectsForeignStateAndMismatchedShapes() {
        try (NDManager root = NDManager.newBaseManager();
             Parameters p = OptimFixtures.params(root, DataType.FLOAT32, 1, NAMES, SHAPES);
             AdamW opt = new AdamW(0.0);
             Sgd sgd = new Sgd(0.9, false, 0)) {
            stepWith(root, p, sgd, 0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.loadState(sgd.state()));
            assertTrue(e.getMessage().contains("momentum_buffer"), e.getMessage());
            Map<String, HostTensor> bad = new HashMap<>();
            bad.put("step", StatefulOptimizer.i64(1));
            bad.put("exp_avg/" + NAMES[1], HostTensor.ofFloats(new long[] {5}, new float[5]));
            opt.loadState(bad);
            byte[][] before = bytes(p);
            e = assertThrows(IllegalArgumentException.class, () -> stepWith(root, p, opt, 1));
            assertTrue(e.getMessage().contains(NAMES[1]), e.getMessage());
            for (int i = 0; i < NAMES.length; i++) assertArrayEquals(before[i], bytes(p)[i], "no half-applied step");
            assertEquals(1, opt.stepCount());
        }
    }

    /** The parameter manager's array count stays flat over many steps: no per-step leak into long-lived managers. */
    @Test
    void noLeakOver200Steps() {
        try (NDManager root = NDManager.newBaseManager();
             Parameters p = OptimFixtures.params(root, DataType.FLOAT32, 5, NAMES, SHAPES);
             AdamW opt = new AdamW(0.01)) {
            stepWith(root, p, opt, 0);
            int afterFirst = p.manager().getManagedArrays().size();
            int rootAfterFirst = root.getManagedArrays().size();
            assertEquals(3 + 2 * 3, afterFirst, "3 parameters + exp_avg and exp_avg_sq each");
            for (int s = 1; s < 200; s++) stepWith(root, p, opt, s);
            assertEquals(afterFirst, p.manager().getManagedArrays().size());
            assertEquals(rootAfterFirst, root.getManagedArrays().size());
        }
    }

    static void stepWith(NDManager root, Parameters p, Optimizer opt, int s) {
        try (NDManager scope = root.newSubManager()) {
            opt.step(p, OptimFixtures.grads(p, scope, 17, s), LRS[s % LRS.length]);
        }
    }

    static byte[][] bytes(Parameters p) {
        return p.all().values().stream().map(NDArray::toByteArray).toArray(byte[][]::new); // in creation order
    }

    @Test
    void defaultNoDecayOnHfNames() {
        String[] none = {"bert.encoder.layer.3.attention.output.LayerNorm.weight", "bert.embeddings.LayerNorm.bias",
                "transformer.h.0.ln_1.weight", "transformer.h.11.ln_2.bias", "transformer.ln_f.weight",
                "cls.predictions.bias", "bert.encoder.layer.3.attention.self.query.bias"};
        String[] decay = {"bert.encoder.layer.3.attention.self.query.weight", "transformer.wte.weight",
                "transformer.h.0.attn.c_attn.weight", "cls.predictions.transform.dense.weight", "classifier.weight",
                "bert.embeddings.word_embeddings.weight"};
        for (String n : none) assertTrue(AdamW.defaultNoDecay(n), n);
        for (String n : decay) assertFalse(AdamW.defaultNoDecay(n), n);
    }

    @Test
    void shapeOfStateIsThatOfParameter() {
        try (NDManager root = NDManager.newBaseManager();
             Parameters p = OptimFixtures.params(root, DataType.FLOAT32, 1, NAMES, SHAPES);
             AdamW opt = new AdamW(0.0)) {
            stepWith(root, p, opt, 0);
            Map<String, HostTensor> st = opt.state();
            assertEquals(1 + 3 + 6, st.size());
            assertArrayEquals(new long[] {3, 4}, st.get("exp_avg_sq/" + NAMES[0]).shape());
            assertEquals(HostTensor.DType.F32, st.get("exp_avg/" + NAMES[0]).dtype());
            assertEquals(new Shape(3, 4), p.get(NAMES[0]).getShape());
        }
    }
}
