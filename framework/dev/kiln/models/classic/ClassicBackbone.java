package dev.kiln.models.classic;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Parameters;
import dev.kiln.nn.Pooling;

import java.nio.FloatBuffer;
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
 */
public abstract class ClassicBackbone implements Backbone {
    /** The table's name, as in a BERT checkpoint without its {@code bert.} prefix ({@code training.freeze: "embeddings"} freezes it). */
    public static final String EMBEDDINGS = "embeddings.word_embeddings.weight";

    protected final JsonObject config;
    protected final Parameters params;
    protected final int vocabSize;
    protected final int embeddingDim;
    protected final float dropout;
    private final SplittableRandom rng;

    protected ClassicBackbone(JsonObject config, Parameters params) {
        this.config = config.deepCopy();
        this.params = params;
        this.vocabSize = config.get("vocab_size").getAsInt();
        this.embeddingDim = config.get("embedding_dim").getAsInt();
        this.dropout = config.get("dropout").getAsFloat();
        this.rng = new SplittableRandom(config.has("seed") ? config.get("seed").getAsLong() : 42);
        // Kim (2014): randomly initialised word vectors drawn from U[-0.25, 0.25]
        uniform(EMBEDDINGS, 0.25f, vocabSize, embeddingDim);
    }

    @Override
    public String modelType() {
        return config.get("model_type").getAsString();
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
        NDArray e = ai.djl.nn.core.Embedding.embedding(ids, params.get(EMBEDDINGS), ai.djl.ndarray.types.SparseFormat.DENSE)
                .singletonOrThrow();
        return e.mul(mask3);
    }

    /** The 1/0 attention mask [B, T] as float [B, T, 1], to multiply states with. */
    protected static NDArray mask3(NDArray attentionMask) {
        return attentionMask.toType(DataType.FLOAT32, false).expandDims(2);
    }

    /** x Wᵀ + b over the last axis. */
    protected NDArray linear(NDArray x, String weight, String bias) {
        return ai.djl.nn.core.Linear.linear(x, params.get(weight), bias == null ? null : params.get(bias)).singletonOrThrow();
    }

    protected static NDArray dropout(NDArray x, float p, boolean training) {
        return Functional.dropout(x, p, training);
    }

    /** A new parameter filled from U[-bound, bound] (PyTorch's default for Linear, Conv and LSTM: bound 1/√fan_in). */
    protected final String uniform(String name, float bound, long... shape) {
        NDArray a = params.create(name, Parameters.Init.ZEROS, shape);
        float[] v = new float[Math.toIntExact(new Shape(shape).size())];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        a.set(FloatBuffer.wrap(v));
        return name;
    }

    protected static int intOf(JsonObject o, String key) {
        return o.get(key).getAsInt();
    }
}
