package dev.kiln.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.kiln.models.gpt2.Gpt2Config;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.train.Gradients;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backward must not read constants whose memory the garbage collector already freed (see
 * {@link Functional#scalar}): the same batch through a GPT-2 (gelu_new, scaled attention, dropout,
 * a loss divided by its target count) gives the same gradients every time, with the collector run
 * between forward and backward. Before the fix, NaN/Inf gradients showed up within a few hundred
 * repeats (and within a few dozen training steps).
 */
class ScalarLifetimeTest {
    @Test
    void repeatedBackwardGivesIdenticalFiniteGradients() {
        Gpt2Config c = new Gpt2Config();
        c.vocabSize = 50;
        c.nLayer = 2;
        c.nEmbd = 32;
        c.nHead = 4;
        c.nPositions = 32;
        try (NDManager base = NDManager.newBaseManager()) {
            Gpt2Model g = new Gpt2Model(c, new Parameters(base, 1, 0.02f));
            Gradients.require(g.params, k -> true);
            SplittableRandom r = new SplittableRandom(3);
            long[][] x = new long[4][32];
            long[][] y = new long[4][32];
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 32; j++) {
                    x[i][j] = r.nextInt(50);
                    y[i][j] = r.nextInt(50);
                }
            }
            double first = Double.NaN;
            for (int it = 0; it < 10; it++) {
                try (NDManager sm = base.newSubManager()) {
                    Engine.getInstance().setRandomSeed(7); // the same dropout masks each time
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = g.logits(g.forward(sm.create(x), null, null, null, true));
                        NDArray loss = Losses.crossEntropySum(logits.reshape(-1, 50), sm.create(y).reshape(-1), 0.1f);
                        NDArray mean = loss.div(Functional.scalar(loss, 128));
                        System.gc(); // frees whatever Java buffers are no longer referenced, before backward reads them
                        gc.backward(mean);
                    }
                    Map<String, NDArray> grads = Gradients.collect(g.params, k -> true, sm);
                    double sq = 0;
                    for (NDArray gr : grads.values()) {
                        double n = gr.norm().getFloat();
                        sq += n * n;
                    }
                    double norm = Math.sqrt(sq);
                    assertTrue(Double.isFinite(norm), "iteration " + it + ": gradient norm " + norm);
                    if (it == 0) first = norm;
                    assertEquals(first, norm, 0.0, "iteration " + it);
                    Gradients.zero(grads);
                }
            }
        }
    }
}
