package dev.kiln.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.nn.Conv1D;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Projection;
import dev.kiln.nn.ProjectionModule;

import java.util.SplittableRandom;

/**
 * HF PEFT's LoRA on one projection: y = base(x) + dropout(x) Aᵀ Bᵀ · alpha/r, with A (r, in) and B (out, r) as
 * children {@code lora_A} / {@code lora_B} of the wrapped module (keys {@code ...query.lora_A.weight}, as PEFT
 * saves them). A starts Kaiming-uniform (a = √5, so U(±1/√in), PEFT's init), B at zero: the wrapped projection
 * computes exactly what it did before. Conv1D (GPT-2, weight (in, out)) gets the same A and B; only
 * {@link #merge} differs (PEFT's fan_in_fan_out).
 */
public final class LoraLayer implements Projection {
    final ProjectionModule target;
    final Projection base;
    final Linear a;
    final Linear b;
    final float scaling;
    final float dropout;
    private final PeftModel owner;
    private boolean merged;

    LoraLayer(ProjectionModule target, int r, double alpha, double dropout, long seed, PeftModel owner) {
        this.target = target;
        this.base = target.current();
        this.owner = owner;
        this.a = new Linear(target, "lora_A", target.inFeatures(), r, false);
        this.b = new Linear(target, "lora_B", r, target.outFeatures(), false);
        this.scaling = (float) (alpha / r);
        this.dropout = (float) dropout;
        // Kaiming-uniform with a = sqrt(5): bound = gain·sqrt(3/fan_in) = 1/sqrt(fan_in)
        double bound = 1 / Math.sqrt(target.inFeatures());
        SplittableRandom rng = new SplittableRandom(seed * 31 + target.path().hashCode());
        float[] v = new float[Math.toIntExact(r * target.inFeatures())];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        target.store().get(a.weight).set(v);
        float[] z = new float[Math.toIntExact(r * target.outFeatures())];
        target.store().get(b.weight).set(z);
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray y = base.forward(x);
        if (merged) return y;
        NDArray in = Functional.dropout(x, dropout, owner.training());
        NDArray delta = b.project(a.project(in));
        return y.add(delta.muli(Functional.scalar(delta, scaling)));
    }

    public boolean merged() {
        return merged;
    }

    /** W += B·A·scaling (transposed for Conv1D, whose weight is (in, out)); the branch then adds nothing. */
    void merge() {
        if (merged) return;
        NDArray w = target.store().get(target.weightKey());
        try (NDManager tmp = w.getManager().newSubManager()) {
            NDArray bw = target.store().get(b.weight).duplicate();
            bw.attach(tmp);
            NDArray delta = bw.matMul(target.store().get(a.weight)).muli(scaling); // (out, in)
            if (target instanceof Conv1D) delta = delta.transpose();
            else if (!(target instanceof Linear)) throw new IllegalStateException("cannot merge into " + target);
            w.addi(delta);
        }
        merged = true;
    }
}
