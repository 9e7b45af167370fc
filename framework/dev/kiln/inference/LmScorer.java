package dev.kiln.inference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.models.gpt2.Gpt2Model;

/** Per-token log-probabilities of a sequence under a causal LM. */
public final class LmScorer {
    private LmScorer() {}

    /** logprobs[i] = log p(ids[i+1] | ids[0..i]); perplexity = exp(-mean). */
    public record Score(long[] ids, float[] logprobs, double perplexity) {}

    public static Score score(Gpt2Model gpt, long[] ids) {
        if (ids.length < 2) throw new IllegalArgumentException("need at least 2 tokens to score, got " + ids.length);
        for (long id : ids) {
            if (id < 0 || id >= gpt.config.vocabSize) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.."
                        + (gpt.config.vocabSize - 1) + ")");
            }
        }
        try (NDManager m = gpt.params.manager().newSubManager()) {
            NDArray logp = gpt.forwardLogits(m.create(ids).reshape(1, ids.length), null).logSoftmax(-1);
            int n = ids.length - 1;
            long[] next = new long[n];
            System.arraycopy(ids, 1, next, 0, n);
            // pick log p of each next token: [T-1, V] gathered at next ids
            NDArray lp = logp.reshape(ids.length, gpt.config.vocabSize).get("0:" + n)
                    .gather(m.create(next).reshape(n, 1), 1).reshape(n);
            float[] out = lp.toFloatArray();
            double sum = 0;
            for (float x : out) sum += x;
            return new Score(ids, out, Math.exp(-sum / n));
        }
    }
}
