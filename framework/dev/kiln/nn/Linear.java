package dev.kiln.nn;

import ai.djl.ndarray.NDArray;

/** {@code torch.nn.Linear}: weight (out, in), y = x Wᵀ + b. BERT's dense layers. */
public final class Linear extends ProjectionModule {
    public final String weight;
    public final String bias;

    public Linear(Module parent, String name, long in, long out, boolean withBias) {
        super(parent, name, in, out);
        weight = param("weight", Parameters.Init.NORMAL, out, in);
        bias = withBias ? param("bias", Parameters.Init.ZEROS, out) : null;
    }

    @Override
    public NDArray project(NDArray x) {
        return ai.djl.nn.core.Linear.linear(x, p(weight), bias == null ? null : p(bias)).singletonOrThrow();
    }

    @Override
    public String weightKey() {
        return weight;
    }
}
