package dev.kiln.models.classic;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;

import java.util.ArrayList;
import java.util.List;

/**
 * Kim (2014), "Convolutional Neural Networks for Sentence Classification" (CNN-rand / CNN-static /
 * CNN-non-static, single channel).
 *
 * <p>A sentence is its word vectors x_1..x_n (Kim: k = 300). A filter w of width h (Kim: h = 3, 4, 5 with
 * 100 filters each) makes a feature c_i = ReLU(w · x_{i:i+h-1} + b) at every position; max-over-time pooling
 * keeps ĉ = max_i c_i per filter, and the 300 maxima, through dropout (p = 0.5), feed the softmax layer
 * (the task's classification head). CNN-static is {@code model.classic.embeddings} with
 * {@code training.freeze: "embeddings"}, CNN-non-static the same without freezing. Kim's l2-norm constraint
 * on the softmax weights (s = 3) and Adadelta are not reproduced: Kiln trains with AdamW and weight decay.
 *
 * <p>The convolutions are "same"-padded (floor((h-1)/2) zero vectors before the sentence, the rest after),
 * so there is one feature vector per word: {@link #hiddenStates} is [B, T, 300] and serves token tagging.
 * Kim's own code pads h-1 zero vectors on each side; same-padding keeps the windows that cover a word and
 * drops the ones that hang mostly over the edge. Padding tokens are zero vectors, exactly what the
 * convolution's own padding adds, and they are masked out of the max (features are ≥ 0 after ReLU, padded
 * positions are set to 0), so batching never changes a sentence's outputs.
 *
 * <p>Parameters: {@code convs.K.weight} [filters, h·k] (the h word vectors of a window concatenated in
 * order; PyTorch's Conv1d weight [filters, k, h] transposed and flattened) and {@code convs.K.bias}: each
 * filter bank is a {@link Linear} applied to the windows, so it is a projection {@link Module#wrap} can wrap.
 * The filter banks side by side are the model's one layer ({@link #layerModules()}: {@code convs}).
 */
public final class TextCnn extends ClassicBackbone {
    public static final String TYPE = "textcnn";
    static final List<String> OPTIONS = List.of("embedding_dim", "filter_sizes", "num_filters");

    private final int[] widths;
    private final int filters;
    /** {@code convs}: one filter bank per width. */
    private final Module convs;
    private final List<Linear> banks = new ArrayList<>();

    TextCnn(JsonObject config, Parameters params) {
        super(config, params);
        JsonArray fs = config.getAsJsonArray("filter_sizes");
        widths = new int[fs.size()];
        for (int i = 0; i < widths.length; i++) widths[i] = fs.get(i).getAsInt();
        filters = intOf(config, "num_filters");
        convs = part(new Module(this, "convs"));
        for (int i = 0; i < widths.length; i++) {
            long fanIn = (long) widths[i] * embeddingDim;
            float bound = (float) (1 / Math.sqrt(fanIn));
            Linear bank = new Linear(convs, String.valueOf(i), fanIn, filters, true);
            uniform(bank.weight, bound);
            uniform(bank.bias, bound);
            banks.add(bank);
        }
    }

    /** The model's keys of config.json from the options (defaults: Kim's). */
    static void configure(ClassicOptions o, JsonObject cfg) {
        JsonArray fs = new JsonArray();
        for (int h : o.filterSizes != null ? o.filterSizes : new int[] {3, 4, 5}) fs.add(h);
        cfg.add("filter_sizes", fs);
        cfg.addProperty("num_filters", o.numFilters != null ? o.numFilters : 100);
    }

    @Override
    public int hiddenSize() {
        return widths.length * filters;
    }

    @Override
    public int numLayers() {
        return 1;
    }

    /** The one convolutional layer: {@code convs} (every filter bank). */
    @Override
    public List<Module> layerModules() {
        return List.of(convs);
    }

    /** c_i for every filter at every word: [B, T, widths · filters], zero at padding. */
    @Override
    public NDArray hiddenStates(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training) {
        NDArray mask = mask3(attentionMask);
        NDArray x = embed(ids, mask);                       // [B, T, k], padding rows zero
        Shape s = x.getShape();
        long b = s.get(0);
        long t = s.get(1);
        NDList maps = new NDList();
        for (int i = 0; i < widths.length; i++) {
            int h = widths[i];
            int before = (h - 1) / 2;
            int after = h - 1 - before;
            NDList parts = new NDList();
            if (before > 0) parts.add(x.getManager().zeros(new Shape(b, before, embeddingDim)));
            parts.add(x);
            if (after > 0) parts.add(x.getManager().zeros(new Shape(b, after, embeddingDim)));
            NDArray padded = parts.size() == 1 ? x : NDArrays.concat(parts, 1);   // [B, T + h - 1, k]
            // x_{i:i+h-1} for every i: the h shifted copies side by side, [B, T, h·k]
            NDList shifted = new NDList();
            for (int j = 0; j < h; j++) shifted.add(padded.get(new NDIndex(":, " + j + ":" + (j + t) + ", :")));
            NDArray windows = h == 1 ? shifted.singletonOrThrow() : NDArrays.concat(shifted, 2);
            maps.add(Activation.relu(banks.get(i).forward(windows)));
        }
        NDArray c = maps.size() == 1 ? maps.singletonOrThrow() : NDArrays.concat(maps, 2);
        return c.mul(mask);
    }

    /** Max-over-time pooling: ĉ = max_i c_i per filter (padded positions are 0 and every c_i ≥ 0). */
    @Override
    protected NDArray ownPooling(NDArray hidden, NDArray attentionMask) {
        return hidden.max(new int[] {1});
    }
}
