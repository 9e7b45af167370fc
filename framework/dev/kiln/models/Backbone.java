package dev.kiln.models;

import ai.djl.ndarray.NDArray;
import com.google.gson.JsonObject;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;

import java.util.List;

/**
 * What a task head needs from a pretrained encoder or decoder, so one head serves BERT and GPT-2.
 * Heads are modules attached to {@link #root()} under HF head names ({@code classifier} for BERT,
 * {@code score} for GPT-2), so their parameters share the {@link #params()} store and a fine-tuned
 * folder is one checkpoint.
 */
public interface Backbone {
    /** The architecture this backbone is ({@link Architecture}: templates, head names, HF classes). */
    Architecture architecture();

    /** config.json's model_type, for messages; never compare it: ask {@link #architecture()}. */
    default String modelType() {
        return architecture().modelType();
    }

    Parameters params();

    /** The model's module tree (the model itself); task heads attach to it as children ({@code classifier}, ...). */
    Module root();

    /**
     * The pretrained subtree ({@code bert}, {@code transformer}); every other child of {@link #root()} is a head. A
     * classic model, whose keys have no prefix, returns a view of its children without the heads.
     */
    Module body();

    /** The embedding modules (what freezing "embeddings" freezes): BERT's {@code bert.embeddings}, GPT-2's wte and wpe, a classic model's {@code embeddings}. */
    List<? extends Module> embeddingModules();

    /** The Transformer layers, bottom first ({@code bert.encoder.layer.N}, {@code transformer.h.N}). */
    List<? extends Module> layerModules();

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
