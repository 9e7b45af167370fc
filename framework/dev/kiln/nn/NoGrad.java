package dev.kiln.nn;

import ai.djl.pytorch.jni.JniUtils;

/**
 * Gradient recording off on this thread until closed, then as it was. libtorch's grad mode is per thread and on by
 * default: DJL turns it off only on the thread that loads the engine, so inference called from any other thread (a
 * benchmark's, a server's, a Spark task's) recorded an autograd graph and missed the inference paths
 * ({@link Functional#inference}): MiniLM embeddings ran at half speed that way.
 */
public final class NoGrad implements AutoCloseable {
    private final boolean was;

    private NoGrad() {
        was = JniUtils.isGradMode();
        if (was) JniUtils.setGradMode(false);
    }

    /** {@code try (NoGrad g = NoGrad.scope()) { ...forward passes... }} */
    public static NoGrad scope() {
        return new NoGrad();
    }

    @Override
    public void close() {
        if (was) JniUtils.setGradMode(true);
    }
}
