package dev.kiln.inference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.models.bert.BertModel;
import dev.kiln.nn.Pooling;
import dev.kiln.text.Batch;
import dev.kiln.text.Tokenizer;

import java.util.List;

/** Sentence embeddings from a BERT encoder: mean or [CLS] pooling, optionally L2-normalised. */
public final class SentenceEncoder {
    private SentenceEncoder() {}

    public enum Pool { MEAN, CLS }

    /** One vector per text, in batches of {@link LengthBatches#DEFAULT_SIZE} texts of similar length. */
    public static float[][] encode(BertModel bert, Tokenizer tok, List<String> texts, Pool pool, boolean normalize) {
        return encode(bert, tok, texts, pool, normalize, LengthBatches.DEFAULT_SIZE, true);
    }

    /**
     * One vector per text, in input order. {@code sort}: batch texts of similar length together (less padding,
     * same vectors: padding is masked out of attention and pooling); false keeps input order in the batches.
     */
    public static float[][] encode(BertModel bert, Tokenizer tok, List<String> texts, Pool pool, boolean normalize,
                                   int batchSize, boolean sort) {
        int maxLen = bert.config.maxPositionEmbeddings;
        float[][] out = new float[texts.size()][];
        // tokenised a chunk at a time, so a long input list holds one chunk's padded arrays, not all of them
        int chunk = Math.max(batchSize, 4096);
        for (int c = 0; c < texts.size(); c += chunk) {
            Batch b = tok.encodeBatch(texts.subList(c, Math.min(texts.size(), c + chunk)), maxLen);
            for (int[] rows : LengthBatches.batches(b.lengths(), batchSize, sort)) {
                float[][] v = forward(bert, b, rows, pool, normalize);
                for (int k = 0; k < rows.length; k++) out[c + rows[k]] = v[k];
            }
        }
        return out;
    }

    private static float[][] forward(BertModel bert, Batch b, int[] rows, Pool pool, boolean normalize) {
        int w = 0;
        for (int r : rows) w = Math.max(w, b.lengths()[r]);
        long[][] ids = new long[rows.length][], att = new long[rows.length][], types = new long[rows.length][];
        for (int k = 0; k < rows.length; k++) {
            ids[k] = java.util.Arrays.copyOf(b.ids()[rows[k]], w);
            att[k] = java.util.Arrays.copyOf(b.attentionMask()[rows[k]], w);
            types[k] = java.util.Arrays.copyOf(b.typeIds()[rows[k]], w);
        }
        try (dev.kiln.nn.NoGrad g = dev.kiln.nn.NoGrad.scope(); NDManager m = bert.params.manager().newSubManager()) {
            NDArray mask = m.create(att);
            NDArray h = bert.forward(m.create(ids), m.create(types), mask, false).lastHiddenState;
            NDArray v = pool == Pool.MEAN ? Pooling.mean(h, mask) : Pooling.cls(h);
            if (normalize) v = Pooling.l2Normalize(v);
            int dim = (int) v.getShape().get(1);
            float[] flat = v.toFloatArray();
            float[][] out = new float[rows.length][dim];
            for (int i = 0; i < rows.length; i++) System.arraycopy(flat, i * dim, out[i], 0, dim);
            return out;
        }
    }
}
