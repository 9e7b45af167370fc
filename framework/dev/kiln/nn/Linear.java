package dev.kiln.nn;

import ai.djl.ndarray.NDArray;

/** {@code torch.nn.Linear}: weight (out, in), y = x Wᵀ + b. BERT's dense layers. */
public final class Linear extends Module {
    public final String weight;
    public final String bias;

    public Linear(Parameters params, String prefix, long in, long out, boolean withBias) {
        super(params, prefix);
        weight = param("weight", Parameters.Init.NORMAL, out, in);
        bias = withBias ? param("bias", Parameters.Init.ZEROS, out) : null;
    }

    public NDArray forward(NDArray x) {
        return ai.djl.nn.core.Linear.linear(x, p(weight), bias == null ? null : p(bias)).singletonOrThrow();
    }
}
