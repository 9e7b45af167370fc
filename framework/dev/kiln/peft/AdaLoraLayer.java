package dev.kiln.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.nn.Conv1D;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Parameters;
import dev.kiln.nn.Projection;
import dev.kiln.nn.ProjectionModule;

import java.util.SplittableRandom;

/**
 * HF PEFT's AdaLoRA SVDLinear on one projection (Zhang et al. 2023): y = base(x) + dropout(x) (A∘E)ᵀ Bᵀ ·
 * alpha / (ranknum + 1e-5), with P = {@code lora_B} (out, r), Λ = {@code lora_E} (r, 1), Q = {@code lora_A}
 * (r, in) as parameters of the wrapped module ({@code ...query.lora_A}, no {@code .weight}: PEFT's keys).
 * ranknum is init_r for the whole run and after loading (PEFT keeps it so), so pruning a triplet does not rescale
 * the others. E starts at zero, so the model starts as the base model; A and B start N(0, 0.02²) as in PEFT.
 */
public final class AdaLoraLayer implements Projection {
    final ProjectionModule target;
    final Projection base;
    final String aKey;
    final String bKey;
    final String eKey;
    final int r;
    final float scaling;
    final float dropout;
    private final PeftModel owner;
    private boolean merged;

    AdaLoraLayer(ProjectionModule target, int initR, double alpha, double dropout, long seed, PeftModel owner) {
        this.target = target;
        this.base = target.current();
        this.owner = owner;
        this.r = initR;
        long in = target.inFeatures();
        long out = target.outFeatures();
        this.aKey = target.addParameter("lora_A", Parameters.Init.ZEROS, initR, in);
        this.eKey = target.addParameter("lora_E", Parameters.Init.ZEROS, initR, 1);
        this.bKey = target.addParameter("lora_B", Parameters.Init.ZEROS, out, initR);
        // PEFT: scaling = lora_alpha (or r when alpha is 0), divided by ranknum + 1e-5 in every forward
        double s = alpha > 0 ? alpha : initR;
        this.scaling = (float) (s / (initR + 1e-5));
        this.dropout = (float) dropout;
        SplittableRandom rng = new SplittableRandom(seed * 31 + target.path().hashCode());
        target.store().get(aKey).set(gaussian(rng, initR * in, 0.02));
        target.store().get(bKey).set(gaussian(rng, out * initR, 0.02));
    }

    private static float[] gaussian(SplittableRandom rng, long n, double std) {
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rng.nextGaussian() * std);
        return v;
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray y = base.forward(x);
        if (merged) return y;
        Parameters p = target.store();
        NDArray in = Functional.dropout(x, dropout, owner.training());
        // E as a vector, owned by the caller's scope (a view of the parameter: gradients reach lora_E)
        NDArray e = p.get(eKey).reshape(r);
        e.attach(in.getManager());
        NDArray h = ai.djl.nn.core.Linear.linear(in, p.get(aKey), null).singletonOrThrow().mul(e);
        NDArray delta = ai.djl.nn.core.Linear.linear(h, p.get(bKey), null).singletonOrThrow();
        return y.add(delta.muli(Functional.scalar(delta, scaling)));
    }

    /**
     * ‖AAᵀ − I‖_F + ‖BᵀB − I‖_F, PEFT's orthogonality penalty for this layer, in {@code s} (differentiable in A, B).
     */
    NDArray orthPenalty(NDManager s) {
        Parameters p = target.store();
        NDArray a = p.get(aKey);
        NDArray b = p.get(bKey);
        // adding to a zero of s makes step-scoped copies that autograd tracks (an op belongs to its first operand's manager)
        NDArray ac = s.zeros(new ai.djl.ndarray.types.Shape(1), a.getDataType()).add(a);
        NDArray bt = s.zeros(new ai.djl.ndarray.types.Shape(1), b.getDataType()).add(b).transpose();
        NDArray eye = s.eye(r).toType(a.getDataType(), false);
        NDArray ca = ai.djl.nn.core.Linear.linear(ac, ac, null).singletonOrThrow().sub(eye);
        NDArray cb = ai.djl.nn.core.Linear.linear(bt, bt, null).singletonOrThrow().sub(eye);
        return ca.mul(ca).sum().sqrt().add(cb.mul(cb).sum().sqrt());
    }

    public boolean merged() {
        return merged;
    }

    /** W += B·(A∘E)·scaling (transposed for Conv1D, whose weight is (in, out)). */
    void merge() {
        if (merged) return;
        Parameters p = target.store();
        NDArray w = p.get(target.weightKey());
        try (NDManager tmp = w.getManager().newSubManager()) {
            NDArray bw = p.get(bKey).duplicate();
            bw.attach(tmp);
            NDArray ae = p.get(aKey).mul(p.get(eKey));
            ae.attach(tmp);
            NDArray delta = bw.matMul(ae).muli(scaling); // (out, in)
            if (target instanceof Conv1D) delta = delta.transpose();
            else if (!(target instanceof Linear)) throw new IllegalStateException("cannot merge into " + target);
            w.addi(delta);
        }
        merged = true;
    }
}
