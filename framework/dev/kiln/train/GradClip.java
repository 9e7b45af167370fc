package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import java.util.Map;

/** Global L2-norm clipping, {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradClip {
    private GradClip() {}

    /**
     * The L2 norm over all gradients together: per-tensor norms (half types widened to float32 first,
     * so they cannot overflow), combined in float64, one host sync. NaN or infinite when any element is.
     */
    public static double globalNorm(Map<String, NDArray> grads) {
        if (grads.isEmpty()) return 0;
        NDArray first = grads.values().iterator().next();
        try (NDManager tmp = first.getManager().newSubManager()) {
            NDList norms = new NDList(grads.size());
            for (NDArray g : grads.values()) {
                NDArray x = g;
                if (g.getDataType() == DataType.FLOAT16) x = StatefulOptimizer.in(tmp, g.toType(DataType.FLOAT32, true));
                NDArray n = StatefulOptimizer.in(tmp, x.norm());
                norms.add(n.getDataType() == DataType.FLOAT64 ? n : n.toType(DataType.FLOAT64, false));
            }
            NDArray all = StatefulOptimizer.in(tmp, NDArrays.stack(norms));
            return StatefulOptimizer.in(tmp, all.norm()).getDouble();
        }
    }

    /**
     * Returns the pre-clip global norm and, when it is finite and {@code maxNorm/(norm+1e-6) < 1},
     * scales every gradient in place by that factor (PyTorch's rule; it multiplies by 1 otherwise).
     * A non-finite norm is returned untouched and nothing is scaled: the caller should skip the step.
     * {@code maxNorm <= 0} only measures.
     */
    public static double clipGlobalNorm(Map<String, NDArray> grads, float maxNorm) {
        double norm = globalNorm(grads);
        if (maxNorm > 0 && Double.isFinite(norm)) {
            double coef = maxNorm / (norm + 1e-6);
            if (coef < 1) scale(grads, coef);
        }
        return norm;
    }

    /** Multiplies every gradient in place by {@code factor}. */
    public static void scale(Map<String, NDArray> grads, double factor) {
        if (grads.isEmpty()) return;
        try (NDManager tmp = grads.values().iterator().next().getManager().newSubManager()) {
            StatefulOptimizer.Scalars s = new StatefulOptimizer.Scalars(tmp);
            for (NDArray g : grads.values()) g.muli(s.of(factor, g.getDataType()));
        }
    }
}
