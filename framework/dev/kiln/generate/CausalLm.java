package dev.kiln.generate;

/**
 * What decoding needs from a language model: next-token logits for a batch of sequences that grow
 * one token at a time. Implementations keep their own cache (the KV cache for GPT-2).
 */
public interface CausalLm extends AutoCloseable {
    int vocabSize();

    /**
     * Starts a batch from left-padded prompts ({@code mask} 1 for real tokens); returns the logits
     * for the token after each prompt, [B][V].
     */
    float[][] start(long[][] prompts, long[][] mask);

    /** Appends one token per row; returns the logits for the following token, [B][V]. */
    float[][] next(long[] tokens);

    /** Keeps/duplicates rows: new row i continues old row {@code rows[i]} (beam search). */
    void reorder(int[] rows);

    /**
     * The tokens row {@code row} reads besides its prompt ({@link GenerationOptions#inputVocabularyOnly}): an
     * encoder-decoder's source; null for a decoder-only model, whose input is its prompt.
     */
    default long[] inputTokens(int row) {
        return null;
    }

    @Override
    default void close() {}
}
