package dev.kiln.text;

import java.util.Arrays;
import java.util.List;

/**
 * Model inputs from token ids: special tokens for the backbone (its {@link InputTemplate}: BERT gets
 * [CLS] a [SEP] (b [SEP]), GPT-2 a (eos b)), truncation to a length budget and dynamic padding of a batch.
 */
public final class Sequences {
    private Sequences() {}

    /** One model input: ids and segment ids of equal length. */
    public record Input(long[] ids, long[] typeIds) {
        public int length() {
            return ids.length;
        }
    }

    /** Special tokens {@link #build} adds for a sequence pair (or single when {@code pair} is false). */
    public static int specialCount(Tokenizer tok, boolean pair) {
        return tok.template().specialCount(pair);
    }

    /** Special tokens {@link #build} puts before the first text's tokens ([CLS] for BERT, none for GPT-2). */
    public static int leadingSpecials(Tokenizer tok) {
        return tok.template().leadingSpecials();
    }

    /**
     * Builds an input from raw token ids (no special tokens) with the tokenizer's {@link Tokenizer#template()}.
     * Longest-first truncation for pairs, as HF does by default, so both texts keep as much as the budget allows.
     */
    public static Input build(Tokenizer tok, long[] a, long[] b, int maxLength) {
        return tok.template().build(a, b, maxLength);
    }

    /** Right-padded [B, T] arrays for a batch, T = the longest input. */
    public record Padded(long[][] ids, long[][] typeIds, long[][] mask, long tokens) {
        /** Positions computed, padding included: rows × padded width. */
        public long padded() {
            return ids.length == 0 ? 0 : (long) ids.length * ids[0].length;
        }
    }

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
