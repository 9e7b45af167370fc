package dev.kiln.nn;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LossesTest {
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
}
