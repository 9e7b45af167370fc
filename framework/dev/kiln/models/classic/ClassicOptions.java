package dev.kiln.models.classic;

import dev.kiln.config.Rules.Matches;
import dev.kiln.config.Rules.NameOrPath;
import dev.kiln.config.Rules.Range;

/**
 * The {@code model.classic} section: options of the classic models ({@code model.name} "mlp", "textcnn",
 * "bilstm"). Every key is optional; null takes the model's default (see each model and docs/config.md).
 * Which keys a model reads is declared with its registration in {@link ClassicModels}; a key another model
 * reads is an error for this one, so a typo'd experiment does not silently run with defaults.
 */
public class ClassicOptions {
    /** Width of the word vectors; null: 300, or the width of {@link #embeddings} when set. */
    @Range(min = 1)
    public Integer embeddingDim;
    /** MLP: units per hidden layer (256). BiLSTM: units per direction (150). */
    @Range(min = 1)
    public Integer hiddenSize;
    /** MLP: hidden layers (1). BiLSTM: stacked bidirectional layers (1). */
    @Range(min = 1, max = 4)
    public Integer numLayers;
    /** TextCNN: filter widths in words ([3, 4, 5]). */
    @Range(min = 1, max = 20)
    public int[] filterSizes;
    /** TextCNN: filters per width (100). */
    @Range(min = 1)
    public Integer numFilters;
    /** MLP: activation of the hidden layers (relu). */
    @Matches(regex = "relu|tanh|gelu", allowed = {"relu", "tanh", "gelu"})
    public String activation;
    /** Word vocabulary: most words kept, the 4 special tokens included (20000). */
    @Range(min = 5)
    public Integer vocabSize;
    /** Word vocabulary: least number of occurrences in the training text for a word to get its own id (1). */
    @Range(min = 1)
    public Integer minFreq;
    /** A zoo model or BERT folder whose word embeddings initialise the table; null: random. */
    @NameOrPath
    public String embeddings;
}
