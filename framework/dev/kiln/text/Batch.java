package dev.kiln.text;

/**
 * Encoded texts, right-padded to the longest row (at most the maxLength asked for).
 * Padding positions have the pad id, attention mask 0, type id 0 and special-tokens mask 1.
 */
public final class Batch {
    private final long[][] ids;
    private final long[][] attentionMask;
    private final long[][] typeIds;
    private final long[][] specialTokensMask;
    private final int[] lengths;

    Batch(long[][] ids, long[][] attentionMask, long[][] typeIds, long[][] specialTokensMask, int[] lengths) {
        this.ids = ids;
        this.attentionMask = attentionMask;
        this.typeIds = typeIds;
        this.specialTokensMask = specialTokensMask;
        this.lengths = lengths;
    }

    public long[][] ids() { return ids; }

    public long[][] attentionMask() { return attentionMask; }

    public long[][] typeIds() { return typeIds; }

    /** 1 for [CLS]/[SEP] and padding: the positions masked-LM corruption must not touch. */
    public long[][] specialTokensMask() { return specialTokensMask; }

    /** Unpadded length of each row. */
    public int[] lengths() { return lengths; }

    public int size() { return ids.length; }

    /** Padded row length (0 for an empty batch). */
    public int width() { return ids.length == 0 ? 0 : ids[0].length; }
}
