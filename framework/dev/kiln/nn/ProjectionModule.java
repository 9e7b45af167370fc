package dev.kiln.nn;

import ai.djl.ndarray.NDArray;

/**
 * A learned projection (in → out features) that can be wrapped in place: {@link #forward} runs
 * {@link #current()}, which starts as the module's own computation ({@link #project}) and is replaced by
 * {@link Module#wrap}. The module stays in the tree under its path, keeping its parameters, so a wrapper
 * (an adapter, a quantizer, a probe) needs no edit to the model that owns it.
 */
public abstract class ProjectionModule extends Module implements Projection {
    private final long in;
    private final long out;
    private Projection current = this::project;
    private boolean wrapped;

    protected ProjectionModule(Module parent, String name, long in, long out) {
        super(parent, name);
        this.in = in;
        this.out = out;
    }

    public long inFeatures() {
        return in;
    }

    public long outFeatures() {
        return out;
    }

    /** The unwrapped computation on this module's own parameters. */
    public abstract NDArray project(NDArray x);

    /** What {@link #forward} runs now: {@link #project} until wrapped, then the latest wrapper. */
    public Projection current() {
        return current;
    }

    public boolean isWrapped() {
        return wrapped;
    }

    void setCurrent(Projection p) {
        current = p;
        wrapped = true;
    }

    @Override
    public final NDArray forward(NDArray x) {
        return current.forward(x);
    }

    /** The key of the weight that {@link #project} multiplies by. */
    public abstract String weightKey();
}
