package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-parameter state arrays under keys {@code slot/name}, plus the global step counter.
 *
 * <p>The state lives in a sub-manager of the parameters' manager (same device, freed with the
 * optimizer). Loaded state stays on the host until a step sees its parameter, because only then are
 * the device and dtype known.
 */
abstract class StatefulOptimizer implements Optimizer {
    static final String STEP = "step";

    private final List<String> slots;
    private final LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();
    private final LinkedHashMap<String, HostTensor> pending = new LinkedHashMap<>();
    /** Per-parameter update counts (PyTorch keeps one per parameter; AdamW's bias correction uses it). */
    protected final LinkedHashMap<String, Long> paramSteps = new LinkedHashMap<>();
    private final boolean keepsParamSteps;
    private NDManager owner;
    private NDManager stateManager;
    protected long steps;

    StatefulOptimizer(boolean keepsParamSteps, String... slots) {
        this.keepsParamSteps = keepsParamSteps;
        this.slots = List.of(slots);
    }

    @Override
    public long stepCount() {
        return steps;
    }

    /** The state manager, created on first use; one optimizer serves one parameter store. */
    protected NDManager bind(Parameters params) {
        if (stateManager == null) {
            owner = params.manager();
            stateManager = owner.newSubManager();
        } else if (owner != params.manager()) {
            throw new IllegalStateException("this optimizer already holds state for another parameter store");
        }
        return stateManager;
    }

    /** The state array for {@code slot} of {@code param}, or null when there is none yet. */
    protected NDArray get(String slot, String name, NDArray param) {
        String key = slot + "/" + name;
        NDArray a = arrays.get(key);
        if (a != null) return a;
        HostTensor t = pending.remove(key);
        if (t == null) return null;
        if (!Arrays.equals(t.shape(), param.getShape().getShape())) {
            throw new IllegalArgumentException("optimizer state " + key + " has shape " + Arrays.toString(t.shape())
                    + " but parameter " + name + " is " + param.getShape());
        }
        a = t.toNDArray(stateManager, true);
        if (a.getDataType() != param.getDataType()) {
            NDArray c = a.toType(param.getDataType(), true);
            a.close();
            a = c;
        }
        arrays.put(key, a);
        return a;
    }

    /** Registers a new state array (it must belong to the state manager). */
    protected void put(String slot, String name, NDArray a) {
        arrays.put(slot + "/" + name, a);
    }

    /** Zeros shaped like {@code param}, in the state manager. */
    protected NDArray zerosLike(NDArray param) {
        return stateManager.zeros(param.getShape(), param.getDataType());
    }

    static void checkGrad(String name, NDArray p, NDArray g) {
        if (!p.getShape().equals(g.getShape()) || p.getDataType() != g.getDataType()) {
            throw new IllegalArgumentException("gradient for " + name + " is " + g.getDataType() + g.getShape()
                    + " but the parameter is " + p.getDataType() + p.getShape());
        }
    }

    @Override
    public Map<String, HostTensor> state() {
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        out.put(STEP, i64(steps));
        for (Map.Entry<String, Long> e : paramSteps.entrySet()) out.put(STEP + "/" + e.getKey(), i64(e.getValue()));
        for (Map.Entry<String, NDArray> e : arrays.entrySet()) out.put(e.getKey(), HostTensor.of(e.getValue()));
        out.putAll(pending);
        return out;
    }

    @Override
    public void loadState(Map<String, HostTensor> state) {
        HostTensor s = state.get(STEP);
        if (s == null) throw new IllegalArgumentException("optimizer state has no '" + STEP + "' entry");
        Map<String, HostTensor> slotted = new HashMap<>();
        Map<String, Long> counts = new HashMap<>();
        for (Map.Entry<String, HostTensor> e : state.entrySet()) {
            String k = e.getKey();
            if (k.equals(STEP)) continue;
            int slash = k.indexOf('/');
            String slot = slash < 0 ? k : k.substring(0, slash);
            if (slash > 0 && slot.equals(STEP) && keepsParamSteps) {
                counts.put(k.substring(slash + 1), readI64(e.getValue(), k));
            } else if (slash > 0 && slots.contains(slot)) {
                slotted.put(k, e.getValue());
            } else {
                throw new IllegalArgumentException("optimizer state entry '" + k + "' is not one of "
                        + getClass().getSimpleName() + "'s (" + slots + (keepsParamSteps ? ", step/<name>" : "")
                        + "): state from a different optimizer?");
            }
        }
        for (NDArray a : arrays.values()) a.close();
        arrays.clear();
        pending.clear();
        pending.putAll(slotted);
        paramSteps.clear();
        paramSteps.putAll(counts);
        steps = readI64(s, STEP);
    }

    @Override
    public void close() {
        arrays.clear();
        pending.clear();
        if (stateManager != null) stateManager.close();
        stateManager = null;
        owner = null;
    }

    static HostTensor i64(long v) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v);
        return new HostTensor(HostTensor.DType.I64, new long[0], b);
    }

    static long readI64(HostTensor t, String key) {
        if (t.dtype() != HostTensor.DType.I64 || t.numel() != 1) {
            throw new IllegalArgumentException("state entry " + key + " should be one I64, is " + t);
        }
        return t.bytes().getLong(0);
    }

    static HostTensor f64(double v) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(0, v);
        return new HostTensor(HostTensor.DType.F64, new long[0], b);
    }

    static double readF64(HostTensor t, String key) {
        if (t.dtype() != HostTensor.DType.F64 || t.numel() != 1) {
            throw new IllegalArgumentException("state entry " + key + " should be one F64, is " + t);
        }
        return t.bytes().getDouble(0);
    }

    /**
     * 0-d scalars for one step, one per (value, dtype), made once: an op with a Java Number allocates
     * a fresh scalar on every call, and a float32 scalar would round values meant for float64 tensors.
     */
    static final class Scalars {
        private final NDManager manager;
        private final Map<String, NDArray> cache = new HashMap<>();

        Scalars(NDManager manager) {
            this.manager = manager;
        }

        NDArray of(double v, DataType type) {
            String key = type.name() + ':' + Double.doubleToLongBits(v);
            NDArray s = cache.get(key);
            if (s == null) {
                s = manager.create(v);
                if (type != DataType.FLOAT64) s = s.toType(type, false);
                cache.put(key, s);
            }
            return s;
        }
    }

    /** Moves {@code a} (an op result that landed in a long-lived manager) into {@code m}. */
    static NDArray in(NDManager m, NDArray a) {
        a.attach(m);
        return a;
    }
}
