package dev.kiln.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * A model's parameters by their HuggingFace checkpoint key, in creation order.
 *
 * <p>The arrays live in one long-lived manager on the model's device. Ops always take a step input
 * as their first operand, so results land in the caller's per-step manager, never here.
 * Initial values come from a seeded Java generator, so a fresh model is the same on every device.
 */
public final class Parameters implements AutoCloseable {

    /** How a new parameter is filled before any checkpoint is loaded. */
    public enum Init { NORMAL, ZEROS, ONES }

    private final NDManager manager;
    private final LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();
    private final SplittableRandom rng;
    private final float initStd;

    public Parameters(NDManager manager, long seed, float initStd) {
        this.manager = manager;
        this.rng = new SplittableRandom(seed);
        this.initStd = initStd;
    }

    public NDManager manager() {
        return manager;
    }

    /** Creates and registers {@code name}; names are unique. */
    public NDArray create(String name, Init init, long... shape) {
        if (arrays.containsKey(name)) throw new IllegalStateException("duplicate parameter " + name);
        Shape s = new Shape(shape);
        NDArray a;
        switch (init) {
            case ZEROS: a = manager.zeros(s); break;
            case ONES: a = manager.ones(s); break;
            default: {
                float[] v = new float[Math.toIntExact(s.size())];
                for (int i = 0; i < v.length; i++) v[i] = (float) (rng.nextGaussian() * initStd);
                a = manager.create(v, s);
            }
        }
        a.setName(name);
        arrays.put(name, a);
        return a;
    }

    public NDArray get(String name) {
        NDArray a = arrays.get(name);
        if (a == null) throw new IllegalArgumentException("no parameter " + name);
        return a;
    }

    public boolean has(String name) {
        return arrays.containsKey(name);
    }

    public Map<String, NDArray> all() {
        return Collections.unmodifiableMap(arrays);
    }

    public long count() {
        long n = 0;
        for (NDArray a : arrays.values()) n += a.size();
        return n;
    }

    /** What {@link #load} did: the checkpoint keys it could not use and the parameters it did not fill. */
    public static final class LoadReport {
        public final List<String> loaded = new ArrayList<>();
        public final List<String> missing = new ArrayList<>();
        public final List<String> unexpected = new ArrayList<>();

        public boolean complete() {
            return missing.isEmpty() && unexpected.isEmpty();
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("loaded " + loaded.size() + " tensors");
            if (!missing.isEmpty()) sb.append("; missing (left at initial values): ").append(summary(missing));
            if (!unexpected.isEmpty()) sb.append("; unexpected (ignored): ").append(summary(unexpected));
            return sb.toString();
        }

        /** The first few names, and the count when there are more: for one-line messages. */
        public static String summary(List<String> names) {
            if (names.size() <= 5) return String.join(", ", names);
            return String.join(", ", names.subList(0, 5)) + " … (" + names.size() + " in all)";
        }
    }

    /**
     * Copies checkpoint tensors into the parameters. {@code keyMap} turns a checkpoint key into a
     * parameter name, or null for keys that are known and deliberately skipped (tied weights, buffers).
     * A shape mismatch or a NaN/Inf value is an error naming the key: silently skipping it would
     * hide a wrong config, and a non-finite weight makes every output NaN.
     */
    public LoadReport load(Map<String, HostTensor> tensors, Function<String, String> keyMap) {
        LoadReport r = new LoadReport();
        java.util.Set<String> filled = new java.util.HashSet<>();
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            String name = keyMap.apply(e.getKey());
            if (name == null) continue;
            NDArray p = arrays.get(name);
            if (p == null) {
                r.unexpected.add(e.getKey());
                continue;
            }
            HostTensor t = e.getValue();
            if (!Arrays.equals(p.getShape().getShape(), t.shape())) {
                throw new IllegalArgumentException("checkpoint tensor " + e.getKey() + " has shape "
                        + Arrays.toString(t.shape()) + " but the model (from config.json) expects "
                        + p.getShape() + ": config.json and weights disagree");
            }
            try (NDManager tmp = manager.newSubManager()) {
                NDArray src = t.toNDArray(tmp);
                if (src.getDataType() != p.getDataType()) src = src.toType(p.getDataType(), false);
                if (src.getDataType().isFloating()) {
                    long bad = src.isNaN().logicalOr(src.isInfinite()).countNonzero().getLong();
                    if (bad > 0) {
                        throw new IllegalArgumentException("checkpoint tensor " + e.getKey() + " has " + bad + " NaN/Inf value"
                                + (bad == 1 ? "" : "s") + " (of " + src.size() + "): the weights are corrupt or come from a "
                                + "diverged run; use an earlier checkpoint");
                    }
                }
                p.set(src.toByteBuffer());
            }
            filled.add(name);
            r.loaded.add(e.getKey());
        }
        for (String n : arrays.keySet()) if (!filled.contains(n)) r.missing.add(n);
        return r;
    }

    /** Host copies of every parameter, under its name. */
    public LinkedHashMap<String, HostTensor> stateDict() {
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : arrays.entrySet()) out.put(e.getKey(), HostTensor.of(e.getValue()));
        return out;
    }

    /** Casts every parameter in place of its old array (used for fp16 compute copies). */
    public void castAll(DataType type) {
        for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
            NDArray old = e.getValue();
            if (old.getDataType() == type) continue;
            NDArray c = old.toType(type, true);
            c.setName(e.getKey());
            e.setValue(c);
            old.close();
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
