package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;

import java.util.Map;

/**
 * Updates parameters in place from their gradients.
 *
 * <p>Call {@link #step} after the GradientCollector is closed: PyTorch refuses in-place writes to
 * leaves that require grad while grad mode is on. Only the parameters named in {@code grads} are
 * touched, so frozen parameters are simply left out of the map.
 */
public interface Optimizer extends AutoCloseable {

    /**
     * One update. {@code grads} must have each parameter's shape and dtype; they are read, never
     * modified. Temporaries live in a sub-manager closed before returning.
     */
    void step(Parameters params, Map<String, NDArray> grads, float lr);

    /** Completed {@link #step} calls; the learning-rate schedule is indexed by this. */
    long stepCount();

    /** Host copies of everything an exact resume needs (moments, step counters). */
    Map<String, HostTensor> state();

    /** Replaces all state with {@code state} (as returned by {@link #state}); arrays are made lazily on the next step. */
    void loadState(Map<String, HostTensor> state);

    /** Frees the state arrays. */
    @Override
    void close();
}
