package dev.kiln.models.classic;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import com.google.gson.JsonObject;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;
import dev.kiln.nn.Pooling;

import java.util.ArrayList;
import java.util.List;

/**
 * A bidirectional LSTM (Hochreiter &amp; Schmidhuber 1997; bidirectional: Schuster &amp; Paliwal 1997, Graves
 * &amp; Schmidhuber 2005), one or more layers; each direction's recurrence runs in libtorch's LSTM kernel.
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
 * <p>Padding: sequences are right-padded, so the forward direction has finished a sentence before its padding
 * starts. The backward direction reads each sentence reversed within its own length (padding left where it is),
 * so it too starts at the sentence's last word from a zero state, as it would alone, and its states are put back
 * in order. Outputs at padded positions are zero. {@link #hiddenStates} is [B, T, 2H] (the tagger's input); the sentence vector is the
 * final forward state (at the last real token) joined with the final backward state (at the first token), [B, 2H].
 *
 * <p>In the module tree, {@code lstm} is one module holding every layer's tensors, as torch.nn.LSTM does; each
 * layer (both directions) is a {@link ModuleGroup} of its eight tensors in {@link #layerModules()}, so
 * {@code training.freeze: "bottom:N"} freezes the lowest N layers.
 */
public final class BiLstm extends ClassicBackbone {
    public static final String TYPE = "bilstm";
    static final List<String> OPTIONS = List.of("embedding_dim", "hidden_size", "num_layers");

    private final int hidden;
    private final int layers;
    private final List<Module> layerGroups = new ArrayList<>();

    BiLstm(JsonObject config, Parameters params) {
        super(config, params);
        hidden = intOf(config, "hidden_size");
        layers = intOf(config, "num_layers");
        Lstm lstm = part(new Lstm(this, embeddingDim, hidden, layers));
        float bound = (float) (1 / Math.sqrt(hidden));
        for (int l = 0; l < layers; l++) {
            List<String> keys = lstm.layerKeys(l);
            for (String k : keys) uniform(k, bound);
            layerGroups.add(new ModuleGroup(params, "lstm layer " + l, List.of(), keys));
        }
    }

    /**
     * {@code lstm}: torch.nn.LSTM's tensors for every layer and both directions, created in torch's order
     * (weight_ih, weight_hh, bias_ih, bias_hh; forward, then reverse; layer by layer).
     */
    static final class Lstm extends Module {
        private final List<List<String>> byLayer = new ArrayList<>();

        Lstm(Module parent, long embeddingDim, int hidden, int layers) {
            super(parent, "lstm");
            for (int l = 0; l < layers; l++) {
                long in = l == 0 ? embeddingDim : 2L * hidden;
                List<String> keys = new ArrayList<>();
                for (String dir : new String[] {"", "_reverse"}) {
                    keys.add(param("weight_ih_l" + l + dir, Parameters.Init.ZEROS, 4L * hidden, in));
                    keys.add(param("weight_hh_l" + l + dir, Parameters.Init.ZEROS, 4L * hidden, hidden));
                    keys.add(param("bias_ih_l" + l + dir, Parameters.Init.ZEROS, 4L * hidden));
                    keys.add(param("bias_hh_l" + l + dir, Parameters.Init.ZEROS, 4L * hidden));
                }
                byLayer.add(List.copyOf(keys));
            }
        }

        /** Layer {@code l}'s eight keys, forward direction first. */
        List<String> layerKeys(int l) {
            return byLayer.get(l);
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

    /** Each layer's eight LSTM tensors (both directions), bottom first. */
    @Override
    public List<Module> layerModules() {
        return layerGroups;
    }

    @Override
    public NDArray hiddenStates(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training) {
        NDArray mask = mask3(attentionMask);                 // [B, T, 1]
        NDArray reversal = reversal(attentionMask);
        NDArray x = dropout(embed(ids, mask), dropout, training);
        for (int l = 0; l < layers; l++) {
            if (l > 0) x = dropout(x, dropout, training);
            NDArray fwd = direction(x, l, "");
            NDArray bwd = reorder(direction(reorder(x, reversal), l, "_reverse"), reversal);
            x = NDArrays.concat(new NDList(fwd, bwd), 2);
        }
        return x.mul(mask);
    }

    /**
     * One direction of one layer over right-padded [B, T, in], reading t = 1..T: the states h_t, [B, T, H]. The
     * recurrence is libtorch's LSTM kernel (torch.nn.LSTM's, one call per direction and layer, with the equations
     * above) rather than a loop of small ops: a state at a real position depends only on the positions before it,
     * so what the kernel computes past a sentence's end never reaches its real positions.
     */
    private NDArray direction(NDArray x, int l, String dir) {
        Shape s = x.getShape();
        NDArray h0 = x.getManager().zeros(new Shape(1, s.get(0), hidden));
        NDList weights = new NDList(params.get(name("weight_ih", l, dir)), params.get(name("weight_hh", l, dir)),
                params.get(name("bias_ih", l, dir)), params.get(name("bias_hh", l, dir)));
        return x.getNDArrayInternal().lstm(x, new NDList(h0, h0), weights, true, 1, 0.0, false, false, true).get(0);
    }

    /**
     * Row indexes into [B·T] that reverse each sentence within its own length and leave its padding in place:
     * the backward direction then reads every sentence from its last word, with the padding after it as for the
     * forward one. The same permutation undoes itself.
     */
    private static NDArray reversal(NDArray attentionMask) {
        long[] m = attentionMask.toLongArray();
        int b = (int) attentionMask.getShape().get(0);
        int t = (int) attentionMask.getShape().get(1);
        long[] idx = new long[b * t];
        for (int r = 0; r < b; r++) {
            int len = 0;
            for (int k = 0; k < t; k++) len += (int) m[r * t + k];
            for (int k = 0; k < t; k++) idx[r * t + k] = (long) r * t + (k < len ? len - 1 - k : k);
        }
        return attentionMask.getManager().create(idx).toDevice(attentionMask.getDevice(), false);
    }

    /** x[b, idx] for [B, T, D] (a row gather, so gradients flow back to x). */
    private static NDArray reorder(NDArray x, NDArray rows) {
        Shape s = x.getShape();
        NDArray flat = x.reshape(s.get(0) * s.get(1), s.get(2));
        return ai.djl.nn.core.Embedding.embedding(rows, flat, ai.djl.ndarray.types.SparseFormat.DENSE).singletonOrThrow()
                .reshape(s);
    }

    /** [final forward state ; final backward state]: the forward half at the last real token, the backward half at the first. */
    @Override
    protected NDArray ownPooling(NDArray states, NDArray attentionMask) {
        NDArray last = Pooling.lastToken(states, attentionMask).get(new NDIndex(":, 0:" + hidden));
        NDArray first = Pooling.cls(states).get(new NDIndex(":, " + hidden + ":"));
        return NDArrays.concat(new NDList(last, first), 1);
    }
}
