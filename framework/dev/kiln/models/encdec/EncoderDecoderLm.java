package dev.kiln.models.encdec;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.kiln.generate.CausalLm;
import dev.kiln.generate.Decoder;
import dev.kiln.generate.GenerationOptions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@link CausalLm} over an {@link EncoderDecoderModel} for a fixed batch of source sequences: the "prompt" of each
 * row is the decoder's start ({@code decoder_start_token_id}), and every step conditions on that row's source. With
 * the cache the encoder runs once, cross-attention keys and values are computed once, and each step feeds one token;
 * without it (for checking the cache) every step re-runs encoder and decoder over the whole sequence.
 */
public final class EncoderDecoderLm implements CausalLm {
    private final EncoderDecoderModel model;
    private final boolean useCache;
    private long[][] src;
    private long[][] srcMask;
    private long[][] seq;
    private EncoderDecoderModel.Cache cache;

    /** {@code sources}: one token sequence per row (right-padded here). */
    public EncoderDecoderLm(EncoderDecoderModel model, List<long[]> sources, boolean useCache) {
        this.model = model;
        this.useCache = useCache;
        int width = 0;
        for (long[] s : sources) width = Math.max(width, s.length);
        src = new long[sources.size()][width];
        srcMask = new long[sources.size()][width];
        for (int i = 0; i < sources.size(); i++) {
            long[] s = sources.get(i);
            if (s.length == 0) throw new IllegalArgumentException("empty source sequence (row " + i + ")");
            Arrays.fill(src[i], model.config.padTokenId);
            System.arraycopy(s, 0, src[i], 0, s.length);
            Arrays.fill(srcMask[i], 0, s.length, 1);
        }
    }

    /** Every row's decoder prompt: the start token alone. */
    public long[][] startPrompts() {
        long[][] p = new long[src.length][1];
        for (long[] r : p) r[0] = model.config.decoderStartTokenId;
        return p;
    }

    @Override
    public long[] inputTokens(int row) {
        int n = 0;
        while (n < srcMask[row].length && srcMask[row][n] == 1) n++;
        return Arrays.copyOf(src[row], n);
    }

    @Override
    public int vocabSize() {
        return model.config.decoder.vocabSize;
    }

    @Override
    public float[][] start(long[][] prompts, long[][] mask) {
        if (prompts.length != src.length) {
            throw new IllegalArgumentException(prompts.length + " decoder prompts for " + src.length + " source sequences");
        }
        for (long[] row : mask) for (long x : row) {
            if (x == 0) throw new IllegalArgumentException("decoder prompts must have equal lengths (no padding)");
        }
        closeCache();
        seq = new long[prompts.length][];
        for (int i = 0; i < prompts.length; i++) seq[i] = prompts[i].clone();
        if (!useCache) return full();
        try (NDManager m = model.params.manager().newSubManager()) {
            cache = model.newCache(model.encode(m.create(src), m.create(srcMask), false));
            return last(model.decode(m.create(seq), null, null, cache, false));
        }
    }

    @Override
    public float[][] next(long[] tokens) {
        for (int i = 0; i < tokens.length; i++) {
            long[] s = Arrays.copyOf(seq[i], seq[i].length + 1);
            s[seq[i].length] = tokens[i];
            seq[i] = s;
        }
        if (!useCache) return full();
        try (NDManager m = model.params.manager().newSubManager()) {
            long[][] step = new long[tokens.length][1];
            for (int i = 0; i < tokens.length; i++) step[i][0] = tokens[i];
            return last(model.decode(m.create(step), null, null, cache, false));
        }
    }

    /** Encoder and decoder over everything so far, no cache. */
    private float[][] full() {
        try (NDManager m = model.params.manager().newSubManager()) {
            EncoderDecoderModel.Encoded enc = model.encode(m.create(src), m.create(srcMask), false);
            return last(model.decode(m.create(seq), null, enc, null, false));
        }
    }

    private float[][] last(NDArray hidden) {
        long t = hidden.getShape().get(1);
        NDArray logits = model.logits(hidden.get(new NDIndex(":, " + (t - 1) + ", :")));
        int b = (int) hidden.getShape().get(0);
        int v = vocabSize();
        float[] flat = logits.toFloatArray();
        float[][] out = new float[b][v];
        for (int i = 0; i < b; i++) System.arraycopy(flat, i * v, out[i], 0, v);
        return out;
    }

    @Override
    public void reorder(int[] rows) {
        long[][] s2 = new long[rows.length][];
        long[][] m2 = new long[rows.length][];
        long[][] q2 = new long[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            s2[i] = src[rows[i]];
            m2[i] = srcMask[rows[i]];
            q2[i] = seq[rows[i]].clone();
        }
        src = s2;
        srcMask = m2;
        seq = q2;
        if (cache != null) {
            try (NDManager m = model.params.manager().newSubManager()) {
                long[] idx = new long[rows.length];
                for (int i = 0; i < rows.length; i++) idx[i] = rows[i];
                cache.select(m.create(idx));
            }
        }
    }

    /**
     * The decoded tokens of one source (without the start token and the EOS): beam search when
     * {@code o.numBeams} > 1, else greedy or sampled. {@code o.eosTokenId} defaults to the model's.
     */
    public static long[] generate(EncoderDecoderModel model, long[] source, GenerationOptions o, boolean useCache) {
        return generate(model, List.of(source), o, useCache).get(0);
    }

    /** As {@link #generate(EncoderDecoderModel, long[], GenerationOptions, boolean)} for a batch; beams run source by source. */
    public static List<long[]> generate(EncoderDecoderModel model, List<long[]> sources, GenerationOptions o, boolean useCache) {
        GenerationOptions opts = o.copy();
        if (opts.eosTokenId == null) opts.eosTokenId = model.config.eosTokenId;
        List<long[]> raw = new ArrayList<>();
        if (opts.numBeams > 1) {
            for (long[] s : sources) {
                try (EncoderDecoderLm lm = new EncoderDecoderLm(model, List.of(s), useCache)) {
                    raw.add(Decoder.beamSearch(lm, lm.startPrompts()[0], opts));
                }
            }
        } else {
            try (EncoderDecoderLm lm = new EncoderDecoderLm(model, sources, useCache)) {
                raw = Decoder.sampleOrGreedy(lm, Arrays.asList(lm.startPrompts()), opts);
            }
        }
        List<long[]> out = new ArrayList<>();
        for (long[] r : raw) {
            int n = 0;
            while (n < r.length && r[n] != opts.eosTokenId) n++;
            out.add(Arrays.copyOf(r, n));
        }
        return out;
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
