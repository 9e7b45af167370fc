package dev.kiln.nn;

import ai.djl.ndarray.NDArray;

/**
 * GPT-2's {@code Conv1D}: a linear layer whose weight is stored (in, out), y = x W + b. Keeping the
 * checkpoint layout means GPT-2 weights load without a transpose and export byte-for-byte.
 */
public final class Conv1D extends ProjectionModule {
    public final String weight;
    public final String bias;

    public Conv1D(Module parent, String name, long in, long out) {
        super(parent, name, in, out);
        weight = param("weight", Parameters.Init.NORMAL, in, out);
        bias = param("bias", Parameters.Init.ZEROS, out);
    }

    @Override
    public NDArray project(NDArray x) {
        return x.matMul(p(weight)).addi(p(bias));
    }

    @Override
    public String weightKey() {
        return weight;
    }
}
