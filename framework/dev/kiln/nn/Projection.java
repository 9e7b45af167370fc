package dev.kiln.nn;

import ai.djl.ndarray.NDArray;

/** y = f(x) over the last axis: what a {@link ProjectionModule} computes, and what a wrapper returns. */
@FunctionalInterface
public interface Projection {
    NDArray forward(NDArray x);
}
