package dev.kiln.text;

import java.util.Arrays;

/**
 * Where a model wants special tokens around its input, for one text and for a pair, and how a word is
 * written when words are tokenized one by one. A single text is {@code prefix a singleSuffix}; a pair is
 * {@code prefix a middle b pairSuffix}, with {@code b} and {@code pairSuffix} in segment
 * {@code secondSegment} (everything else in segment 0).
 *
 * <p>Which template a model uses is its architecture's decision ({@code Architecture.template}); a
 * tokenizer opened for a model carries it ({@link Tokenizer#template()}). A tokenizer opened on its own
 * gets {@link #of(Tokenizer)}: the template its own tokenizer.json post-processor applies.
 *
 * @param prefix          specials before the first text ([CLS]; none for GPT-2)
 * @param singleSuffix    specials after a single text ([SEP]; none for GPT-2)
 * @param middle          specials between the texts of a pair ([SEP]; end-of-text for GPT-2)
 * @param pairSuffix      specials after the second text ([SEP]; none for GPT-2)
 * @param secondSegment   segment (type) id of the second text (1 for BERT, 0 where the model has no segments)
 * @param spaceBeforeWords whether a word after the first must be tokenized with a leading space to get the
 *                        tokens it has inside running text (byte-level BPE: "Ġword"; WordPiece: no)
 */
public record InputTemplate(long[] prefix, long[] singleSuffix, long[] middle, long[] pairSuffix,
                            long secondSegment, boolean spaceBeforeWords) {

    /** Special tokens {@link #build} adds for a pair (or a single text when {@code pair} is false). */
    public int specialCount(boolean pair) {
        return pair ? prefix.length + middle.length + pairSuffix.length : prefix.length + singleSuffix.length;
    }

    /** Special tokens before the first text's tokens. */
    public int leadingSpecials() {
        return prefix.length;
    }

    /** Position of the second text's first token in a pair whose first text has {@code firstLength} tokens. */
    public int secondStart(int firstLength) {
        return prefix.length + firstLength + middle.length;
    }

    /** How word {@code index} of a pre-split sentence is written before it is tokenized alone. */
    public String wordText(int index, String word) {
        return index > 0 && spaceBeforeWords ? " " + word : word;
    }

    /**
     * A model input from raw token ids (no special tokens). Longest-first truncation for pairs, as HF does
     * by default, so both texts keep as much as the budget allows.
     */
    public Sequences.Input build(long[] a, long[] b, int maxLength) {
        boolean pair = b != null;
        int budget = maxLength - specialCount(pair);
        if (budget < 1) throw new IllegalArgumentException("max_length " + maxLength + " leaves no room for tokens");
        int la = a.length;
        int lb = pair ? b.length : 0;
        while (la + lb > budget) {
            if (la >= lb) la--; else lb--;
        }
        int n = la + lb + specialCount(pair);
        long[] ids = new long[n];
        long[] types = new long[n];
        int p = 0;
        for (long x : prefix) ids[p++] = x;
        for (int i = 0; i < la; i++) ids[p++] = a[i];
        if (!pair) {
            for (long x : singleSuffix) ids[p++] = x;
            return new Sequences.Input(ids, types);
        }
        for (long x : middle) ids[p++] = x;
        for (int i = 0; i < lb; i++) { types[p] = secondSegment; ids[p++] = b[i]; }
        for (long x : pairSuffix) { types[p] = secondSegment; ids[p++] = x; }
        return new Sequences.Input(ids, types);
    }

    /**
     * The template {@code tok}'s own tokenizer.json applies (its post-processor, read by encoding a probe
     * text with special tokens). Where it puts nothing between the texts of a pair (GPT-2's byte-level
     * post-processor), the pair is joined by the end-of-text token, in segment 0, so a model without
     * separators still sees where the first text ends. A word needs a leading space when " w" and "w"
     * tokenize differently (byte-level BPE without add_prefix_space).
     */
    public static InputTemplate of(Tokenizer tok) {
        Encoding single = tok.encode(PROBE_A, true);
        long[][] s = split(single, 1);
        Encoding pair = tok.encodePair(PROBE_A, PROBE_B);
        long[][] p = split(pair, 2);
        long[] middle = p[1];
        long second = 0;
        for (int i = 0; i < pair.length(); i++) {
            if (pair.sequenceIds()[i] == 1) { second = pair.typeIds()[i]; break; }
        }
        if (p[0].length == 0 && middle.length == 0 && p[2].length == 0) {
            middle = tok.eosId() == null ? new long[0] : new long[] {tok.eosId()};
            second = 0;
        }
        boolean space = !Arrays.equals(tok.encode(PROBE_A, false).ids(), tok.encode(" " + PROBE_A, false).ids());
        return new InputTemplate(s[0], s[2], middle, p[2], second, space);
    }

    private static final String PROBE_A = "hello";
    private static final String PROBE_B = "world";

    /** Specials before, between and after the {@code texts} texts of an encoding (sequence ids 0, 1). */
    private static long[][] split(Encoding e, int texts) {
        int[] seq = e.sequenceIds();
        long[] stm = e.specialTokensMask();
        int firstA = -1, lastA = -1, firstB = -1, lastB = -1;
        for (int i = 0; i < e.length(); i++) {
            if (stm[i] == 1) continue;
            if (seq[i] == 0) { if (firstA < 0) firstA = i; lastA = i; }
            if (seq[i] == 1) { if (firstB < 0) firstB = i; lastB = i; }
        }
        if (firstA < 0 || (texts == 2 && firstB < 0)) {
            throw new IllegalStateException("the tokenizer dropped a probe text; cannot read its template");
        }
        long[] ids = e.ids();
        int end = texts == 2 ? lastB : lastA;
        return new long[][] {
            Arrays.copyOfRange(ids, 0, firstA),
            texts == 2 ? Arrays.copyOfRange(ids, lastA + 1, firstB) : new long[0],
            Arrays.copyOfRange(ids, end + 1, ids.length)};
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InputTemplate t && Arrays.equals(prefix, t.prefix) && Arrays.equals(singleSuffix, t.singleSuffix)
                && Arrays.equals(middle, t.middle) && Arrays.equals(pairSuffix, t.pairSuffix)
                && secondSegment == t.secondSegment && spaceBeforeWords == t.spaceBeforeWords;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(prefix) * 31 + Arrays.hashCode(middle);
    }

    @Override
    public String toString() {
        return "InputTemplate[prefix=" + Arrays.toString(prefix) + ", singleSuffix=" + Arrays.toString(singleSuffix)
                + ", middle=" + Arrays.toString(middle) + ", pairSuffix=" + Arrays.toString(pairSuffix)
                + ", secondSegment=" + secondSegment + ", spaceBeforeWords=" + spaceBeforeWords + "]";
    }
}
