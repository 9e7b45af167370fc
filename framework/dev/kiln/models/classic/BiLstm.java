package dev.kiln.models.classic;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import com.google.gson.JsonObject;
import dev.kiln.nn.Parameters;
import dev.kiln.nn.Pooling;

import java.util.List;

/**
 * A bidirectional LSTM (Hochreiter &amp; Schmidhuber 1997; bidirectional: Schuster &amp; Paliwal 1997, Graves
 * &amp; Schmidhuber 2005), one or more layers, written out step by step from NDArray ops.
 *
 * <p>At each step t of one direction, with input x_t and the previous state (h, c):
 * <pre>
 *   i = σ(W_ii x_t + b_ii + W_hi h + b_hi)     input gate
 *   f = σ(W_if x_t + b_if + W_hf h + b_hf)     forget gate
 *   g = tanh(W_ig x_t + b_ig + W_hg h + b_hg)  cell candidate
 *   o = σ(W_io x_t + b_io + W_ho h + b_ho)     output gate
 *   c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
 * </pre>
 * exactly as {@code torch.nn.LSTM}, whose parameter names and layout this follows
 * ({@code lstm.weight_ih_l0} [4H, in] with the gates in the order i, f, g, o; {@code lstm.weight_hh_l0};
 * {@code lstm.bias_ih_l0}, {@code lstm.bias_hh_l0}; the backward direction with the suffix {@code _reverse}).
 * The forward direction reads t = 1..T, the backward one T..1; each layer's input is the concatenation of
 * both directions' states of the layer below, [B, T, 2H]. Dropout (model.dropout) is applied to the word
 * vectors and between layers; the task head applies it to the output.
 *
 * <p>Padding is handled by masking the recurrence: at a padded step the state is carried over unchanged
 * (h = m·h' + (1 − m)·h). Sequences are right-padded, so the forward direction has finished a sentence before
 * its padding starts, and the backward direction crosses the padding first, with its zero initial state
 * unchanged, and so starts at the sentence's last word from zero, as it would alone. Outputs at padded
 * positions are zero. {@link #hiddenStates} is [B, T, 2H] (the tagger's input); the sentence vector is the
 * final forward state (at the last real token) joined with the final backward state (at the first token), [B, 2H].
 */
public final class BiLstm extends ClassicBackbone {
    public static final String TYPE = "bilstm";
    static final List<String> OPTIONS = List.of("embedding_dim", "hidden_size", "num_layers");

    private final int hidden;
    private final int layers;

    BiLstm(JsonObject config, Parameters params) {
        super(config, params);
        hidden = intOf(config, "hidden_size");
        layers = intOf(config, "num_layers");
        float bound = (float) (1 / Math.sqrt(hidden));
        for (int l = 0; l < layers; l++) {
            long in = l == 0 ? embeddingDim : 2L * hidden;
            for (String dir : new String[] {"", "_reverse"}) {
                uniform(name("weight_ih", l, dir), bound, 4L * hidden, in);
                uniform(name("weight_hh", l, dir), bound, 4L * hidden, hidden);
                uniform(name("bias_ih", l, dir), bound, 4L * hidden);
                uniform(name("bias_hh", l, dir), bound, 4L * hidden);
            }
        }
    }

    static void configure(ClassicOptions o, JsonObject cfg) {
        cfg.addProperty("hidden_size", o.hiddenSize != null ? o.hiddenSize : 150);
        cfg.addProperty("num_layers", o.numLayers != null ? o.numLayers : 1);
    }

    private static String name(String kind, int layer, String dir) {
        return "lstm." + kind + "_l" + layer + dir;
    }

    @Override
    public int hiddenSize() {
        return 2 * hidden;
    }

    @Override
    public int numLayers() {
        return layers;
    }

    @Override
    public NDArray hiddenStates(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training) {
        NDArray mask = mask3(attentionMask);                 // [B, T, 1]
        int t = (int) mask.getShape().get(1);
        NDList m = mask.split(t, 1);                         // per step [B, 1, 1]
        NDArray[] keep = new NDArray[t];
        NDArray[] carry = new NDArray[t];
        for (int s = 0; s < t; s++) {
            keep[s] = m.get(s).squeeze(2);                   // [B, 1]
            carry[s] = keep[s].neg().add(1f);                // 1 - m (no gradient flows through masks)
        }
        NDArray x = dropout(embed(ids, mask), dropout, training);
        for (int l = 0; l < layers; l++) {
            if (l > 0) x = dropout(x, dropout, training);
            NDArray fwd = direction(x, l, "", keep, carry, false);
            NDArray bwd = direction(x, l, "_reverse", keep, carry, true);
            x = NDArrays.concat(new NDList(fwd, bwd), 2);
        }
        return x.mul(mask);
    }

    /** One direction of one layer over [B, T, in]: the states h_t, [B, T, H]. */
    private NDArray direction(NDArray x, int l, String dir, NDArray[] keep, NDArray[] carry, boolean reverse) {
        Shape s = x.getShape();
        int t = (int) s.get(1);
        // W_i· x_t + b_i· + b_h· for every t at once: [B, T, 4H]
        NDArray xw = linear(x, name("weight_ih", l, dir), name("bias_ih", l, dir)).add(params.get(name("bias_hh", l, dir)));
        NDList steps = xw.split(t, 1);
        NDArray h = x.getManager().zeros(new Shape(s.get(0), hidden));
        NDArray c = h;
        NDArray[] out = new NDArray[t];
        for (int k = 0; k < t; k++) {
            int step = reverse ? t - 1 - k : k;
            NDArray gates = steps.get(step).squeeze(1).add(linear(h, name("weight_hh", l, dir), null));
            NDList g = gates.split(4, 1);
            NDArray i = Activation.sigmoid(g.get(0));
            NDArray f = Activation.sigmoid(g.get(1));
            NDArray cand = g.get(2).tanh();
            NDArray o = Activation.sigmoid(g.get(3));
            NDArray c2 = f.mul(c).add(i.mul(cand));
            NDArray h2 = o.mul(c2.tanh());
            c = keep[step].mul(c2).add(carry[step].mul(c));
            h = keep[step].mul(h2).add(carry[step].mul(h));
            out[step] = h;
        }
        return NDArrays.stack(new NDList(out), 1);
    }

    /** [final forward state ; final backward state]: the forward half at the last real token, the backward half at the first. */
    @Override
    protected NDArray ownPooling(NDArray states, NDArray attentionMask) {
        NDArray last = Pooling.lastToken(states, attentionMask).get(new NDIndex(":, 0:" + hidden));
        NDArray first = Pooling.cls(states).get(new NDIndex(":, " + hidden + ":"));
        return NDArrays.concat(new NDList(last, first), 1);
    }
}
