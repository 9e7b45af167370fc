package dev.kiln.peft;

import ai.djl.ndarray.NDArray;
import dev.kiln.nn.HostTensor;
import dev.kiln.train.StepHook;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdaLoRA's rank allocation (Zhang et al. 2023; HF PEFT's RankAllocator and {@code update_and_allocate}), run by
 * the trainer after each optimizer step ({@link StepHook}). Each parameter entry's sensitivity I = |w·∂L/∂w| is
 * smoothed (Ī ← β1 Ī + (1−β1) I) and its uncertainty tracked (Ū ← β2 Ū + (1−β2) |I − Ī|); a triplet i of a
 * projection (row i of A, λ_i, column i of B) scores s(λ_i) + mean_j s(A_ij) + mean_k s(B_ki) with s = Ī·Ū.
 * The total budget follows the paper's cubic schedule: b(t) = b_init for t ≤ tinit, then
 * ⌊(b_init − b_target)(1 − (t − tinit)/(T − tfinal − tinit))³ + b_target⌋, pruning every deltaT steps by zeroing
 * λ of all triplets that score at or below the k-th lowest, k = b_init − b(t); at t = T − tfinal the pattern is
 * fixed at b_target and re-applied every later step (the optimizer's momentum would otherwise revive λ).
 * Steps count from 0, as PEFT's examples pass them.
 *
 * <p>Sensitivities are computed on the host in float32: the LoRA tensors are small next to a training step.
 */
final class RankAllocator implements StepHook {
    private final PeftModel model;
    private final PeftSpec spec;
    private final long total;
    final int initBudget;
    final int targetBudget;
    private final Map<String, float[]> avgIpt = new LinkedHashMap<>();
    private final Map<String, float[]> avgUnc = new LinkedHashMap<>();

    RankAllocator(PeftModel model, long totalSteps) {
        this.model = model;
        this.spec = model.spec;
        this.total = totalSteps;
        List<AdaLoraLayer> layers = model.adaLoras;
        int init = 0;
        for (AdaLoraLayer l : layers) init += l.r;
        this.initBudget = init;
        this.targetBudget = spec.targetR * layers.size();
        if (spec.tinit >= totalSteps - spec.tfinal) {
            throw new IllegalArgumentException("peft.adalora: tinit (" + spec.tinit + ") and tfinal (" + spec.tfinal
                    + ") leave no budget phase in a run of " + totalSteps + " steps; lower them or train longer");
        }
    }

    /** The budget after step {@code t} and whether to prune at it (PEFT's budget_schedule). */
    long budget(long t) {
        if (t <= spec.tinit) return initBudget;
        if (t > total - spec.tfinal) return targetBudget;
        double mul = 1 - (double) (t - spec.tinit) / (total - spec.tfinal - spec.tinit);
        return (long) ((initBudget - targetBudget) * (mul * mul * mul) + targetBudget);
    }

    boolean pruneAt(long t) {
        if (t <= spec.tinit) return false;
        if (t > total - spec.tfinal) return true;
        return t % spec.deltaT == 0;
    }

    @Override
    public void afterStep(long step, Map<String, NDArray> weights, Map<String, NDArray> grads) {
        long fix = total - spec.tfinal;
        if (step < fix) {
            updateImportance(weights, grads);
            if (pruneAt(step)) maskToBudget(budget(step), weights);
        } else if (step == fix) {
            maskToBudget(budget(step), weights);
            avgIpt.clear();
            avgUnc.clear();
        } else {
            applyPattern(weights);
        }
    }

    private void updateImportance(Map<String, NDArray> weights, Map<String, NDArray> grads) {
        float b1 = (float) spec.beta1;
        float b2 = (float) spec.beta2;
        for (AdaLoraLayer l : model.adaLoras) {
            for (String k : new String[] {l.aKey, l.eKey, l.bKey}) {
                NDArray g = grads.get(k);
                if (g == null) throw new IllegalStateException("AdaLoRA parameter " + k + " has no gradient");
                float[] w = weights.get(k).toFloatArray();
                float[] gv = g.toFloatArray();
                float[] ipt = avgIpt.computeIfAbsent(k, x -> new float[w.length]);
                float[] unc = avgUnc.computeIfAbsent(k, x -> new float[w.length]);
                for (int i = 0; i < w.length; i++) {
                    float cur = Math.abs(w[i] * gv[i]);
                    ipt[i] = b1 * ipt[i] + (1 - b1) * cur;
                    unc[i] = b2 * unc[i] + (1 - b2) * Math.abs(cur - ipt[i]);
                }
            }
        }
    }

    /** Triplet scores of one projection (length init_r). */
    private double[] scores(AdaLoraLayer l) {
        float[] ia = avgIpt.get(l.aKey);
        if (ia == null) throw new IllegalStateException("AdaLoRA has no importance scores yet for " + l.aKey);
        float[] ua = avgUnc.get(l.aKey);
        float[] ie = avgIpt.get(l.eKey);
        float[] ue = avgUnc.get(l.eKey);
        float[] ib = avgIpt.get(l.bKey);
        float[] ub = avgUnc.get(l.bKey);
        int r = l.r;
        int in = ia.length / r;
        int out = ib.length / r;
        double[] s = new double[r];
        for (int i = 0; i < r; i++) {
            double a = 0;
            for (int j = 0; j < in; j++) a += (double) ia[i * in + j] * ua[i * in + j];
            double b = 0;
            for (int k = 0; k < out; k++) b += (double) ib[k * r + i] * ub[k * r + i]; // B is (out, r)
            s[i] = (double) ie[i] * ue[i] + a / in + b / out;
        }
        return s;
    }

    private void maskToBudget(long budget, Map<String, NDArray> weights) {
        List<AdaLoraLayer> layers = model.adaLoras;
        double[][] s = new double[layers.size()][];
        double[] all = new double[initBudget];
        int n = 0;
        for (int i = 0; i < layers.size(); i++) {
            s[i] = scores(layers.get(i));
            System.arraycopy(s[i], 0, all, n, s[i].length);
            n += s[i].length;
        }
        int k = (int) (initBudget - budget);
        // PEFT takes the k-th smallest (torch.kthvalue, which rejects k = 0); k = 0 prunes nothing here
        double threshold = Double.NEGATIVE_INFINITY;
        if (k > 0) {
            Arrays.sort(all);
            threshold = all[k - 1];
        }
        LinkedHashMap<String, boolean[]> pattern = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            boolean[] keep = new boolean[s[i].length];
            for (int j = 0; j < keep.length; j++) keep[j] = s[i][j] > threshold;
            pattern.put(layers.get(i).eKey, keep);
        }
        model.rankPattern = pattern;
        applyPattern(weights);
    }

    /** Zeroes λ of the pruned triplets. */
    private void applyPattern(Map<String, NDArray> weights) {
        if (model.rankPattern == null) return;
        for (AdaLoraLayer l : model.adaLoras) {
            boolean[] keep = model.rankPattern.get(l.eKey);
            NDArray e = weights.get(l.eKey);
            float[] v = e.toFloatArray();
            boolean changed = false;
            for (int i = 0; i < v.length; i++) {
                if (!keep[i] && v[i] != 0) {
                    v[i] = 0;
                    changed = true;
                }
            }
            if (changed) e.set(v);
        }
    }

    /** The kept triplets in all projections now (init_r × projections before any pruning). */
    int totalRank() {
        if (model.rankPattern == null) return initBudget;
        int n = 0;
        for (boolean[] keep : model.rankPattern.values()) for (boolean b : keep) n += b ? 1 : 0;
        return n;
    }

    @Override
    public Map<String, HostTensor> state() {
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        for (AdaLoraLayer l : model.adaLoras) {
            for (String k : new String[] {l.aKey, l.eKey, l.bKey}) {
                NDArray w = model.backbone.params().get(k);
                long[] shape = w.getShape().getShape();
                // the full tensors: a saved folder keeps only the kept triplets (PEFT's layout); in fp16-mixed the
                // checkpoint's fp32 masters hold them already
                if (w.getDataType() == ai.djl.ndarray.types.DataType.FLOAT32) {
                    out.put("adalora/value/" + k, HostTensor.ofFloats(shape, w.toFloatArray()));
                }
                if (avgIpt.containsKey(k)) {
                    out.put("adalora/ipt/" + k, HostTensor.ofFloats(shape, avgIpt.get(k)));
                    out.put("adalora/unc/" + k, HostTensor.ofFloats(shape, avgUnc.get(k)));
                }
            }
            if (model.rankPattern != null) {
                boolean[] keep = model.rankPattern.get(l.eKey);
                float[] f = new float[keep.length];
                for (int i = 0; i < f.length; i++) f[i] = keep[i] ? 1 : 0;
                out.put("adalora/keep/" + l.eKey, HostTensor.ofFloats(new long[] {f.length}, f));
            }
        }
        return out;
    }

    @Override
    public void loadState(Map<String, HostTensor> state) {
        avgIpt.clear();
        avgUnc.clear();
        LinkedHashMap<String, boolean[]> pattern = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : state.entrySet()) {
            String k = e.getKey();
            float[] v = e.getValue().toFloats();
            if (k.startsWith("adalora/value/")) model.backbone.params().get(k.substring("adalora/value/".length())).set(v);
            else if (k.startsWith("adalora/ipt/")) avgIpt.put(k.substring("adalora/ipt/".length()), v);
            else if (k.startsWith("adalora/unc/")) avgUnc.put(k.substring("adalora/unc/".length()), v);
            else if (k.startsWith("adalora/keep/")) {
                boolean[] keep = new boolean[v.length];
                for (int i = 0; i < v.length; i++) keep[i] = v[i] != 0;
                pattern.put(k.substring("adalora/keep/".length()), keep);
            } else {
                throw new IllegalArgumentException("unexpected AdaLoRA state entry " + k);
            }
        }
        model.rankPattern = pattern.isEmpty() ? null : pattern;
    }
}
