package dev.kiln.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.kiln.util.AtomicFiles;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * BERT WordPiece or GPT-2 byte-level BPE tokenization through DJL's binding of HF tokenizers.
 *
 * <p>Behaviour comes from the tokenizer.json alone: DJL is given the JSON as a string, so its Java-side
 * extras (lower-casing, accent stripping and prefix spaces applied to the text before the Rust tokenizer,
 * which shift offsets; default truncation and padding) never run. Offsets are converted from the Rust
 * code-point indices to Java String indices.
 */
public final class Tokenizer implements AutoCloseable {
    private static final String[] SPECIAL_KEYS = {"cls_token", "sep_token", "pad_token", "mask_token", "eos_token"};

    private final HuggingFaceTokenizer hf;
    private final JsonObject json;
    private final JsonObject hfConfig; // tokenizer_config.json of the folder it came from, kept for save()
    private final boolean wordPiece;
    private final Map<String, Integer> tokenToId;
    private final String[] idToToken;
    private final Integer cls, sep, pad, mask, unk, eos;
    private final boolean padExplicit;
    private final boolean cleanUpSpaces; // HF clean_up_tokenization_spaces, applied to the whole decoded string

    private Tokenizer(JsonObject json, Path source, Map<String, String> names, JsonObject hfConfig) throws IOException {
        // Our encode() never truncates or pads; HF would apply these from the file, so drop them for both.
        json.add("truncation", JsonNull.INSTANCE);
        json.add("padding", JsonNull.INSTANCE);
        JsonElement m = json.get("model");
        if (m == null || !m.isJsonObject() || !m.getAsJsonObject().has("vocab") || !m.getAsJsonObject().get("vocab").isJsonObject()) {
            throw new IOException(source + ": no model.vocab object; expected an HF tokenizer.json (WordPiece or BPE)");
        }
        JsonObject model = m.getAsJsonObject();
        String type = TokenizerJson.string(model, "type");
        if (type == null) type = model.has("merges") ? "BPE" : "WordPiece";
        boolean byteLevel = TokenizerJson.find(json.get("pre_tokenizer"), "ByteLevel") != null;
        if (type.equals("WordPiece")) {
            wordPiece = true;
        } else if (type.equals("BPE") && byteLevel) {
            wordPiece = false;
        } else {
            throw new IOException(source + ": unsupported tokenizer (model " + type + (byteLevel ? "" : " without ByteLevel")
                    + "); Kiln reads BERT WordPiece and GPT-2 byte-level BPE tokenizers");
        }

        tokenToId = readVocab(json, model, source);
        TreeMap<Integer, String> byId = new TreeMap<>();
        for (Map.Entry<String, Integer> e : tokenToId.entrySet()) {
            byId.put(e.getValue(), e.getKey()); // keeps one token per id; duplicates only in malformed files
        }
        idToToken = new String[byId.isEmpty() ? 0 : byId.lastKey() + 1];
        for (Map.Entry<Integer, String> e : byId.entrySet()) idToToken[e.getKey()] = e.getValue();

        if (wordPiece) {
            cls = idOf(names.getOrDefault("cls_token", "[CLS]"));
            sep = idOf(names.getOrDefault("sep_token", "[SEP]"));
            pad = idOf(names.getOrDefault("pad_token", "[PAD]"));
            mask = idOf(names.getOrDefault("mask_token", "[MASK]"));
            eos = null;
            padExplicit = true;
        } else {
            cls = names.containsKey("cls_token") ? idOf(names.get("cls_token")) : null;
            sep = names.containsKey("sep_token") ? idOf(names.get("sep_token")) : null;
            mask = names.containsKey("mask_token") ? idOf(names.get("mask_token")) : null;
            eos = idOf(names.getOrDefault("eos_token", TokenizerJson.GPT2_EOS));
            Integer p = names.containsKey("pad_token") ? idOf(names.get("pad_token")) : null;
            padExplicit = p != null;
            pad = p != null ? p : eos; // GPT-2 has no pad token; pad with eos (attention mask hides it)
        }
        String unkName = TokenizerJson.string(model, "unk_token"); // the token the model emits, null for GPT-2
        unk = unkName == null ? null : idOf(unkName);

        this.json = json;
        this.hfConfig = hfConfig;
        // HF's BERT default is true; the Rust WordPiece decoder cleans per token, so "it ' s" needs this pass.
        JsonElement clean = hfConfig == null ? null : hfConfig.get("clean_up_tokenization_spaces");
        cleanUpSpaces = TokenizerJson.isBoolean(clean) ? clean.getAsBoolean() : wordPiece;
        Map<String, String> options = new HashMap<>();
        options.put("addSpecialTokens", "true");
        options.put("truncation", "false");
        options.put("padding", "false");
        options.put("withOverflowingTokens", "false");
        byte[] bytes = TokenizerJson.COMPACT.toJson(json).getBytes(StandardCharsets.UTF_8);
        try {
            // The InputStream overload skips DJL's TokenizerConfig handling (see the class comment).
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), options);
        } catch (RuntimeException e) {
            throw new IOException(source + ": HF tokenizers rejected it (" + e.getMessage() + "); check the file is a valid tokenizer.json");
        }
    }

    /**
     * From a model folder: tokenizer.json if present; else vocab.txt (BERT WordPiece; lowercase from
     * tokenizer_config.json "do_lower_case", else config.json "do_lower_case", else true); else
     * vocab.json + merges.txt (or encoder.json + vocab.bpe, the npm names) as GPT-2 byte-level BPE.
     * Explicit tokenizer_config.json settings HF's fast tokenizers apply on load (do_lower_case,
     * strip_accents, tokenize_chinese_chars, add_prefix_space) and special-token names from
     * special_tokens_map.json are honoured as AutoTokenizer does.
     */
    public static Tokenizer load(Path modelDir) throws IOException {
        if (!Files.isDirectory(modelDir)) {
            throw new IOException(modelDir + ": not a folder; pass a model folder, or a tokenizer.json to fromTokenizerJson");
        }
        JsonObject cfg = TokenizerJson.readIfPresent(modelDir.resolve("tokenizer_config.json"));
        JsonObject map = TokenizerJson.readIfPresent(modelDir.resolve("special_tokens_map.json"));
        Map<String, String> names = specialNames(cfg, map);

        Path tj = modelDir.resolve("tokenizer.json");
        if (Files.isRegularFile(tj)) {
            JsonObject json = TokenizerJson.read(tj);
            applyConfig(json, cfg);
            return new Tokenizer(json, tj, names, cfg);
        }
        Path vocabTxt = modelDir.resolve("vocab.txt");
        if (Files.isRegularFile(vocabTxt)) {
            boolean lower = true;
            JsonObject modelCfg = TokenizerJson.readIfPresent(modelDir.resolve("config.json"));
            if (cfg != null && TokenizerJson.isBoolean(cfg.get("do_lower_case"))) {
                lower = cfg.get("do_lower_case").getAsBoolean();
            } else if (modelCfg != null && TokenizerJson.isBoolean(modelCfg.get("do_lower_case"))) {
                lower = modelCfg.get("do_lower_case").getAsBoolean();
            }
            JsonElement strip = TokenizerJson.copyOrNull(cfg, "strip_accents");
            boolean chinese = cfg == null || !TokenizerJson.isBoolean(cfg.get("tokenize_chinese_chars"))
                    || cfg.get("tokenize_chinese_chars").getAsBoolean();
            JsonObject json = TokenizerJson.wordPiece(vocabTxt, lower, TokenizerJson.isBoolean(strip) ? strip : null, chinese);
            return new Tokenizer(json, vocabTxt, names, cfg);
        }
        for (String[] pair : new String[][] {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}}) {
            Path v = modelDir.resolve(pair[0]);
            Path m = modelDir.resolve(pair[1]);
            if (Files.isRegularFile(v) && Files.isRegularFile(m)) {
                JsonObject json = TokenizerJson.byteLevelBpe(v, m);
                applyConfig(json, cfg);
                return new Tokenizer(json, v, names, cfg);
            }
        }
        throw new IOException(modelDir + ": no tokenizer files; looked for tokenizer.json, vocab.txt, "
                + "vocab.json + merges.txt, encoder.json + vocab.bpe (for GPT-2 run scripts/fetch-assets)");
    }

    public static Tokenizer fromTokenizerJson(Path file) throws IOException {
        return new Tokenizer(TokenizerJson.read(file), file, Map.of(), null);
    }

    /** Builds a tokenizer.json equal in behaviour to HF BertTokenizerFast from a vocab.txt. */
    public static Tokenizer bertWordPiece(Path vocabTxt, boolean lowercase) throws IOException {
        return new Tokenizer(TokenizerJson.wordPiece(vocabTxt, lowercase, null, true), vocabTxt, Map.of(), null);
    }

    /** GPT-2 byte-level BPE from vocab.json (or npm encoder.json) and merges.txt (or vocab.bpe). */
    public static Tokenizer gpt2ByteLevel(Path vocabJson, Path mergesTxt) throws IOException {
        return new Tokenizer(TokenizerJson.byteLevelBpe(vocabJson, mergesTxt), vocabJson, Map.of(), null);
    }

    /** With special tokens: [CLS] text [SEP] for BERT, none for GPT-2. */
    public Encoding encode(String text) {
        return encode(text, true);
    }

    public Encoding encode(String text, boolean addSpecialTokens) {
        return convert(hf.encode(text, addSpecialTokens, false), text, null);
    }

    /** [CLS] a [SEP] b [SEP] with type ids 0 then 1 (GPT-2: a b, type ids 0 then 1). */
    public Encoding encodePair(String a, String b) {
        return convert(hf.encode(a, b, true, false), a, b);
    }

    /**
     * Encodes with special tokens, truncates rows longer than maxLength (keeping a final template
     * [SEP]) and right-pads to the longest row with the pad id (0 if the vocabulary has none).
     */
    public Batch encodeBatch(List<String> texts, int maxLength) {
        if (maxLength < 1) throw new IllegalArgumentException("maxLength must be >= 1, got " + maxLength);
        int n = texts.size();
        Encoding[] enc = new Encoding[n];
        int[] lengths = new int[n];
        int width = 0;
        for (int i = 0; i < n; i++) {
            enc[i] = encode(texts.get(i), true);
            int len = enc[i].length();
            if (len > maxLength && maxLength < 2 && enc[i].specialTokensMask()[len - 1] == 1) {
                throw new IllegalArgumentException("maxLength " + maxLength + " cannot keep both [CLS] and the final [SEP]; use >= 2");
            }
            lengths[i] = Math.min(len, maxLength);
            width = Math.max(width, lengths[i]);
        }
        long padId = pad == null ? 0 : pad;
        long[][] ids = new long[n][width];
        long[][] att = new long[n][width];
        long[][] types = new long[n][width];
        long[][] stm = new long[n][width];
        for (int i = 0; i < n; i++) {
            Encoding e = enc[i];
            int len = lengths[i];
            boolean keepLast = e.length() > len && e.specialTokensMask()[e.length() - 1] == 1;
            int head = keepLast ? len - 1 : len;
            System.arraycopy(e.ids(), 0, ids[i], 0, head);
            System.arraycopy(e.attentionMask(), 0, att[i], 0, head);
            System.arraycopy(e.typeIds(), 0, types[i], 0, head);
            System.arraycopy(e.specialTokensMask(), 0, stm[i], 0, head);
            if (keepLast) {
                int last = e.length() - 1;
                ids[i][head] = e.ids()[last];
                att[i][head] = e.attentionMask()[last];
                types[i][head] = e.typeIds()[last];
                stm[i][head] = 1;
            }
            for (int j = len; j < width; j++) {
                ids[i][j] = padId;
                stm[i][j] = 1;
            }
        }
        return new Batch(ids, att, types, stm, lengths);
    }

    /** As HF decode: the tokenizer.json decoder, then (BERT by default) HF's clean-up of spaces before punctuation. */
    public String decode(long[] ids, boolean skipSpecialTokens) {
        String s = hf.decode(ids, skipSpecialTokens);
        if (!cleanUpSpaces) return s;
        return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",").replace(" ' ", "'")
                .replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s").replace(" 've", "'ve").replace(" 're", "'re");
    }

    /** Highest id + 1 over the model vocabulary and added tokens (HF's len(tokenizer)). */
    public int vocabSize() {
        return idToToken.length;
    }

    public int tokenToId(String token) {
        Integer id = tokenToId.get(token);
        return id == null ? -1 : id;
    }

    /** The token with this id, or null if no token has it. */
    public String idToToken(int id) {
        return id < 0 || id >= idToToken.length ? null : idToToken[id];
    }

    /**
     * For a byte-level BPE with no merges and no prefix space (a {@link ByteVocab} character vocabulary):
     * the id of each byte, -1 where the vocabulary lacks it. Null for every other tokenizer.
     */
    public int[] byteTable() {
        if (wordPiece) return null;
        JsonObject model = json.getAsJsonObject("model");
        if (!TokenizerJson.merges(model).isEmpty()) return null;
        JsonObject bl = TokenizerJson.find(json.get("pre_tokenizer"), "ByteLevel");
        if (bl == null || (bl.has("add_prefix_space") && bl.get("add_prefix_space").getAsBoolean())) return null;
        if (json.get("normalizer") != null && !json.get("normalizer").isJsonNull()) return null;
        char[] map = ByteVocab.byteToChar();
        int[] table = new int[256];
        for (int b = 0; b < 256; b++) table[b] = tokenToId(String.valueOf(map[b]));
        return table;
    }

    /**
     * WordPiece (true) or byte-level BPE (false): a fact about the tokenizer only. Which special tokens a
     * model wants is {@link #template()}, never this.
     */
    public boolean isWordPiece() {
        return wordPiece;
    }

    private volatile InputTemplate template;

    /**
     * Where the model this tokenizer was opened for wants its special tokens: the template its architecture
     * set ({@link #useTemplate}), else the one this tokenizer's own post-processor applies
     * ({@link InputTemplate#of}).
     */
    public InputTemplate template() {
        InputTemplate t = template;
        if (t == null) template = t = InputTemplate.of(this);
        return t;
    }

    /** Sets the input template of the model this tokenizer feeds ({@code Architecture.template}); returns this. */
    public Tokenizer useTemplate(InputTemplate t) {
        this.template = java.util.Objects.requireNonNull(t);
        return this;
    }

    public Integer clsId() { return cls; }

    public Integer sepId() { return sep; }

    /** [PAD] for BERT; for GPT-2 an explicit pad_token if the folder names one, else eos. */
    public Integer padId() { return pad; }

    public Integer maskId() { return mask; }

    /** The model's unknown token ([UNK]); null for byte-level BPE, which never needs one. */
    public Integer unkId() { return unk; }

    /** <|endoftext|> for GPT-2; null for BERT. */
    public Integer eosId() { return eos; }

    /**
     * Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json (plus vocab.txt for
     * WordPiece, vocab.json + merges.txt for BPE), so HF AutoTokenizer and {@link #load} both read the folder.
     */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        JsonObject specials = new JsonObject();
        JsonObject cfg = hfConfig == null ? new JsonObject() : hfConfig.deepCopy();
        cfg.remove("tokenizer_file"); // may point at the old location
        cfg.remove("name_or_path");
        if (wordPiece) {
            JsonObject norm = TokenizerJson.find(json.get("normalizer"), "BertNormalizer");
            if (!cfg.has("tokenizer_class")) cfg.addProperty("tokenizer_class", "BertTokenizer");
            if (norm != null) {
                cfg.add("do_lower_case", norm.get("lowercase"));
                cfg.add("strip_accents", norm.has("strip_accents") ? norm.get("strip_accents") : JsonNull.INSTANCE);
                if (norm.has("handle_chinese_chars")) cfg.add("tokenize_chinese_chars", norm.get("handle_chinese_chars"));
            }
            cfg.addProperty("clean_up_tokenization_spaces", cleanUpSpaces);
            putSpecial(specials, "cls_token", cls);
            putSpecial(specials, "sep_token", sep);
            putSpecial(specials, "pad_token", pad);
            putSpecial(specials, "mask_token", mask);
            putSpecial(specials, "unk_token", unk);
        } else {
            JsonObject bl = TokenizerJson.find(json.get("pre_tokenizer"), "ByteLevel");
            if (!cfg.has("tokenizer_class")) cfg.addProperty("tokenizer_class", "GPT2Tokenizer");
            if (bl.has("add_prefix_space")) cfg.add("add_prefix_space", bl.get("add_prefix_space"));
            // True would turn " ." into "." and break decode(encode(x)) == x.
            cfg.addProperty("clean_up_tokenization_spaces", cleanUpSpaces);
            putSpecial(specials, "cls_token", cls);
            putSpecial(specials, "sep_token", sep);
            putSpecial(specials, "mask_token", mask);
            if (padExplicit) putSpecial(specials, "pad_token", pad);
            // As HF's gpt2 folder: <|endoftext|> is bos, eos and (Python-side) unk.
            putSpecial(specials, "bos_token", eos);
            putSpecial(specials, "eos_token", eos);
            putSpecial(specials, "unk_token", eos);
        }
        for (Map.Entry<String, JsonElement> e : specials.entrySet()) cfg.add(e.getKey(), e.getValue());

        JsonObject model = json.getAsJsonObject("model");
        if (wordPiece) {
            AtomicFiles.write(dir.resolve("vocab.txt"), vocabTxt(model));
        } else {
            AtomicFiles.write(dir.resolve("vocab.json"),
                    (TokenizerJson.COMPACT.toJson(model.get("vocab")) + "\n").getBytes(StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder("#version: 0.2\n");
            for (String m : TokenizerJson.merges(model)) sb.append(m).append('\n');
            AtomicFiles.write(dir.resolve("merges.txt"), sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        AtomicFiles.writeJson(dir.resolve("special_tokens_map.json"), specials);
        AtomicFiles.writeJson(dir.resolve("tokenizer_config.json"), cfg);
        AtomicFiles.writeJson(dir.resolve("tokenizer.json"), json); // last: load() picks the folder up by this file
    }

    @Override
    public void close() {
        hf.close();
    }

    /** DJL has no vocabulary API: the ids come from the JSON (model vocab plus added tokens). */
    private static Map<String, Integer> readVocab(JsonObject json, JsonObject model, Path source) throws IOException {
        Map<String, Integer> ids = new HashMap<>();
        try {
            for (Map.Entry<String, JsonElement> e : model.getAsJsonObject("vocab").entrySet()) {
                ids.put(e.getKey(), e.getValue().getAsInt());
            }
            JsonElement added = json.get("added_tokens");
            if (added != null && added.isJsonArray()) {
                for (JsonElement e : added.getAsJsonArray()) {
                    JsonObject t = e.getAsJsonObject();
                    ids.put(t.get("content").getAsString(), t.get("id").getAsInt());
                }
            }
        } catch (RuntimeException e) { // Gson: wrong types or missing fields
            throw new IOException(source + ": malformed vocabulary or added_tokens (" + e + "); re-download or re-save it");
        }
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            if (e.getValue() < 0) throw new IOException(source + ": token " + e.getKey() + " has negative id " + e.getValue());
        }
        return ids;
    }

    private Integer idOf(String token) {
        return token == null ? null : tokenToId.get(token);
    }

    private void putSpecial(JsonObject o, String key, Integer id) {
        if (id != null && idToToken(id) != null) o.addProperty(key, idToToken(id));
    }

    private byte[] vocabTxt(JsonObject model) throws IOException {
        JsonObject vocab = model.getAsJsonObject("vocab");
        String[] tokens = new String[vocab.size()];
        for (Map.Entry<String, JsonElement> e : vocab.entrySet()) {
            int id = e.getValue().getAsInt();
            if (id >= tokens.length || tokens[id] != null) {
                throw new IOException("cannot write vocab.txt: WordPiece ids are not 0.." + (tokens.length - 1)
                        + " without gaps (token " + e.getKey() + " has id " + id + ")");
            }
            tokens[id] = e.getKey();
        }
        StringBuilder sb = new StringBuilder(tokens.length * 8);
        for (String t : tokens) sb.append(t).append('\n');
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** HF configs: tokenizer_config.json first, special_tokens_map.json overriding (as from_pretrained does). */
    private static Map<String, String> specialNames(JsonObject cfg, JsonObject map) {
        Map<String, String> names = new HashMap<>();
        for (JsonObject o : new JsonObject[] {cfg, map}) {
            if (o == null) continue;
            for (String k : SPECIAL_KEYS) {
                String name = TokenizerJson.tokenName(o.get(k));
                if (name != null) names.put(k, name);
            }
        }
        return names;
    }

    /** Explicit tokenizer_config.json settings that HF's fast BERT/GPT-2 tokenizers patch into the JSON on load. */
    private static void applyConfig(JsonObject json, JsonObject cfg) {
        if (cfg == null) return;
        JsonObject norm = TokenizerJson.find(json.get("normalizer"), "BertNormalizer");
        if (norm != null) {
            if (TokenizerJson.isBoolean(cfg.get("do_lower_case"))) norm.add("lowercase", cfg.get("do_lower_case"));
            if (cfg.has("strip_accents") && (cfg.get("strip_accents").isJsonNull() || TokenizerJson.isBoolean(cfg.get("strip_accents")))) {
                norm.add("strip_accents", cfg.get("strip_accents"));
            }
            if (TokenizerJson.isBoolean(cfg.get("tokenize_chinese_chars"))) {
                norm.add("handle_chinese_chars", cfg.get("tokenize_chinese_chars"));
            }
        }
        JsonObject bl = TokenizerJson.find(json.get("pre_tokenizer"), "ByteLevel");
        if (bl != null && TokenizerJson.isBoolean(cfg.get("add_prefix_space"))) {
            bl.add("add_prefix_space", cfg.get("add_prefix_space"));
        }
    }

    private Encoding convert(ai.djl.huggingface.tokenizers.Encoding e, String a, String b) {
        long[] ids = e.getIds();
        int n = ids.length;
        long[] w = e.getWordIds();
        long[] s = e.getSequenceIds();
        CharSpan[] spans = e.getCharTokenSpans();
        int[] wordIds = new int[n];
        int[] seqIds = new int[n];
        int[][] offsets = new int[n][];
        int[] mapA = utf16Index(a);
        int[] mapB = b == null ? null : utf16Index(b);
        for (int i = 0; i < n; i++) {
            wordIds[i] = (int) w[i];
            seqIds[i] = (int) s[i];
            CharSpan c = spans[i];
            if (c == null) {
                offsets[i] = new int[] {0, 0};
            } else {
                int[] map = seqIds[i] == 1 ? mapB : mapA;
                offsets[i] = map == null
                        ? new int[] {c.getStart(), c.getEnd()}
                        : new int[] {map[c.getStart()], map[c.getEnd()]};
            }
        }
        return new Encoding(ids, e.getTypeIds(), e.getAttentionMask(), e.getSpecialTokenMask(),
                wordIds, seqIds, offsets, e.getTokens());
    }

    /** Code-point index to UTF-16 index, or null when they coincide (no surrogate pairs). */
    private static int[] utf16Index(String s) {
        boolean surrogates = false;
        for (int i = 0; i < s.length() && !surrogates; i++) surrogates = Character.isSurrogate(s.charAt(i));
        if (!surrogates) return null;
        int[] map = new int[s.codePointCount(0, s.length()) + 1];
        int cp = 0;
        for (int i = 0; i < s.length(); i += Character.charCount(s.codePointAt(i))) map[cp++] = i;
        map[cp] = s.length();
        return map;
    }
}
