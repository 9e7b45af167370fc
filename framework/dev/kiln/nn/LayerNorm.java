package dev.kiln.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** LayerNorm over the last axis only (DJL's block normalises all non-batch axes by default). */
public final class LayerNorm extends Module {
    public final String weight;
    public final String bias;
    private final Shape normalized;
    private final float eps;

    public LayerNorm(Module parent, String name, long size, float eps) {
        super(parent, name);
        weight = param("weight", Parameters.Init.ONES, size);
        bias = param("bias", Parameters.Init.ZEROS, size);
        normalized = new Shape(size);
        this.eps = eps;
    }

    public NDArray forward(NDArray x) {
        return ai.djl.nn.norm.LayerNorm.layerNorm(x, normalized, p(weight), p(bias), eps).singletonOrThrow();
    }
}
