package dev.kiln.models.classic;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Embedding;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;
import dev.kiln.nn.Pooling;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What the classic models share: a word-embedding table, their config.json (which is also how they are
 * built: training and loading go through the same constructor) and pooling by name.
 *
 * <p>As a {@link Backbone}: there is no position table, so {@link #maxPositions()} is unbounded (the task's
 * {@code data.max_length} alone truncates); the task heads apply {@link #hiddenDropout()} to what the model
 * returns, which is where the papers put their last dropout (Kim's dropout on the penultimate layer);
 * {@code pooling} "cls" (the tasks' default for non-GPT backbones) means the model's own pooling, "mean"
 * and "last" pool the per-token states as for BERT.
 *
 * <p>Padding: every model multiplies its per-token outputs by the attention mask and pools over real tokens
 * only, so a sentence gives the same outputs alone and in a batch with longer ones.
 *
 * <p>The model is the root of its module tree: {@code embeddings.word_embeddings} (an {@link Embedding}) and the
 * model's own children ({@code convs}, {@code lstm}, {@code layers}) are the {@link #body()}; task heads attach to
 * the root beside them ({@code classifier}), as on BERT. There is no {@code bert.}-style prefix, so the body is a
 * {@link ModuleGroup} of those children rather than one subtree; parameter paths are the checkpoint keys.
 */
public abstract class ClassicBackbone extends Module implements Backbone {
    /** The table's name, as in a BERT checkpoint without its {@code bert.} prefix ({@code training.freeze: "embeddings"} freezes it). */
    public static final String EMBEDDINGS = "embeddings.word_embeddings.weight";

    protected final JsonObject config;
    protected final Parameters params;
    protected final int vocabSize;
    protected final int embeddingDim;
    protected final float dropout;
    private final SplittableRandom rng;
    /** {@code embeddings}: the word table's container. */
    protected final Module embeddings;
    /** {@code embeddings.word_embeddings}. */
    protected final Embedding words;
    /** The root's children that make up the model (the embeddings, then the model's own), in order. */
    private final List<Module> parts = new ArrayList<>();
    private Module body;

    protected ClassicBackbone(JsonObject config, Parameters params) {
        super(params);
        this.config = config.deepCopy();
        this.params = params;
        this.vocabSize = config.get("vocab_size").getAsInt();
        this.embeddingDim = config.get("embedding_dim").getAsInt();
        this.dropout = config.get("dropout").getAsFloat();
        this.rng = new SplittableRandom(config.has("seed") ? config.get("seed").getAsLong() : 42);
        embeddings = part(new Module(this, "embeddings"));
        words = new Embedding(embeddings, "word_embeddings", vocabSize, embeddingDim);
        // Kim (2014): randomly initialised word vectors drawn from U[-0.25, 0.25]
        uniform(words.weight, 0.25f);
    }

    /** Registers a child of the root as part of the model's body (everything else attached to the root is a head). */
    protected final <M extends Module> M part(M child) {
        if (child.parent() != this) throw new IllegalArgumentException(child + " is not a child of the model's root");
        parts.add(child);
        return child;
    }

    @Override
    public Module root() {
        return this;
    }

    /** The model without its heads: {@code embeddings} and the model's own children. */
    @Override
    public Module body() {
        if (body == null) body = new ModuleGroup(params, modelType() + " body", parts, List.of());
        return body;
    }

    /** The word-embedding table's module ({@code training.freeze: "embeddings"}: CNN-static). */
    @Override
    public List<Module> embeddingModules() {
        return List.of(embeddings);
    }

    @Override
    public String modelType() {
        return config.get("model_type").getAsString();
    }

    @Override
    public dev.kiln.models.Architecture architecture() {
        return dev.kiln.models.Architectures.forType(modelType());
    }

    @Override
    public Parameters params() {
        return params;
    }

    /** No position table: any length the task allows. */
    @Override
    public int maxPositions() {
        return Integer.MAX_VALUE;
    }

    @Override
    public JsonObject configJson() {
        JsonObject o = config.deepCopy();
        o.remove("seed");
        return o;
    }

    @Override
    public float hiddenDropout() {
        return dropout;
    }

    public int vocabSize() {
        return vocabSize;
    }

    public int embeddingDim() {
        return embeddingDim;
    }

    /** "cls" or null: the model's own pooling; "mean", "last": over the per-token states. */
    @Override
    public NDArray sequenceVector(NDArray hidden, NDArray attentionMask, String pooling) {
        if ("mean".equals(pooling)) return Pooling.mean(hidden, attentionMask);
        if ("last".equals(pooling)) return Pooling.lastToken(hidden, attentionMask);
        return ownPooling(hidden, attentionMask);
    }

    /** The paper's sentence vector from the per-token states [B, T, H] (padding already zero). */
    protected abstract NDArray ownPooling(NDArray hidden, NDArray attentionMask);

    /** Word vectors [B, T, E]; rows of padding are zero. */
    protected NDArray embed(NDArray ids, NDArray mask3) {
        return words.forward(ids).mul(mask3);
    }

    /** The 1/0 attention mask [B, T] as float [B, T, 1], to multiply states with. */
    protected static NDArray mask3(NDArray attentionMask) {
        return attentionMask.toType(DataType.FLOAT32, false).expandDims(2);
    }

    protected static NDArray dropout(NDArray x, float p, boolean training) {
        return Functional.dropout(x, p, training);
    }

    /**
     * Fills parameter {@code key} from U[-bound, bound] (PyTorch's default for Linear, Conv and LSTM: bound
     * 1/√fan_in), drawing from the model's seed in creation order, so a seed gives the same model.
     */
    protected final String uniform(String key, float bound) {
        NDArray a = params.get(key);
        float[] v = new float[Math.toIntExact(a.getShape().size())];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        a.set(FloatBuffer.wrap(v));
        return key;
    }

    protected static int intOf(JsonObject o, String key) {
        return o.get(key).getAsInt();
    }
}
