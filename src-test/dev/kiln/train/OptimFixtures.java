package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.kiln.nn.Parameters;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Small parameter stores and gradients for the optimizer tests. */
final class OptimFixtures {
    private OptimFixtures() {}

    /** A store holding {@code names[i]} with {@code shapes[i]}, values from {@code seed}, cast to {@code type}. */
    static Parameters params(NDManager root, DataType type, long seed, String[] names, long[][] shapes) {
        Parameters p = new Parameters(root.newSubManager(), seed, 0.5f);
        for (int i = 0; i < names.length; i++) p.create(names[i], Parameters.Init.NORMAL, shapes[i]);
        p.castAll(type);
        return p;
    }

    /** Deterministic gradients for {@code step}, in {@code scope}, in the parameters' dtype; some tiny, most O(1). */
    static Map<String, NDArray> grads(Parameters params, NDManager scope, long seed, int step) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        SplittableRandom r = new SplittableRandom(seed * 7919 + step);
        for (Map.Entry<String, NDArray> e : params.all().entrySet()) {
            NDArray p = e.getValue();
            double[] g = new double[Math.toIntExact(p.size())];
            for (int i = 0; i < g.length; i++) g[i] = r.nextGaussian() * (i % 3 == 0 ? 1e-3 : 1.0);
            out.put(e.getKey(), scope.create(g, p.getShape()).toType(p.getDataType(), false));
        }
        return out;
    }

    static double[] f64(NDArray a) {
        return a.toType(DataType.FLOAT64, false).toDoubleArray();
    }
}
