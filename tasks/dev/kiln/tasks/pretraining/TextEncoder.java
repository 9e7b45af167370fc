package dev.kiln.tasks.pretraining;

import dev.kiln.text.Tokenizer;
import dev.kiln.text.ByteVocab;
import java.nio.charset.StandardCharsets;

/**
 * Text to token ids without special tokens, as the pretraining pipeline needs it: a chunk of a
 * document at a time. For a byte vocabulary ({@link ByteVocab}) it is a table lookup in Java, which
 * gives exactly the HF tokenizer's ids (a test checks it) at memory speed — except that a literal
 * "<|endoftext|>" in the text stays bytes, where HF would match the added token; otherwise it is
 * {@link Tokenizer#encode(String, boolean)}.
 */
public interface TextEncoder {
    /** Token ids of {@code text}, no special tokens added. */
    int[] encode(String text);

    static TextEncoder of(Tokenizer tok) {
        int[] table = tok.byteTable();
        if (table != null) return text -> encodeBytes(table, text);
        return text -> {
            long[] ids = tok.encode(text, false).ids();
            int[] out = new int[ids.length];
            for (int i = 0; i < ids.length; i++) out[i] = (int) ids[i];
            return out;
        };
    }

    private static int[] encodeBytes(int[] table, String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] out = new int[b.length];
        int n = 0;
        for (byte x : b) {
            int id = table[x & 0xFF];
            if (id >= 0) out[n++] = id; // a byte the vocabulary lacks is dropped, as HF BPE without unk does
        }
        return n == out.length ? out : java.util.Arrays.copyOf(out, n);
    }
}
