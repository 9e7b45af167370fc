package dev.kiln.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

/** Sentence vectors from token states [B, T, H]. */
public final class Pooling {
    private Pooling() {}

    /** Mean over real tokens only (padding excluded), as sentence-transformers does. */
    public static NDArray mean(NDArray hidden, NDArray attentionMask) {
        NDArray m = attentionMask.toType(hidden.getDataType(), false).expandDims(2);
        NDArray sum = hidden.mul(m).sum(new int[] {1});
        NDArray count = m.sum(new int[] {1}).maximum(1e-9f);
        return sum.div(count);
    }

    /** The first token's state ([CLS] for BERT). */
    public static NDArray cls(NDArray hidden) {
        return hidden.get(new NDIndex(":, 0, :"));
    }

    /** The state of each row's last real token (GPT-style classification with right padding). */
    public static NDArray lastToken(NDArray hidden, NDArray attentionMask) {
        NDArray last = attentionMask.sum(new int[] {1}).sub(1).toType(ai.djl.ndarray.types.DataType.INT64, false);
        long b = hidden.getShape().get(0);
        NDArray rows = hidden.getManager().arange(0, b, 1, ai.djl.ndarray.types.DataType.INT64, hidden.getDevice());
        return hidden.get(new NDIndex("{}, {}", rows, last));
    }

    /**
     * The states at chosen (row, position) pairs, [N, H]: the [CLS] of every sentence (extractive
     * summarization) or the positions that carry a loss (summary tokens), so heads and the vocabulary
     * projection run on those rows only. The index arrays are made in {@code m} (the step's manager).
     */
    public static NDArray at(ai.djl.ndarray.NDManager m, NDArray hidden, long[] rows, long[] positions) {
        return hidden.get(new NDIndex("{}, {}", m.create(rows).toDevice(hidden.getDevice(), false),
                m.create(positions).toDevice(hidden.getDevice(), false)));
    }

    /** Rows scaled to unit L2 norm. */
    public static NDArray l2Normalize(NDArray x) {
        return x.div(x.norm(new int[] {-1}, true).maximum(Functional.scalar(x, 1e-12f)));
    }
}
