package dev.kiln.util;

/**
 * libtorch's intra-op thread count ({@code training.threads}, {@code --threads N}). The default is libtorch's own:
 * one thread per core. On cores that other processes keep busy, fewer threads are faster: libtorch's OpenMP
 * threads spin at each barrier waiting for the slowest one (README, "Threads").
 */
public final class Threads {
    private Threads() {}

    /** Sets the intra-op threads of this JVM's libtorch (loads the engine first). */
    public static void set(int n) {
        if (n < 1) throw new IllegalArgumentException("threads must be at least 1, got " + n);
        ai.djl.engine.Engine.getInstance();
        ai.djl.pytorch.jni.JniUtils.setNumThreads(n);
    }

    /** The intra-op threads libtorch uses now. */
    public static int current() {
        ai.djl.engine.Engine.getInstance();
        return ai.djl.pytorch.jni.JniUtils.getNumThreads();
    }
}
