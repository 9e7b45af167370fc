package dev.kiln.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.kiln.nn.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * {@code torch.optim.AdamW} (amsgrad off): decoupled decay {@code p -= lr·wd·p}, then
 * {@code m = β1·m + (1-β1)·g}, {@code v = β2·v + (1-β2)·g²},
 * {@code p -= lr/(1-β1ᵗ) · m / (sqrt(v)/sqrt(1-β2ᵗ) + eps)} with a per-parameter step t.
 *
 * <p>DJL's built-in AdamW puts eps on sqrt(v) instead and decays every parameter; this one matches
 * PyTorch and skips decay where {@link #noDecay} says (by default biases and LayerNorm weights, as the
 * HF Trainer does). Everything is updated in place with two live temporaries per tensor at most.
 */
public final class AdamW extends StatefulOptimizer {
    static final String EXP_AVG = "exp_avg";
    static final String EXP_AVG_SQ = "exp_avg_sq";

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final Predicate<String> noDecay;
    /**
     * Tensors larger than this many elements are updated slice by slice (whole rows) on the CPU: the update is a dozen
     * element-wise passes, memory-bound on a large tensor, and a slice of 64K floats (256 KiB per operand) keeps
     * them in cache. all-MiniLM-L6-v2, one thread (bench-throughput part o, three runs at different loads):
     * 110, 153 and 380 ms per step whole, 53, 108 and 149 ms sliced.
     */
    static final long SLICE = 65_536;
    long slice = SLICE; // smaller in tests

    public AdamW(double beta1, double beta2, double eps, double weightDecay, Predicate<String> noDecay) {
        super(true, EXP_AVG, EXP_AVG_SQ);
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(eps >= 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("AdamW eps and weight_decay must be >= 0, got " + eps + ", " + weightDecay);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.noDecay = noDecay;
    }

    /** HF Trainer defaults: betas (0.9, 0.999), eps 1e-8, the default no-decay rule. */
    public AdamW(double weightDecay) {
        this(0.9, 0.999, 1e-8, weightDecay, AdamW::defaultNoDecay);
    }

    /**
     * The name rule for an optimizer used without a model (the convenience constructors, tests): biases
     * ({@code *.bias}) and LayerNorm weights, a {@code LayerNorm} name segment (HF BERT) or one starting with
     * {@code ln_} (GPT-2's ln_1, ln_2, ln_f). The trainer does not use it: it takes nanoGPT's rule from the
     * module tree ({@link dev.kiln.nn.Module#decayGroups()}), which gives the same groups on BERT and GPT-2.
     */
    public static boolean defaultNoDecay(String name) {
        if (name.equals("bias") || name.endsWith(".bias")) return true;
        for (String seg : name.split("\\.")) {
            if (seg.equals("LayerNorm") || seg.startsWith("ln_")) return true;
        }
        return false;
    }

    public boolean decays(String name) {
        return weightDecay != 0 && !noDecay.test(name);
    }

    @Override
    public void step(Parameters params, Map<String, NDArray> grads, float lr) {
        bind(params);
        try (NDManager stepScope = params.manager().newSubManager()) {
            Scalars s = new Scalars(stepScope);
            // validate (and materialise loaded state) before touching anything: a bad entry must not leave a half-applied step
            List<NDArray[]> work = new ArrayList<>(grads.size());
            for (Map.Entry<String, NDArray> e : grads.entrySet()) {
                String name = e.getKey();
                NDArray g = e.getValue();
                NDArray p = params.get(name);
                checkGrad(name, p, g);
                if (p.getDataType() == DataType.FLOAT16) {
                    // eps 1e-8 underflows to 0 in fp16 and v's tiny values with it: NaN within steps
                    throw new IllegalArgumentException("AdamW on fp16 parameter " + name
                            + ": step fp32 master weights instead (MasterWeights, fp16-mixed)");
                }
                NDArray m = get(EXP_AVG, name, p);
                NDArray v = get(EXP_AVG_SQ, name, p);
                if (m == null) put(EXP_AVG, name, m = zerosLike(p));
                if (v == null) put(EXP_AVG_SQ, name, v = zerosLike(p));
                work.add(new NDArray[] {p, g, m, v});
            }
            int i = 0;
            for (String name : grads.keySet()) {
                NDArray[] w = work.get(i++);
                long t = paramSteps.merge(name, 1L, Long::sum);
                boolean decay = lr != 0 && decays(name);
                long rows = w[0].getShape().dimension() == 0 ? 1 : w[0].getShape().get(0);
                long rowsPerSlice = Math.max(1, slice / Math.max(1, w[0].size() / Math.max(1, rows)));
                // on a GPU the whole-tensor ops are bandwidth-bound already, and slices would multiply kernel launches
                if (w[0].size() <= slice || rows <= rowsPerSlice || !w[0].getDevice().getDeviceType().equals(Device.Type.CPU)) {
                    update(w[0], w[1], w[2], w[3], t, lr, decay, s, stepScope);
                    continue;
                }
                // Slices of whole rows: split along axis 0 gives views (whatever the layout), so the in-place ops below
                // write through, and each slice's dozen passes run in cache instead of streaming the tensor from memory
                // a dozen times. Element-wise ops on slices give the same bits as on the whole tensor.
                try (NDManager views = stepScope.newSubManager()) {
                    long[] cuts = new long[(int) ((rows - 1) / rowsPerSlice)];
                    for (int c = 0; c < cuts.length; c++) cuts[c] = (c + 1) * rowsPerSlice;
                    NDList[] parts = new NDList[4];
                    for (int k = 0; k < 4; k++) {
                        parts[k] = w[k].split(cuts, 0);
                        parts[k].attach(views); // split's results land in the operand's (long-lived) manager
                    }
                    for (int c = 0; c < parts[0].size(); c++) {
                        update(parts[0].get(c), parts[1].get(c), parts[2].get(c), parts[3].get(c), t, lr, decay, s, views);
                    }
                }
            }
            steps++;
        }
    }

    /** One parameter's (or one slice's) update in place: decay, both moments, the step; t is its step count. */
    private void update(NDArray p, NDArray g, NDArray m, NDArray v, long t, float lr, boolean decay, Scalars s, NDManager scope) {
        DataType dt = p.getDataType();
        if (decay) p.muli(s.of(1 - (double) lr * weightDecay, dt));

        // m = (β1/(1-β1)·m + g)·(1-β1): β1·m + (1-β1)·g up to rounding, with no full-size temporary
        m.muli(s.of(beta1 / (1 - beta1), dt)).addi(g).muli(s.of(1 - beta1, dt));

        try (NDManager tmp = scope.newSubManager()) {
            NDArray g2 = in(tmp, g.mul(g));
            v.muli(s.of(beta2, dt)).addi(g2.muli(s.of(1 - beta2, dt)));
            g2.close();
            if (lr == 0) return; // warmup's first step: moments advance, weights stay

            double bc1 = 1 - Math.pow(beta1, t);
            double bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
            NDArray denom = in(tmp, v.sqrt());
            denom.divi(s.of(bc2Sqrt, dt)).addi(s.of(eps, dt));
            NDArray upd = in(tmp, m.div(denom));
            denom.close();
            p.subi(upd.muli(s.of(lr / bc1, dt)));
        }
    }
}
