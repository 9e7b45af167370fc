package dev.kiln.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class LossesTest {
    /**
     * logits (0, 2, -3, 40), targets (1, 0, 1, 1):
     * ln(1+e^0) = 0.693147, ln(1+e^2) = 2.126928, ln(1+e^3) = 3.048587, ln(1+e^-40) ≈ 4.2e-18 (no overflow).
     */
    @Test
    void binaryCrossEntropyByHand() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray l = Losses.binaryCrossEntropySum(m.create(new float[] {0, 2, -3, 40}), m.create(new float[] {1, 0, 1, 1}));
            assertEquals(0.693147 + 2.126928 + 3.048587, l.getFloat(), 1e-5);
            NDArray big = Losses.binaryCrossEntropySum(m.create(new float[] {-200}), m.create(new float[] {1}));
            assertEquals(200, big.getFloat(), 1e-3);
        }
    }

    @Test
    void statesAtRowPositionPairs() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray h = m.arange(24f).reshape(2, 3, 4); // h[b][t] = 12b + 4t + (0..3)
            NDArray x = Pooling.at(m, h, new long[] {1, 0, 1}, new long[] {0, 2, 2});
            assertArrayEquals(new long[] {3, 4}, x.getShape().getShape());
            assertArrayEquals(new float[] {12, 13, 14, 15, 8, 9, 10, 11, 20, 21, 22, 23}, x.toFloatArray());
        }
    }

    @Test
    void maskedCrossEntropyGivesDisallowedClassesNoMass() {
        try (NDManager m = NDManager.newBaseManager()) {
            // row 0 picks among classes 0..2 (class 3 is padding with a huge logit); row 1 is ignored (-100)
            var logits = m.create(new float[][] {{1, 2, 3, 100}, {5, 0, 0, 0}});
            var allowed = m.create(new long[][] {{1, 1, 1, 0}, {1, 1, 1, 1}});
            var labels = m.create(new long[] {2, -100});
            double z = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
            double nll = z - 3;
            assertEquals(nll, Losses.crossEntropySum(logits, labels, 0f, allowed).getFloat(), 1e-5);
            // smoothing spreads over the 3 allowed classes only: 0.9 * nll + 0.1 * mean(-log p) over them
            double smooth = ((z - 1) + (z - 2) + (z - 3)) / 3;
            assertEquals(0.9 * nll + 0.1 * smooth, Losses.crossEntropySum(logits, labels, 0.1f, allowed).getFloat(), 1e-5);
            // with everything allowed it is the plain cross-entropy
            var all = m.ones(new ai.djl.ndarray.types.Shape(2, 4)).toType(ai.djl.ndarray.types.DataType.INT64, false);
            assertEquals(Losses.crossEntropySum(logits, labels, 0f).getFloat(),
                    Losses.crossEntropySum(logits, labels, 0f, all).getFloat(), 1e-5);
        }
    }

    /** fp16-mixed: fp16 logits must carry gradients through the loss's widening to fp32 (toType would cut the graph). */
    @Test
    void fp16LogitsGetTheGradientsOfFp32Ones() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            float[] x = {0.5f, -1.25f, 2f, 0.75f, 0f, -0.5f};
            NDArray labels = m.create(new long[] {2, 0});
            float[][] grads = new float[2][];
            ai.djl.ndarray.types.DataType[] types = {ai.djl.ndarray.types.DataType.FLOAT32, ai.djl.ndarray.types.DataType.FLOAT16};
            for (int t = 0; t < 2; t++) {
                NDArray logits = m.create(x, new ai.djl.ndarray.types.Shape(2, 3)).toType(types[t], false);
                logits.setRequiresGradient(true);
                try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    NDArray loss = Losses.crossEntropySum(logits, labels, 0f);
                    assertEquals(ai.djl.ndarray.types.DataType.FLOAT32, loss.getDataType());
                    gc.backward(loss);
                }
                grads[t] = logits.getGradient().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
            }
            assertArrayEquals(grads[0], grads[1], 1e-3f); // softmax - one-hot, in fp16 precision
        }
    }
}
