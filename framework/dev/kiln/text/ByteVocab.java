package dev.kiln.text;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

import dev.kiln.util.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A character-level vocabulary for small demos (nanoGPT's Shakespeare): one token per UTF-8 byte seen
 * in the corpus, plus {@code <|endoftext|>}. It is stored as an ordinary HF tokenizer.json — GPT-2's
 * byte-level BPE with an empty merge list — so DJL, HF {@code AutoTokenizer} and {@link Tokenizer#load}
 * read it unchanged. For ASCII text a token is exactly a character; other characters become their
 * UTF-8 bytes. Bytes the corpus never had are dropped when encoding (BPE without an unknown token does
 * that), so build the vocabulary from every file the model will see.
 */
public final class ByteVocab {
    private ByteVocab() {}

    /** GPT-2's byte → printable character table (bytes_to_unicode), which ByteLevel pre-tokenizers use. */
    public static char[] byteToChar() {
        char[] map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = (char) (printable ? b : next++);
        }
        return map;
    }

    /**
     * tokenizer.json for the bytes flagged in {@code seen}: ids in byte order, then {@code <|endoftext|>}.
     */
    public static JsonObject tokenizerJson(boolean[] seen) {
        char[] map = byteToChar();
        JsonObject vocab = new JsonObject();
        int id = 0;
        for (int b = 0; b < 256; b++) if (seen[b]) vocab.addProperty(String.valueOf(map[b]), id++);
        int eos = id;
        vocab.addProperty(TokenizerJson.GPT2_EOS, eos);

        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", JsonNull.INSTANCE);
        root.add("padding", JsonNull.INSTANCE);
        JsonArray added = new JsonArray();
        JsonObject t = new JsonObject();
        t.addProperty("id", eos);
        t.addProperty("content", TokenizerJson.GPT2_EOS);
        t.addProperty("single_word", false);
        t.addProperty("lstrip", false);
        t.addProperty("rstrip", false);
        t.addProperty("normalized", true);
        t.addProperty("special", true);
        added.add(t);
        root.add("added_tokens", added);
        root.add("normalizer", JsonNull.INSTANCE);
        // no prefix space: a character model must see the text exactly as written
        root.add("pre_tokenizer", TokenizerJson.byteLevel(false, true));
        root.add("post_processor", TokenizerJson.byteLevel(false, false));
        root.add("decoder", TokenizerJson.byteLevel(false, true));
        JsonObject model = TokenizerJson.bpeModel(vocab, new JsonArray());
        root.add("model", model);
        return root;
    }

    /** Writes a full tokenizer folder (tokenizer.json, vocab.json, merges.txt, configs) and loads it back. */
    public static Tokenizer create(Path dir, boolean[] seen) throws IOException {
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".tokenizer", ".json");
        try {
            AtomicFiles.writeJson(tmp, tokenizerJson(seen));
            try (Tokenizer t = Tokenizer.fromTokenizerJson(tmp)) {
                t.save(dir);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return Tokenizer.load(dir);
    }
}
