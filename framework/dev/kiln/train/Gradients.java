package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.kiln.nn.Parameters;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/** Reading and resetting the gradients that DJL's backward accumulates on parameters. */
public final class Gradients {
    private static final NDIndex ALL = new NDIndex("...");

    private Gradients() {}

    /** requiresGradient on the trainable parameters, off on the rest (call again after {@link Parameters#castAll}). */
    public static void require(Parameters params, Predicate<String> trainable) {
        for (Map.Entry<String, NDArray> e : params.all().entrySet()) {
            e.getValue().setRequiresGradient(trainable.test(e.getKey()));
        }
    }

    /**
     * The gradient of each trainable parameter, by name. Each {@code getGradient()} wrapper would
     * otherwise stay in the parameter's manager for good, so it is moved into {@code scope} (a
     * per-step manager). The wrappers share storage with the accumulated gradients: in-place ops on
     * them (clipping, {@link #zero}) act on the real thing.
     */
    public static Map<String, NDArray> collect(Parameters params, Predicate<String> trainable, NDManager scope) {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : params.all().entrySet()) {
            if (!trainable.test(e.getKey())) continue;
            NDArray g = e.getValue().getGradient();
            g.attach(scope);
            out.put(e.getKey(), g);
        }
        return out;
    }

    /**
     * Fills the gradients with 0 for the next accumulation. A copy of a 0-d zero, not {@code subi}
     * or {@code muli(0)}: after an fp16 overflow they hold inf, and inf-inf or inf·0 is NaN forever.
     */
    public static void zero(Map<String, NDArray> grads) {
        if (grads.isEmpty()) return;
        try (NDManager tmp = grads.values().iterator().next().getManager().newSubManager()) {
            Map<ai.djl.ndarray.types.DataType, NDArray> zeros = new HashMap<>();
            for (NDArray g : grads.values()) {
                NDArray z = zeros.computeIfAbsent(g.getDataType(), t -> tmp.zeros(new Shape(), t));
                g.set(ALL, z);
            }
        }
    }
}
