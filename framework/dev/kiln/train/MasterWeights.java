package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * fp32 master copies of half-precision compute parameters ({@code fp16-mixed}).
 *
 * <p>The optimizer updates the masters; the compute parameters only ever receive a rounded copy.
 * Without masters an update smaller than half an fp16 ulp of the weight (lr·update ≪ |w|·2⁻¹¹,
 * the usual case late in training) would round away every step instead of accumulating.
 * Masters exist for the parameters that train only: a frozen parameter never changes, so its fp16
 * copy (the rounding of the weights it was loaded with) is all training needs, and a PEFT run's
 * checkpoints stay the size of its adapter instead of holding an fp32 copy of the whole base.
 */
public final class MasterWeights implements AutoCloseable {
    private static final NDIndex ALL = new NDIndex("...");

    private final Parameters compute;
    private final Parameters masters;

    private MasterWeights(Parameters compute, Parameters masters) {
        this.compute = compute;
        this.masters = masters;
    }

    /** As {@link #castForCompute(Parameters, DataType, Predicate)} with a master for every parameter. */
    public static MasterWeights castForCompute(Parameters params, DataType computeType) {
        return castForCompute(params, computeType, name -> true);
    }

    /**
     * Copies each parameter that {@code trainable} accepts into an fp32 master, then casts all of {@code params}
     * to {@code computeType} ({@link Parameters#castAll}, which replaces the arrays: set requiresGradient afterwards).
     */
    public static MasterWeights castForCompute(Parameters params, DataType computeType, Predicate<String> trainable) {
        Parameters m = new Parameters(params.manager().newSubManager(), 0, 0);
        for (Map.Entry<String, NDArray> e : params.all().entrySet()) {
            if (!trainable.test(e.getKey())) continue;
            NDArray p = e.getValue();
            NDArray master = m.create(e.getKey(), Parameters.Init.ZEROS, p.getShape().getShape());
            master.set(ALL, p); // device-side copy, widening if the source is already half
        }
        params.castAll(computeType);
        return new MasterWeights(params, m);
    }

    /** The fp32 masters, under the same names: give these to the optimizer. */
    public Parameters masters() {
        return masters;
    }

    public Parameters compute() {
        return compute;
    }

    /**
     * fp32 gradients {@code g / scale} in {@code scope} (a per-step manager) for the masters' update.
     * Non-finite values pass through; check the global norm before stepping.
     */
    public Map<String, NDArray> unscale(Map<String, NDArray> computeGrads, double scale, NDManager scope) {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        NDArray inv = null;
        for (Map.Entry<String, NDArray> e : computeGrads.entrySet()) {
            NDArray g = e.getValue();
            NDArray g32 = g.toType(DataType.FLOAT32, true);
            g32.attach(scope);
            if (inv == null) inv = scope.create((float) (1.0 / scale)); // exact: scales are powers of two
            g32.muli(inv);
            out.put(e.getKey(), g32);
        }
        return out;
    }

    /** Rounds the named masters into their compute parameters, in place (same arrays, same grads). */
    public void copyToCompute(Iterable<String> names) {
        for (String n : names) compute.get(n).set(ALL, masters.get(n));
    }

    /** Rounds every master into its compute parameter. */
    public void copyAllToCompute() {
        copyToCompute(masters.all().keySet());
    }

    /** The fp32 weights of the trainable parameters, for the checkpoint. */
    public LinkedHashMap<String, HostTensor> stateDict() {
        return masters.stateDict();
    }

    /**
     * Loads fp32 weights (e.g. a checkpoint written from {@link #stateDict}) into the masters and the compute copies;
     * entries for parameters without a master (frozen ones, which older checkpoints also held) are left out.
     */
    public Parameters.LoadReport load(Map<String, HostTensor> tensors) {
        Parameters.LoadReport r = masters.load(tensors, k -> k);
        copyAllToCompute();
        return r;
    }

    /** Frees the masters (the compute parameters stay with their owner). */
    @Override
    public void close() {
        masters.close();
    }
}
