package dev.kiln.text;

/**
 * One encoded text (or text pair), HF-style. Arrays are the encoding's own: treat them as read-only.
 * Special tokens added by the template ([CLS], [SEP]) have word id -1, sequence id -1 and offsets [0, 0).
 */
public final class Encoding {
    private final long[] ids;
    private final long[] typeIds;
    private final long[] attentionMask;
    private final long[] specialTokensMask;
    private final int[] wordIds;
    private final int[] sequenceIds;
    private final int[][] offsets;
    private final String[] tokens;

    Encoding(long[] ids, long[] typeIds, long[] attentionMask, long[] specialTokensMask,
             int[] wordIds, int[] sequenceIds, int[][] offsets, String[] tokens) {
        this.ids = ids;
        this.typeIds = typeIds;
        this.attentionMask = attentionMask;
        this.specialTokensMask = specialTokensMask;
        this.wordIds = wordIds;
        this.sequenceIds = sequenceIds;
        this.offsets = offsets;
        this.tokens = tokens;
    }

    public long[] ids() { return ids; }

    /** 0 for the first text (and its [CLS]/[SEP]), 1 for the second of a pair. */
    public long[] typeIds() { return typeIds; }

    public long[] attentionMask() { return attentionMask; }

    /** 1 where the template added a special token; special tokens written in the text itself get 0 (as in HF). */
    public long[] specialTokensMask() { return specialTokensMask; }

    /** Index of the pre-tokenized word a token came from, counted per sequence; -1 for template special tokens. */
    public int[] wordIds() { return wordIds; }

    /** 0 or 1: which text of a pair a token came from (offsets index into that text); -1 for template special tokens. */
    public int[] sequenceIds() { return sequenceIds; }

    /** Per token {start, end}: a [start, end) range of Java String (UTF-16) indices into its own input text. */
    public int[][] offsets() { return offsets; }

    public String[] tokens() { return tokens; }

    public int length() { return ids.length; }
}
