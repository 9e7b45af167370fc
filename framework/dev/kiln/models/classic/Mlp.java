package dev.kiln.models.classic;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import com.google.gson.JsonObject;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;
import dev.kiln.nn.Pooling;

import java.util.ArrayList;
import java.util.List;

/**
 * The bag-of-words baseline: the mean of a sentence's word vectors, then feed-forward layers
 * (as the deep averaging network of Iyyer et al. 2015, without its word dropout).
 * <pre>
 *   a = (1/n) Σ_i x_i                     over the real tokens only
 *   z_1 = act(W_1 a + b_1),  z_l = act(W_l z_{l-1} + b_l)   l = 2..L, dropout between layers
 * </pre>
 * and z_L, through dropout, goes to the task's softmax layer. {@code act} is relu, tanh or gelu;
 * L ({@code num_layers}) is 1 by default with 256 units.
 *
 * <p>As a {@link dev.kiln.models.Backbone}: {@link #pooled} is the model above (it averages before the layers,
 * so it overrides the default, which would average after them). {@link #hiddenStates} applies the same
 * layers to each word vector alone, [B, T, H], zero at padding: a per-word classifier for token tagging with
 * no context. {@code pooling} "mean" / "last" pool those per-word states instead.
 *
 * <p>Parameters: {@code layers.L.weight} [H, in], {@code layers.L.bias}: each layer a {@link Linear} under
 * {@code layers} ({@link #layerModules()}).
 */
public final class Mlp extends ClassicBackbone {
    public static final String TYPE = "mlp";
    static final List<String> OPTIONS = List.of("embedding_dim", "hidden_size", "num_layers", "activation");

    private final int hidden;
    private final int layers;
    private final String activation;
    private final List<Linear> dense = new ArrayList<>();

    Mlp(JsonObject config, Parameters params) {
        super(config, params);
        hidden = intOf(config, "hidden_size");
        layers = intOf(config, "num_layers");
        activation = config.get("activation").getAsString();
        Module container = part(new Module(this, "layers"));
        for (int l = 0; l < layers; l++) {
            long in = l == 0 ? embeddingDim : hidden;
            float bound = (float) (1 / Math.sqrt(in));
            Linear d = new Linear(container, String.valueOf(l), in, hidden, true);
            uniform(d.weight, bound);
            uniform(d.bias, bound);
            dense.add(d);
        }
    }

    static void configure(ClassicOptions o, JsonObject cfg) {
        cfg.addProperty("hidden_size", o.hiddenSize != null ? o.hiddenSize : 256);
        cfg.addProperty("num_layers", o.numLayers != null ? o.numLayers : 1);
        cfg.addProperty("activation", o.activation != null ? o.activation : "relu");
    }

    @Override
    public int hiddenSize() {
        return hidden;
    }

    @Override
    public int numLayers() {
        return layers;
    }

    /** {@code layers.0} ... {@code layers.L-1}, bottom first. */
    @Override
    public List<Linear> layerModules() {
        return dense;
    }

    /** The feed-forward layers on [..., in]; dropout between layers (the head drops out the last one's output). */
    private NDArray layers(NDArray x, boolean training) {
        for (int l = 0; l < layers; l++) {
            if (l > 0) x = dropout(x, dropout, training);
            x = act(dense.get(l).forward(x));
        }
        return x;
    }

    private NDArray act(NDArray x) {
        switch (activation) {
            case "tanh": return x.tanh();
            case "gelu": return Functional.gelu(x);
            default: return Activation.relu(x);
        }
    }

    /** The layers on each word vector alone: [B, T, H], zero at padding. */
    @Override
    public NDArray hiddenStates(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training) {
        NDArray mask = mask3(attentionMask);
        return layers(embed(ids, mask), training).mul(mask);
    }

    /** Own pooling ("cls" or null): the layers on the mean word vector; "mean" / "last": pooled per-word states. */
    @Override
    public NDArray pooled(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training, String pooling) {
        if ("mean".equals(pooling) || "last".equals(pooling)) {
            return super.pooled(ids, typeIds, attentionMask, training, pooling);
        }
        NDArray mean = Pooling.mean(embed(ids, mask3(attentionMask)), attentionMask);
        return layers(mean, training);
    }

    /** Given per-word states only, the best this model can do is their mean (the faithful path is {@link #pooled}). */
    @Override
    protected NDArray ownPooling(NDArray hidden, NDArray attentionMask) {
        return Pooling.mean(hidden, attentionMask);
    }
}
