package dev.kiln.inference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.models.gpt2.Gpt2Model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Per-token log-probabilities of a sequence under a causal LM. */
public final class LmScorer {
    private LmScorer() {}

    /** logprobs[i] = log p(ids[i+1] | ids[0..i]); perplexity = exp(-mean). */
    public record Score(long[] ids, float[] logprobs, double perplexity) {}

    public static Score score(Gpt2Model gpt, long[] ids) {
        return scoreBatch(gpt, List.of(ids), 1).get(0);
    }

    /**
     * {@link #score} of each sequence, in input order, in length-sorted batches of {@code batchSize}. Rows are
     * padded on the right: causal attention keeps a token from seeing the padding after it, so a row's scores are
     * its own (up to float rounding).
     */
    public static List<Score> scoreBatch(Gpt2Model gpt, List<long[]> seqs, int batchSize) {
        for (long[] ids : seqs) {
            if (ids.length < 2) throw new IllegalArgumentException("need at least 2 tokens to score, got " + ids.length);
            for (long id : ids) {
                if (id < 0 || id >= gpt.config.vocabSize) {
                    throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.."
                            + (gpt.config.vocabSize - 1) + ")");
                }
            }
        }
        int[] lengths = seqs.stream().mapToInt(s -> s.length).toArray();
        return LengthBatches.map(seqs, lengths, batchSize, batch -> forward(gpt, batch));
    }

    private static List<Score> forward(Gpt2Model gpt, List<long[]> batch) {
        int w = 0;
        for (long[] s : batch) w = Math.max(w, s.length);
        int b = batch.size();
        long[][] ids = new long[b][];
        // next[r][i]: the token after position i (0 past the row's end: gathered, then dropped)
        long[][] next = new long[b][w - 1];
        for (int r = 0; r < b; r++) {
            long[] s = batch.get(r);
            ids[r] = Arrays.copyOf(s, w);
            System.arraycopy(s, 1, next[r], 0, s.length - 1);
        }
        try (dev.kiln.nn.NoGrad g = dev.kiln.nn.NoGrad.scope(); NDManager m = gpt.params.manager().newSubManager()) {
            NDArray logp = gpt.forwardLogits(m.create(ids), null).logSoftmax(-1);
            // log p of each next token: [B, T-1, V] gathered at the next ids
            float[] lp = logp.get(":, 0:" + (w - 1) + ", :").gather(m.create(next).reshape(b, w - 1, 1), 2).toFloatArray();
            List<Score> out = new ArrayList<>(b);
            for (int r = 0; r < b; r++) {
                long[] s = batch.get(r);
                int n = s.length - 1;
                float[] row = Arrays.copyOfRange(lp, r * (w - 1), r * (w - 1) + n);
                double sum = 0;
                for (float x : row) sum += x;
                out.add(new Score(s, row, Math.exp(-sum / n)));
            }
            return out;
        }
    }
}
