package dev.kiln.text;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Builds and reads HF tokenizer.json trees (the format of the Rust tokenizers library DJL wraps). */
final class TokenizerJson {
    private TokenizerJson() {}

    // serializeNulls: HF files spell out "normalizer": null etc.; no HTML escaping so <|endoftext|> stays readable.
    static final Gson COMPACT = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    static final String[] BERT_SPECIALS = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    static final String GPT2_EOS = "<|endoftext|>";

    static JsonObject read(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file");
        }
        try {
            JsonElement e = JsonParser.parseString(text);
            if (!e.isJsonObject()) throw new JsonParseException("top level is not an object");
            return e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IOException(file + ": not valid JSON (" + dev.kiln.util.JsonErrors.oneLine(e) + "); re-download or re-save it");
        }
    }

    static JsonObject readIfPresent(Path file) throws IOException {
        return Files.isRegularFile(file) ? read(file) : null;
    }

    /** A special-token entry as HF configs write it: a string or {"content": "..."}. */
    static String tokenName(JsonElement e) {
        if (e == null || e.isJsonNull()) return null;
        if (e.isJsonPrimitive()) return e.getAsString();
        if (e.isJsonObject() && e.getAsJsonObject().has("content")) return e.getAsJsonObject().get("content").getAsString();
        return null;
    }

    /** vocab.txt as HF's load_vocab reads it: one token per line (split on '\n' only), id = line number. */
    static JsonObject readVocabTxt(Path vocabTxt) throws IOException {
        String text;
        try {
            text = Files.readString(vocabTxt, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IOException(vocabTxt + ": no such file");
        }
        String[] lines = text.split("\n", -1);
        int n = text.endsWith("\n") ? lines.length - 1 : lines.length;
        if (n == 0 || text.isEmpty()) throw new IOException(vocabTxt + ": empty vocabulary; expected one WordPiece token per line");
        JsonObject vocab = new JsonObject();
        for (int i = 0; i < n; i++) vocab.addProperty(lines[i], i); // a repeated token keeps its last id, as in HF
        return vocab;
    }

    /** The tokenizer.json HF's BertTokenizerFast converter produces from a vocab.txt. */
    static JsonObject wordPiece(Path vocabTxt, boolean lowercase, JsonElement stripAccents, boolean chineseChars)
            throws IOException {
        JsonObject vocab = readVocabTxt(vocabTxt);
        JsonObject root = header();

        JsonArray added = new JsonArray();
        TreeMap<Integer, String> specials = new TreeMap<>();
        for (String s : BERT_SPECIALS) if (vocab.has(s)) specials.put(vocab.get(s).getAsInt(), s);
        for (Map.Entry<Integer, String> s : specials.entrySet()) added.add(addedToken(s.getKey(), s.getValue(), false));
        root.add("added_tokens", added);

        JsonObject norm = new JsonObject();
        norm.addProperty("type", "BertNormalizer");
        norm.addProperty("clean_text", true);
        norm.addProperty("handle_chinese_chars", chineseChars);
        norm.add("strip_accents", stripAccents == null ? JsonNull.INSTANCE : stripAccents); // null: follow lowercase
        norm.addProperty("lowercase", lowercase);
        root.add("normalizer", norm);

        JsonObject pre = new JsonObject();
        pre.addProperty("type", "BertPreTokenizer");
        root.add("pre_tokenizer", pre);

        if (vocab.has("[CLS]") && vocab.has("[SEP]")) {
            root.add("post_processor", bertTemplate(vocab.get("[CLS]").getAsInt(), vocab.get("[SEP]").getAsInt()));
        } else {
            root.add("post_processor", JsonNull.INSTANCE); // nothing to wrap the text in
        }

        JsonObject dec = new JsonObject();
        dec.addProperty("type", "WordPiece");
        dec.addProperty("prefix", "##");
        dec.addProperty("cleanup", true);
        root.add("decoder", dec);

        JsonObject model = new JsonObject();
        model.addProperty("type", "WordPiece");
        model.addProperty("unk_token", "[UNK]");
        model.addProperty("continuing_subword_prefix", "##");
        model.addProperty("max_input_chars_per_word", 100);
        model.add("vocab", vocab);
        root.add("model", model);
        return root;
    }

    /** The tokenizer.json of HF's GPT2TokenizerFast: byte-level BPE, no template tokens, <|endoftext|> special. */
    static JsonObject byteLevelBpe(Path vocabJson, Path mergesTxt) throws IOException {
        JsonObject vocab = read(vocabJson);
        for (Map.Entry<String, JsonElement> e : vocab.entrySet()) {
            JsonElement v = e.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) {
                throw new IOException(vocabJson + ": token " + e.getKey() + " has no integer id; expected a GPT-2 vocab.json/encoder.json");
            }
        }
        JsonArray merges = new JsonArray();
        List<String> lines;
        try {
            lines = Files.readAllLines(mergesTxt, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IOException(mergesTxt + ": no such file");
        }
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.isBlank() || (i == 0 && l.startsWith("#version"))) continue;
            String[] parts = l.trim().split(" ");
            if (parts.length != 2) throw new IOException(mergesTxt + ":" + (i + 1) + ": expected two space-separated tokens per merge line");
            merges.add(parts[0] + " " + parts[1]);
        }
        JsonObject root = header();
        JsonArray added = new JsonArray();
        if (vocab.has(GPT2_EOS)) added.add(addedToken(vocab.get(GPT2_EOS).getAsInt(), GPT2_EOS, true));
        root.add("added_tokens", added);
        root.add("normalizer", JsonNull.INSTANCE);
        root.add("pre_tokenizer", byteLevel(false, true));
        // trim_offsets=false: a token's span includes its leading space, so spans tile the text.
        root.add("post_processor", byteLevel(true, false));
        root.add("decoder", byteLevel(true, true));

        JsonObject model = bpeModel(vocab, merges);
        root.add("model", model);
        return root;
    }

    /** Merges as "a b" lines; newer tokenizer.json files store them as ["a", "b"] pairs. */
    static List<String> merges(JsonObject model) {
        List<String> out = new ArrayList<>();
        JsonElement m = model.get("merges");
        if (m == null || !m.isJsonArray()) return out;
        for (JsonElement e : m.getAsJsonArray()) {
            if (e.isJsonArray()) {
                JsonArray p = e.getAsJsonArray();
                out.add(p.get(0).getAsString() + " " + p.get(1).getAsString());
            } else {
                out.add(e.getAsString());
            }
        }
        return out;
    }

    /** The first component of {@code type} in a pre-tokenizer (or a Sequence of them), else null. */
    static JsonObject find(JsonElement component, String type) {
        if (component == null || !component.isJsonObject()) return null;
        JsonObject o = component.getAsJsonObject();
        if (type.equals(string(o, "type"))) return o;
        for (String list : new String[] {"pretokenizers", "normalizers", "processors", "decoders"}) {
            if (o.has(list) && o.get(list).isJsonArray()) {
                for (JsonElement e : o.getAsJsonArray(list)) {
                    JsonObject f = find(e, type);
                    if (f != null) return f;
                }
            }
        }
        return null;
    }

    static String string(JsonObject o, String key) {
        JsonElement e = o == null ? null : o.get(key);
        return e == null || e.isJsonNull() || !e.isJsonPrimitive() ? null : e.getAsString();
    }

    static JsonElement copyOrNull(JsonObject o, String key) {
        JsonElement e = o == null ? null : o.get(key);
        return e == null ? null : e.deepCopy();
    }

    static boolean isBoolean(JsonElement e) {
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean();
    }

    private static JsonObject header() {
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", JsonNull.INSTANCE);
        root.add("padding", JsonNull.INSTANCE);
        return root;
    }

    private static JsonObject addedToken(int id, String content, boolean normalized) {
        JsonObject t = new JsonObject();
        t.addProperty("id", id);
        t.addProperty("content", content);
        t.addProperty("single_word", false);
        t.addProperty("lstrip", false);
        t.addProperty("rstrip", false);
        t.addProperty("normalized", normalized);
        t.addProperty("special", true);
        return t;
    }

    /** A ByteLevel pre-tokenizer / decoder / post-processor entry as HF tokenizers writes it. */
    static JsonObject byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        JsonObject o = new JsonObject();
        o.addProperty("type", "ByteLevel");
        o.addProperty("add_prefix_space", addPrefixSpace);
        o.addProperty("trim_offsets", trimOffsets);
        o.addProperty("use_regex", true);
        return o;
    }

    private static JsonObject bertTemplate(int clsId, int sepId) {
        JsonObject t = new JsonObject();
        t.addProperty("type", "TemplateProcessing");
        JsonArray single = new JsonArray();
        single.add(piece("SpecialToken", "[CLS]", 0));
        single.add(piece("Sequence", "A", 0));
        single.add(piece("SpecialToken", "[SEP]", 0));
        JsonArray pair = single.deepCopy();
        pair.add(piece("Sequence", "B", 1));
        pair.add(piece("SpecialToken", "[SEP]", 1));
        t.add("single", single);
        t.add("pair", pair);
        JsonObject specials = new JsonObject();
        specials.add("[CLS]", templateToken("[CLS]", clsId));
        specials.add("[SEP]", templateToken("[SEP]", sepId));
        t.add("special_tokens", specials);
        return t;
    }

    private static JsonObject piece(String kind, String id, int typeId) {
        JsonObject inner = new JsonObject();
        inner.addProperty("id", id);
        inner.addProperty("type_id", typeId);
        JsonObject o = new JsonObject();
        o.add(kind, inner);
        return o;
    }

    private static JsonObject templateToken(String token, int id) {
        JsonObject o = new JsonObject();
        o.addProperty("id", token);
        JsonArray ids = new JsonArray();
        ids.add(new JsonPrimitive(id));
        o.add("ids", ids);
        JsonArray tokens = new JsonArray();
        tokens.add(token);
        o.add("tokens", tokens);
        return o;
    }

    /** A byte-level BPE "model" section (no unk token, no prefixes), shared by the GPT-2 and character vocabularies. */
    static JsonObject bpeModel(JsonObject vocab, JsonArray merges) {
        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("dropout", JsonNull.INSTANCE);
        model.add("unk_token", JsonNull.INSTANCE);
        model.addProperty("continuing_subword_prefix", "");
        model.addProperty("end_of_word_suffix", "");
        model.addProperty("fuse_unk", false);
        model.addProperty("byte_fallback", false);
        model.addProperty("ignore_merges", false);
        model.add("vocab", vocab);
        model.add("merges", merges);
        return model;
    }
}
