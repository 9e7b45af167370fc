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

    /** One vector per text; texts are batched with padding (which does not change the result). */
    public static float[][] encode(BertModel bert, Tokenizer tok, List<String> texts, Pool pool, boolean normalize) {
        int maxLen = bert.config.maxPositionEmbeddings;
        Batch b = tok.encodeBatch(texts, maxLen);
        try (NDManager m = bert.params.manager().newSubManager()) {
            NDArray ids = m.create(b.ids());
            NDArray mask = m.create(b.attentionMask());
            NDArray types = m.create(b.typeIds());
            NDArray h = bert.forward(ids, types, mask, false).lastHiddenState;
            NDArray v = pool == Pool.MEAN ? Pooling.mean(h, mask) : Pooling.cls(h);
            if (normalize) v = Pooling.l2Normalize(v);
            int dim = (int) v.getShape().get(1);
            float[] flat = v.toFloatArray();
            float[][] out = new float[texts.size()][dim];
            for (int i = 0; i < out.length; i++) System.arraycopy(flat, i * dim, out[i], 0, dim);
            return out;
        }
    }
}
