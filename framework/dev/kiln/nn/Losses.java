package dev.kiln.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** Losses as sums over targets; the trainer divides by the target count of the whole step. */
public final class Losses {
    private Losses() {}

    /**
     * Cross-entropy summed over rows. {@code logits} [N, C], {@code labels} [N] int64; rows whose label
     * is -100 are ignored (HF's convention for sub-word and padding positions). With label smoothing
     * ε the target is (1-ε)·one-hot + ε/C, as in PyTorch's {@code CrossEntropyLoss(label_smoothing)}.
     */
    public static NDArray crossEntropySum(NDArray logits, NDArray labels, float labelSmoothing) {
        NDArray logp = float32(logits).logSoftmax(-1);
        NDArray valid = labels.neq(-100);
        NDArray safe = labels.mul(valid.toType(DataType.INT64, false)).reshape(-1, 1);
        NDArray nll = logp.gather(safe, 1).reshape(-1).neg();
        if (labelSmoothing > 0) {
            NDArray smooth = logp.mean(new int[] {-1}).neg();
            // scalars that outlive the op: see Functional.scalar
            nll = nll.mul(Functional.scalar(nll, 1f - labelSmoothing)).add(smooth.mul(Functional.scalar(smooth, labelSmoothing)));
        }
        return nll.mul(valid.toType(DataType.FLOAT32, false)).sum();
    }

    /**
     * Cross-entropy summed over rows where each row chooses among only some classes: {@code allowed}
     * [N, C] is 1 for the classes row n may pick (QA: the real, unpadded positions of a sequence), and
     * the others get no probability. Label smoothing spreads ε over the allowed classes only, so padding
     * never changes the loss. Labels of -100 are ignored as in {@link #crossEntropySum}.
     */
    public static NDArray crossEntropySum(NDArray logits, NDArray labels, float labelSmoothing, NDArray allowed) {
        NDArray ok = allowed.toType(DataType.FLOAT32, false);
        // a large finite bias rather than -inf: masked terms stay finite, so 0 · logp is 0, not NaN
        NDArray logp = float32(logits).add(ok.sub(1f).mul(1e9f)).logSoftmax(-1);
        NDArray valid = labels.neq(-100);
        NDArray safe = labels.mul(valid.toType(DataType.INT64, false)).reshape(-1, 1);
        NDArray nll = logp.gather(safe, 1).reshape(-1).neg();
        if (labelSmoothing > 0) {
            NDArray smooth = logp.mul(ok).sum(new int[] {-1}).div(ok.sum(new int[] {-1}).maximum(1f)).neg();
            nll = nll.mul(Functional.scalar(nll, 1f - labelSmoothing)).add(smooth.mul(Functional.scalar(smooth, labelSmoothing)));
        }
        return nll.mul(valid.toType(DataType.FLOAT32, false)).sum();
    }

    /**
     * Binary cross-entropy with logits, summed: {@code logits} [N], {@code targets} [N] in [0, 1].
     * Written as max(x, 0) - x·y + log(1 + e^-|x|), which never overflows.
     */
    public static NDArray binaryCrossEntropySum(NDArray logits, NDArray targets) {
        NDArray x = float32(logits);
        NDArray y = targets.toType(DataType.FLOAT32, false);
        NDArray softplus = x.abs().neg().exp().add(1f).log();
        return x.maximum(0f).sub(x.mul(y)).add(softplus).sum();
    }

    /**
     * {@code x} widened to fp32 where autograd can follow it: {@code toType} is not differentiable in DJL, so fp16
     * logits (fp16-mixed) are promoted by adding a 1-element fp32 zero (a dimensioned operand promotes; a 0-d one
     * would not). Exact: every fp16 value is an fp32 value.
     */
    static NDArray float32(NDArray x) {
        if (x.getDataType() == DataType.FLOAT32) return x;
        return x.add(x.getManager().zeros(new ai.djl.ndarray.types.Shape(1), DataType.FLOAT32));
    }

    /** Number of rows that count (label != -100). */
    public static long targets(long[] labels) {
        long n = 0;
        for (long l : labels) if (l != -100) n++;
        return n;
    }
}
