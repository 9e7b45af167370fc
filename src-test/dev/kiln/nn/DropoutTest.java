package dev.kiln.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inverted dropout against its definition, computed here in Java floats from the same uniform draws the op makes
 * (the engine's seed, then {@code randomUniform} of x's shape): y = x·(1/(1-p)) where u ≥ p, else 0, and the
 * gradient of Σ y·w is w·(1/(1-p)) where kept, else 0. Bit for bit: the mask carries the scale, so there is one
 * float multiply per element as in the definition.
 */
class DropoutTest {

    @Test
    void outputAndGradientMatchTheDefinitionToTheBit() {
        float p = 0.1f;
        float scale = 1f / (1f - p);
        Shape shape = new Shape(4, 7, 33);
        int n = (int) shape.size();
        SplittableRandom r = new SplittableRandom(3);
        float[] xs = new float[n], ws = new float[n];
        for (int i = 0; i < n; i++) {
            xs[i] = (float) r.nextGaussian();
            ws[i] = (float) r.nextGaussian();
        }
        try (NDManager root = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(11);
            float[] u = root.randomUniform(0f, 1f, shape, DataType.FLOAT32).toFloatArray();

            NDArray x = root.create(xs, shape);
            x.setRequiresGradient(true);
            float[] y;
            try (NDManager step = root.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                Engine.getInstance().setRandomSeed(11);
                NDArray out = Functional.dropout(x, p, true);
                y = out.toFloatArray();
                gc.backward(out.mul(step.create(ws, shape)).sum());
            }
            float[] g = x.getGradient().toFloatArray();
            int kept = 0;
            for (int i = 0; i < n; i++) {
                boolean keep = u[i] >= p;
                if (keep) kept++;
                assertEquals(Float.floatToIntBits(keep ? xs[i] * scale : 0f * xs[i]), Float.floatToIntBits(y[i]), "y[" + i + "]");
                assertEquals(Float.floatToIntBits(keep ? ws[i] * scale : 0f * ws[i]), Float.floatToIntBits(g[i]), "grad[" + i + "]");
            }
            // the draws themselves: about 1-p of them kept (n = 924, so ±4 standard deviations is ±0.04)
            assertTrue(Math.abs(kept / (double) n - (1 - p)) < 0.04, kept + " of " + n + " kept");
            x.close();
        }
    }

    @Test
    void offInEvalModeAndAtZeroRate() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {1, 2, 3});
            assertSame(x, Functional.dropout(x, 0.5f, false));
            assertSame(x, Functional.dropout(x, 0f, true));
        }
    }
}
