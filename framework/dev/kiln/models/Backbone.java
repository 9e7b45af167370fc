package dev.kiln.models;

import ai.djl.ndarray.NDArray;
import com.google.gson.JsonObject;
import dev.kiln.nn.Parameters;

/**
 * What a task head needs from a pretrained encoder or decoder, so one head serves BERT and GPT-2.
 * Head parameters go into the same {@link #params()} store under HF head names
 * ({@code classifier.*} for BERT, {@code score.*} for GPT-2), so a fine-tuned folder is one checkpoint.
 */
public interface Backbone {
    /** "bert" or "gpt2", or a classic model's name ("mlp", "textcnn", "bilstm"; see models.classic.ClassicModels). */
    String modelType();

    Parameters params();

    int hiddenSize();

    int numLayers();

    /** Longest sequence the position table allows. */
    int maxPositions();

    /** Token states [B, T, H]. {@code typeIds} may be null; GPT-2 ignores it. */
    NDArray hiddenStates(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training);

    /**
     * One vector per sequence: "cls" (BERT's pooled [CLS], tanh-projected when the model has a pooler),
     * "mean" (over real tokens), "last" (last real token; GPT-2's default).
     */
    NDArray sequenceVector(NDArray hidden, NDArray attentionMask, String pooling);

    /**
     * One vector per sequence from the inputs: {@link #sequenceVector} of {@link #hiddenStates}. A model whose
     * pooling comes before its layers (the classic MLP averages word vectors, then applies them) overrides it.
     */
    default NDArray pooled(NDArray ids, NDArray typeIds, NDArray attentionMask, boolean training, String pooling) {
        return sequenceVector(hiddenStates(ids, typeIds, attentionMask, training), attentionMask, pooling);
    }

    /** The backbone's config.json, to which tasks add their fields (labels, architectures). */
    JsonObject configJson();

    /** Dropout probability applied to hidden states in this backbone (heads reuse it). */
    float hiddenDropout();
}
