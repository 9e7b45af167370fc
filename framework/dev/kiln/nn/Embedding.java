package dev.kiln.nn;

import ai.djl.ndarray.NDArray;

/** A lookup table (num, dim); rows are gathered by integer ids. */
public final class Embedding extends Module {
    public final String weight;
    public final long num;
    public final long dim;

    public Embedding(Module parent, String name, long num, long dim) {
        super(parent, name);
        weight = param("weight", Parameters.Init.NORMAL, num, dim);
        this.num = num;
        this.dim = dim;
    }

    public NDArray forward(NDArray ids) {
        return ai.djl.nn.core.Embedding.embedding(ids, p(weight), ai.djl.ndarray.types.SparseFormat.DENSE).singletonOrThrow();
    }

    public NDArray table() {
        return p(weight);
    }
}
