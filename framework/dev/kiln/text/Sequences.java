package dev.kiln.text;

import java.util.Arrays;
import java.util.List;

/**
 * Model inputs from token ids: special tokens for the backbone, truncation to a length budget and
 * dynamic padding of a batch. BERT gets [CLS] a [SEP] (b [SEP]); GPT-2 gets a (eos b) with no extras.
 */
public final class Sequences {
    private Sequences() {}

    /** One model input: ids and segment ids of equal length. */
    public record Input(long[] ids, long[] typeIds) {
        public int length() {
            return ids.length;
        }
    }

    /** Special tokens the builder adds for a sequence pair (or single when {@code pair} is false). */
    public static int specialCount(Tokenizer tok, boolean pair) {
        if (tok.isWordPiece()) return pair ? 3 : 2;
        return pair ? 1 : 0;
    }

    /** Special tokens {@link #build} puts before the first text's tokens ([CLS] for BERT, none for GPT-2). */
    public static int leadingSpecials(Tokenizer tok) {
        return tok.isWordPiece() ? 1 : 0;
    }

    /**
     * Builds an input from raw token ids (no special tokens). Longest-first truncation for pairs,
     * as HF does by default, so both texts keep as much as the budget allows.
     */
    public static Input build(Tokenizer tok, long[] a, long[] b, int maxLength) {
        int budget = maxLength - specialCount(tok, b != null);
        if (budget < 1) throw new IllegalArgumentException("max_length " + maxLength + " leaves no room for tokens");
        int la = a.length;
        int lb = b == null ? 0 : b.length;
        while (la + lb > budget) {
            if (la >= lb) la--; else lb--;
        }
        long[] ta = Arrays.copyOf(a, la);
        long[] tb = b == null ? null : Arrays.copyOf(b, lb);
        int n = la + lb + specialCount(tok, b != null);
        long[] ids = new long[n];
        long[] types = new long[n];
        int p = 0;
        if (tok.isWordPiece()) {
            ids[p++] = tok.clsId();
            for (long x : ta) ids[p++] = x;
            ids[p++] = tok.sepId();
            if (tb != null) {
                for (long x : tb) { types[p] = 1; ids[p++] = x; }
                types[p] = 1;
                ids[p++] = tok.sepId();
            }
        } else {
            for (long x : ta) ids[p++] = x;
            if (tb != null) {
                ids[p++] = tok.eosId();
                for (long x : tb) ids[p++] = x;
            }
        }
        return new Input(ids, types);
    }

    /** Right-padded [B, T] arrays for a batch, T = the longest input. */
    public record Padded(long[][] ids, long[][] typeIds, long[][] mask, long tokens) {}

    public static Padded pad(List<Input> inputs, long padId) {
        int t = 0;
        for (Input in : inputs) t = Math.max(t, in.length());
        long[][] ids = new long[inputs.size()][t];
        long[][] types = new long[inputs.size()][t];
        long[][] mask = new long[inputs.size()][t];
        long tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            Input in = inputs.get(i);
            Arrays.fill(ids[i], padId);
            System.arraycopy(in.ids(), 0, ids[i], 0, in.length());
            System.arraycopy(in.typeIds(), 0, types[i], 0, in.length());
            Arrays.fill(mask[i], 0, in.length(), 1);
            tokens += in.length();
        }
        return new Padded(ids, types, mask, tokens);
    }

    /** The id used for padding: [PAD], else end-of-text (GPT-2 has no pad token), else 0. */
    public static long padId(Tokenizer tok) {
        if (tok.padId() != null) return tok.padId();
        if (tok.eosId() != null) return tok.eosId();
        return 0;
    }
}
