package dev.kiln.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.kiln.models.gpt2.Gpt2Model;

/**
 * {@link CausalLm} over {@link Gpt2Model}. With the KV cache each step feeds one token per row;
 * without it (for checking the cache) every step re-runs the whole sequence. Left padding is
 * handled with the attention mask and position ids counted over real tokens only.
 */
public final class Gpt2Lm implements CausalLm {
    private final Gpt2Model model;
    private final boolean useCache;
    private final boolean slidingWindow;
    private Gpt2Model.KvCache cache;
    private long[][] mask;   // host copy, [B][T_total]
    private long[][] seq;    // host copy of all tokens (for the uncached path)
    private long[] lastPos;

    public Gpt2Lm(Gpt2Model model, boolean useCache) {
        this(model, useCache, false);
    }

    /** {@code slidingWindow}: see {@link GenerationOptions#slidingWindow}. */
    public Gpt2Lm(Gpt2Model model, boolean useCache, boolean slidingWindow) {
        this.model = model;
        this.useCache = useCache;
        this.slidingWindow = slidingWindow;
    }

    @Override
    public int vocabSize() {
        return model.config.vocabSize;
    }

    @Override
    public float[][] start(long[][] prompts, long[][] promptMask) {
        closeCache();
        int b = prompts.length;
        mask = new long[b][];
        seq = new long[b][];
        for (int i = 0; i < b; i++) {
            mask[i] = promptMask[i].clone();
            seq[i] = prompts[i].clone();
        }
        int n = model.config.nPositions;
        if (seq[0].length > n) {
            if (!slidingWindow) throw tooLong(seq[0].length);
            crop(n);
        }
        return restart();
    }

    /** Runs the whole of {@link #seq} into a fresh cache (the prompt, or a window that moved on). */
    private float[][] restart() {
        closeCache();
        int b = seq.length;
        lastPos = new long[b];
        long[][] pos = new long[b][];
        for (int i = 0; i < b; i++) {
            pos[i] = positions(mask[i]);
            lastPos[i] = pos[i][pos[i].length - 1];
        }
        if (useCache) cache = model.newCache(model.params.manager());
        return run(seq, pos);
    }

    /** Keeps the last {@code n} columns of every row (left padding goes first). */
    private void crop(int n) {
        for (int i = 0; i < seq.length; i++) {
            int from = seq[i].length - n;
            seq[i] = java.util.Arrays.copyOfRange(seq[i], from, seq[i].length);
            mask[i] = java.util.Arrays.copyOfRange(mask[i], from, mask[i].length);
        }
    }

    private IllegalArgumentException tooLong(int length) {
        return new IllegalArgumentException("generation reached n_positions " + model.config.nPositions + " (" + length
                + " tokens); ask for fewer new tokens or a shorter prompt, or set slidingWindow (CLI: --sliding-window) to "
                + "condition on the last n_positions tokens");
    }

    @Override
    public float[][] next(long[] tokens) {
        int b = tokens.length;
        int n = model.config.nPositions;
        if (seq[0].length + 1 > n) {
            if (!slidingWindow) throw tooLong(seq[0].length + 1);
            for (int i = 0; i < b; i++) {
                mask[i] = append(mask[i], 1);
                seq[i] = append(seq[i], tokens[i]);
            }
            crop(n);
            return restart();
        }
        long[][] step = new long[b][];
        long[][] pos = new long[b][];
        for (int i = 0; i < b; i++) {
            mask[i] = append(mask[i], 1);
            seq[i] = append(seq[i], tokens[i]);
            lastPos[i]++;
            if (useCache) {
                step[i] = new long[] {tokens[i]};
                pos[i] = new long[] {lastPos[i]};
            } else {
                step[i] = seq[i];
                pos[i] = positions(mask[i]);
            }
        }
        return run(step, pos);
    }

    @Override
    public void reorder(int[] rows) {
        long[][] m2 = new long[rows.length][];
        long[][] s2 = new long[rows.length][];
        long[] p2 = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
            m2[i] = mask[rows[i]].clone();
            s2[i] = seq[rows[i]].clone();
            p2[i] = lastPos[rows[i]];
        }
        mask = m2;
        seq = s2;
        lastPos = p2;
        if (cache != null) {
            try (NDManager m = model.params.manager().newSubManager()) {
                long[] idx = new long[rows.length];
                for (int i = 0; i < rows.length; i++) idx[i] = rows[i];
                cache.select(m.create(idx));
            }
        }
    }

    private float[][] run(long[][] ids, long[][] pos) {
        try (NDManager m = model.params.manager().newSubManager()) {
            NDArray hidden = model.forward(m.create(ids), m.create(mask), m.create(pos), cache, false);
            long t = hidden.getShape().get(1);
            NDArray last = model.logits(hidden.get(new NDIndex(":, " + (t - 1) + ", :")));
            int b = ids.length;
            int v = model.config.vocabSize;
            float[] flat = last.toFloatArray();
            float[][] out = new float[b][v];
            for (int i = 0; i < b; i++) System.arraycopy(flat, i * v, out[i], 0, v);
            return out;
        }
    }

    /** 0, 1, 2, ... over real tokens; padding positions get 0 (they are masked anyway). */
    static long[] positions(long[] mask) {
        long[] p = new long[mask.length];
        long c = -1;
        for (int j = 0; j < mask.length; j++) {
            if (mask[j] != 0) c++;
            p[j] = Math.max(0, c);
        }
        return p;
    }

    private static long[] append(long[] a, long x) {
        long[] r = java.util.Arrays.copyOf(a, a.length + 1);
        r[a.length] = x;
        return r;
    }

    private void closeCache() {
        if (cache != null) cache.close();
        cache = null;
    }

    @Override
    public void close() {
        closeCache();
    }
}
