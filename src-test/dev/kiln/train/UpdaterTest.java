package dev.kiln.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole update with real autograd: loss = Σ x·w + Σ y·b, so the gradients are x and y. */
class UpdaterTest {
    static final float[] X = {1f, 0.5f, 0.25f, -1f};
    static final float[] Y = {0.125f, -1f, 0.5f, 0.75f}; // |g|·32768 stays within fp16
    static final Predicate<String> TRAINABLE = n -> !n.startsWith("frozen");

    static Parameters model(NDManager root) {
        Parameters p = new Parameters(root.newSubManager(), 42, 0.5f);
        p.create("lin.weight", Parameters.Init.NORMAL, 4);
        p.create("ln_f.weight", Parameters.Init.NORMAL, 4);
        p.create("frozen.weight", Parameters.Init.NORMAL, 4);
        return p;
    }

    /** One micro-batch: forward in the parameters' dtype, backward of the (scaled) loss. */
    static void backward(NDManager root, Parameters p, Updater u) {
        try (NDManager scope = root.newSubManager();
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            DataType t = p.get("lin.weight").getDataType();
            NDArray x = scope.create(X).toType(t, false);
            NDArray y = scope.create(Y).toType(t, false);
            NDArray loss = x.mul(p.get("lin.weight")).sum()
                    .add(y.mul(p.get("ln_f.weight")).sum())
                    .add(y.mul(p.get("frozen.weight")).sum()); // step input first: results stay in scope
            gc.backward(u.scaleLoss(loss));
        }
    }

    static float[] f32(NDArray a) {
        return a.toType(DataType.FLOAT32, false).toFloatArray();
    }

    @Test
    void fp32AccumulatesClipsAndMatchesADirectStep() {
        try (NDManager root = NDManager.newBaseManager()) {
            Parameters p = model(root);
            Parameters twin = model(root);
            LrSchedule sched = LrSchedule.linear(1e-2f, 0, 10);
            try (Updater u = Updater.fp32(p, TRAINABLE, new AdamW(0.1), sched, 1f);
                 AdamW direct = new AdamW(0.1)) {
                float[] frozen0 = f32(p.get("frozen.weight"));
                for (int step = 0; step < 3; step++) {
                    backward(root, p, u);
                    backward(root, p, u); // two micro-batches: gradients 2x and 2y
                    Updater.Result r = u.step();
                    assertTrue(r.applied);
                    assertEquals(sched.lr(step), r.lr);
                    assertEquals(step + 1, r.step);

                    try (NDManager scope = root.newSubManager()) {
                        Map<String, NDArray> g = new LinkedHashMap<>();
                        g.put("lin.weight", scope.create(X).mul(2));
                        g.put("ln_f.weight", scope.create(Y).mul(2));
                        double norm = GradClip.clipGlobalNorm(g, 1f);
                        assertEquals(norm, r.gradNorm, 1e-6);
                        direct.step(twin, g, sched.lr(step));
                    }
                    assertArrayEquals(f32(twin.get("lin.weight")), f32(p.get("lin.weight")));
                    assertArrayEquals(f32(twin.get("ln_f.weight")), f32(p.get("ln_f.weight")));
                }
                assertArrayEquals(frozen0, f32(p.get("frozen.weight")));
                assertFalse(p.get("frozen.weight").hasGradient());
            }
            p.close();
            twin.close();
        }
    }

    @Test
    void fp16MixedSkipsTheOverflowThenSteps() {
        try (NDManager root = NDManager.newBaseManager()) {
            Parameters p = model(root);
            float[] w0 = f32(p.get("lin.weight"));
            try (Updater u = Updater.fp16Mixed(p, TRAINABLE, new Sgd(0, false, 0), LrSchedule.constant(0.5f, 0), 0f,
                    new LossScaler())) {
                assertEquals(DataType.FLOAT16, p.get("lin.weight").getDataType());
                byte[] half0 = p.get("lin.weight").toByteArray();

                // The backward seed 65536 is inf in fp16: every gradient overflows.
                backward(root, p, u);
                Updater.Result r = u.step();
                assertFalse(r.applied, r.toString());
                assertEquals(65536, r.lossScale);
                assertEquals(32768, u.state().get("scaler/scale").bytes().getDouble(0));
                assertEquals(0, r.step);
                assertArrayEquals(half0, p.get("lin.weight").toByteArray(), "skipped step leaves weights alone");

                // The inf gradients were reset (not to NaN): the next step is clean.
                backward(root, p, u);
                r = u.step();
                assertTrue(r.applied, r.toString());
                assertEquals(1, r.step);
                float[] master = mastersOf(u, "lin.weight");
                for (int i = 0; i < X.length; i++) {
                    assertEquals(w0[i] - 0.5f * X[i], master[i], 1e-6f, "master[" + i + "]");
                    float rounded = HostTensor.halfToFloat(HostTensor.floatToHalf(master[i]));
                    assertEquals(rounded, f32(p.get("lin.weight"))[i], "fp16 weight is the rounded master");
                }
                try (NDManager scope = root.newSubManager()) {
                    for (NDArray g : Gradients.collect(p, TRAINABLE, scope).values()) {
                        assertArrayEquals(new float[4], f32(g), "gradients zeroed after the step");
                    }
                }
                assertEquals(HostTensor.DType.F32, u.weights().get("lin.weight").dtype(), "checkpoint from the masters");
            }
            p.close();
        }
    }

    static float[] mastersOf(Updater u, String name) {
        return u.masters().masters().get(name).toFloatArray();
    }

    @Test
    void stateCarriesOptimizerAndScaler() {
        try (NDManager root = NDManager.newBaseManager()) {
            Parameters p = model(root);
            try (Updater u = Updater.fp16Mixed(p, TRAINABLE, new AdamW(0.0), LrSchedule.constant(1e-3f, 0), 1f,
                    new LossScaler(1024, 2000))) {
                backward(root, p, u);
                assertTrue(u.step().applied);
                Map<String, HostTensor> st = u.state();
                assertTrue(st.containsKey("optimizer/step"));
                assertTrue(st.containsKey("optimizer/exp_avg/lin.weight"));
                assertEquals(HostTensor.DType.F32, st.get("optimizer/exp_avg/lin.weight").dtype(), "fp32 optimizer state");
                assertTrue(st.containsKey("scaler/scale"));
                Parameters q = model(root);
                try (Updater fp32 = Updater.fp32(q, TRAINABLE, new AdamW(0.0), LrSchedule.constant(1e-3f, 0), 1f)) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fp32.loadState(st));
                    assertTrue(e.getMessage().contains("scaler/"), e.getMessage());
                }
                q.close();
            }
            p.close();
        }
    }

    @Test
    void noLeakWithAutograd() {
        try (NDManager root = NDManager.newBaseManager()) {
            Parameters p = model(root);
            try (Updater u = Updater.fp32(p, TRAINABLE, new AdamW(0.01), LrSchedule.constant(1e-3f, 0), 1f)) {
                backward(root, p, u);
                u.step();
                int params = p.manager().getManagedArrays().size();
                int all = root.getManagedArrays().size();
                for (int s = 0; s < 100; s++) {
                    backward(root, p, u);
                    u.step();
                }
                assertEquals(params, p.manager().getManagedArrays().size());
                assertEquals(all, root.getManagedArrays().size());
            }
            p.close();
        }
    }
}
