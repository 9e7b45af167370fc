package dev.kiln.tasks.ner;

import dev.kiln.config.Rules;

/** The {@code task} section of a NER config (beyond {@code type}); {@link Data} adds {@code data} keys. */
public class NerOptions {
    /**
     * Tokens that consecutive windows share when a sentence is longer than data.max_length (HF's
     * stride); must be below the window (max_length minus special tokens).
     */
    @Rules.Range(min = 0)
    public int stride = 16;

    /** Batch size (windows) for evaluation and prediction. */
    @Rules.Range(min = 1)
    public int evalBatchSize = 64;

    /** The {@code data} keys of token-tagging files. */
    public static class Data {
        /** CoNLL: 0-based column of the token. */
        @Rules.Range(min = 0)
        public int tokenColumn = 0;

        /** CoNLL: 0-based column of the tag; -1 = the last column. */
        @Rules.Range(min = -1)
        public int tagColumn = -1;

        /** auto (IOB1 if an entity starts with I-, else IOB2), iob1 (converted to IOB2 on read), iob2 / bio. */
        @Rules.Matches(regex = "auto|iob1|iob2|bio", allowed = {"auto", "iob1", "iob2", "bio"})
        public String tagScheme = "auto";

        /** JSONL: the field holding the list of words. */
        public String tokensField = "tokens";

        /** JSONL: the field holding the list of tags (strings). */
        public String tagsField = "tags";
    }
}
