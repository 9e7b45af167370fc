package dev.kiln.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;

/** Stateless pieces shared by the models: activations, dropout, attention. */
public final class Functional {
    private Functional() {}

    /** Added to masked attention scores: exp underflows to exactly 0 in fp32, and it still fits fp16. */
    public static final float MASK_VALUE = -10000f;

    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);

    /**
     * A 0-d float32 in {@code like}'s manager, for arithmetic on tensors that autograd tracks; it keeps
     * {@code like}'s dtype in the result. DJL's {@code op(Number)} overloads make such a scalar and close it at
     * once, and on the CPU its memory is a direct buffer that the GC can then free and reuse while the graph
     * still reads it in backward: after a GC mid-step, gradients came out wrong or NaN. Created here, the scalar
     * lives until the step's manager closes, after backward.
     */
    public static NDArray scalar(NDArray like, float v) {
        return like.getManager().create(v);
    }

    public static NDArray scalar(NDArray like, double v) {
        return scalar(like, (float) v);
    }

    /** HF "gelu": exact erf form. */
    public static NDArray gelu(NDArray x) {
        return Activation.gelu(x);
    }

    /** HF "gelu_new" (GPT-2): 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))). */
    public static NDArray geluNew(NDArray x) {
        // x·x·x, not pow: pow's backward keeps its output, which the in-place muli would change (autograd then
        // refuses the backward); PyTorch computes pow(x, 3) as x·x·x too. The add after tanh is not in place:
        // tanh's backward needs its own output.
        NDArray inner = x.mul(x).mul(x).muli(scalar(x, 0.044715f)).addi(x).muli(scalar(x, SQRT_2_OVER_PI)).tanh();
        return inner.add(1f).mul(x).muli(scalar(x, 0.5f));
    }

    public static NDArray activation(String name, NDArray x) {
        switch (name) {
            case "gelu": return gelu(x);
            case "gelu_new": return geluNew(x);
            case "relu": return Activation.relu(x);
            default: throw new IllegalArgumentException("unsupported activation '" + name + "'");
        }
    }

    /**
     * Inverted dropout. The keep-mask comes from {@code randomUniform} + compare, which we measured
     * 1.5× faster than libtorch's CPU dropout kernel. The 1/(1-p) scale goes into the mask, which autograd does
     * not track, so the graph holds one multiply (and backward runs one) instead of two; in fp32 the result is
     * the same to the bit as x·keep·scale.
     */
    public static NDArray dropout(NDArray x, float p, boolean training) {
        if (!training || p <= 0f) return x;
        NDManager m = x.getManager();
        NDArray keep = m.randomUniform(0f, 1f, x.getShape(), DataType.FLOAT32, x.getDevice()).gte(p);
        return x.mul(keep.toType(x.getDataType(), false).muli(scalar(x, 1f / (1f - p))));
    }

    /** [B, T, H] → [B, heads, T, H/heads]. */
    public static NDArray splitHeads(NDArray x, int heads) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), heads, s.get(2) / heads).transpose(0, 2, 1, 3);
    }

    /** [B, heads, T, d] → [B, T, heads·d]. */
    public static NDArray mergeHeads(NDArray x) {
        Shape s = x.getShape();
        return x.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), s.get(1) * s.get(3));
    }

    /**
     * softmax(q kᵀ / √d + mask) v, with dropout on the probabilities. {@code additiveMask} broadcasts
     * to [B, heads, Tq, Tk] (0 where allowed, {@link #MASK_VALUE} where not) or is null.
     */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray additiveMask,
                                    float dropoutP, boolean training) {
        return attention(q, k, v, additiveMask, (float) (1.0 / Math.sqrt(q.getShape().get(3))), dropoutP, training);
    }

    /** As above with the score factor given: softmax(scale · q kᵀ + mask) v. */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray additiveMask, float scale,
                                    float dropoutP, boolean training) {
        NDArray scores = q.mul(scalar(q, scale)).matMul(k.transpose(0, 1, 3, 2));
        if (additiveMask != null) scores = scores.addi(additiveMask);
        NDArray probs = dropout(scores.softmax(-1), dropoutP, training);
        return probs.matMul(v);
    }

    /**
     * Whether a forward may take an inference-only path: no dropout and no gradients recorded (outside a
     * GradientCollector). A forward that records gradients keeps the training-mode op order, so gradients and
     * training runs stay as they were.
     */
    public static boolean inference(boolean training) {
        return !training && !ai.djl.pytorch.jni.JniUtils.isGradMode();
    }

    /** [B, T] 1/0 attention mask → additive [B, 1, 1, T] in {@code type}. */
    public static NDArray paddingMask(NDArray attentionMask, DataType type) {
        Shape s = attentionMask.getShape();
        NDArray m = attentionMask.toType(type, false).neg().addi(1f).muli(MASK_VALUE);
        return m.reshape(s.get(0), 1, 1, s.get(1));
    }
}
