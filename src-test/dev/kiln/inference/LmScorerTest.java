package dev.kiln.inference;

import ai.djl.ndarray.NDManager;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.io.HfFolder;
import dev.kiln.models.gpt2.Gpt2Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** LmScorer in length-sorted, right-padded batches gives each sequence's own log-probabilities, in input order. */
@ExtendWith(OneThreadWhenBusy.class)
class LmScorerTest {
    @TempDir
    Path tmp;

    @Test
    void batchedScoresEqualAHandComputedLogSoftmaxOfEachSequenceAlone() throws IOException {
        Path dir = TinyModels.gpt2(tmp.resolve("gpt2"), 2, 32, 11);
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model gpt = HfFolder.loadGpt2(dir, m);
            int vocab = gpt.config.vocabSize;
            Random r = new Random(3);
            List<long[]> seqs = new ArrayList<>();
            for (int len : new int[] {5, 2, 17, 9, 9, 30, 3}) {
                long[] s = new long[len];
                for (int i = 0; i < len; i++) s[i] = r.nextInt(vocab);
                seqs.add(s);
            }
            // reference: each sequence alone, unpadded; log-softmax of the logits by hand in double
            List<double[]> want = new ArrayList<>();
            for (long[] s : seqs) {
                float[] logits;
                try (NDManager sub = m.newSubManager()) {
                    logits = gpt.forwardLogits(sub.create(s).reshape(1, s.length), null).toFloatArray();
                }
                double[] lp = new double[s.length - 1];
                for (int t = 0; t < lp.length; t++) {
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int v = 0; v < vocab; v++) max = Math.max(max, logits[t * vocab + v]);
                    for (int v = 0; v < vocab; v++) sum += Math.exp(logits[t * vocab + v] - max);
                    lp[t] = logits[t * vocab + (int) s[t + 1]] - max - Math.log(sum);
                }
                want.add(lp);
            }
            for (int bs : new int[] {1, 3, 64}) {
                List<LmScorer.Score> got = LmScorer.scoreBatch(gpt, seqs, bs);
                assertEquals(seqs.size(), got.size());
                for (int i = 0; i < seqs.size(); i++) {
                    LmScorer.Score g = got.get(i);
                    assertEquals(seqs.get(i), g.ids(), "input order");
                    assertEquals(want.get(i).length, g.logprobs().length);
                    double sum = 0;
                    for (int t = 0; t < want.get(i).length; t++) {
                        assertEquals(want.get(i)[t], g.logprobs()[t], 1e-4, "batch " + bs + " sequence " + i + " token " + t);
                        sum += want.get(i)[t];
                    }
                    assertEquals(Math.exp(-sum / want.get(i).length), g.perplexity(), 1e-3 * g.perplexity());
                }
            }
            // one sequence alone: the same path
            LmScorer.Score one = LmScorer.score(gpt, seqs.get(2));
            assertEquals(want.get(2)[4], one.logprobs()[4], 1e-4);
        }
    }
}
