package dev.kiln.tasks.pretraining;

import dev.kiln.TestSupport;
import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A corpus far larger than anything the pipeline may hold: ~64 MB built from Tiny Shakespeare
 * (each copy's speakers renamed so copies differ), tokenised into a GPT store. What the reader and the
 * tokenising sink hold at once stays within their fixed buffers, the heap does not grow with the
 * corpus, and every byte of text is in the store exactly once.
 */
class CorpusStreamingTest {
    @TempDir
    Path dir;

    @Test
    void aCorpusLargerThanTheBuffersIsStreamedAndPackedExactly() throws IOException {
        String base = Files.readString(TestSupport.shared("datasets/tinyshakespeare/input.txt"), StandardCharsets.UTF_8);
        Path big = dir.resolve("big.txt");
        long expectedTokens = 0;
        long docs = 0;
        try (BufferedWriter w = Files.newBufferedWriter(big, StandardCharsets.UTF_8)) {
            for (int copy = 0; copy < 58; copy++) {
                String text = base.replace("Citizen:", "Citizen " + copy + ":").replace("MENENIUS", "MENENIUS" + copy % 7);
                w.write(text);
                w.write("\n");
                // blank_line documents: each paragraph's lines, each with its '\n', then end-of-text
                for (String para : (text + "\n").split("\n\n+")) {
                    if (para.isBlank()) continue;
                    for (String line : para.split("\n")) {
                        if (!line.isBlank()) expectedTokens += line.length() + 1;
                    }
                    expectedTokens++;
                    docs++;
                }
            }
        }
        long size = Files.size(big);
        assertTrue(size > 60_000_000, "corpus size " + size);

        Corpus.Settings s = new Corpus.Settings(TextSource.Documents.BLANK_LINE, null, StandardCharsets.UTF_8);
        Path cache = dir.resolve("cache");
        Files.createDirectories(cache);
        var heap = ManagementFactory.getMemoryMXBean();
        System.gc();
        long before = heap.getHeapMemoryUsage().getUsed();
        long peakHeap = 0;
        try (Tokenizer raw = Tokenizer.load(Corpus.charVocabulary(cache, List.of(big), s))) {
            Path tokDir = Corpus.materialise(cache, raw);
            try (Tokenizer tok = Tokenizer.load(tokDir);
                 TokenStore.Writer w = new TokenStore.Writer(cache.resolve("gpt-test"))) {
                Corpus.GptSink sink = new Corpus.GptSink(w, TextEncoder.of(tok), tok.eosId());
                long[] peak = {0};
                TextSource src = Corpus.source(List.of(big), s);
                TextSource.Stats st = src.read(new TextSource.Sink() {
                    long n;

                    @Override public void startDocument() { sink.startDocument(); }

                    @Override
                    public void text(String piece, boolean lineEnd) throws IOException {
                        sink.text(piece, lineEnd);
                        if (++n % 500_000 == 0) { // the live heap, a few times along the way
                            System.gc();
                            peak[0] = Math.max(peak[0], heap.getHeapMemoryUsage().getUsed());
                        }
                    }

                    @Override public void endDocument() throws IOException { sink.endDocument(); }
                });
                peakHeap = peak[0];
                TokenStore store = w.finish(new com.google.gson.JsonObject());

                assertEquals(size, st.bytes(), "every byte read, once");
                assertTrue(st.bufferChars() <= 1 << 16, "read buffer " + st.bufferChars());
                assertTrue(st.peakLineChars() < 200, "longest line held " + st.peakLineChars());
                assertTrue(sink.peakChunkChars <= Corpus.MAX_CHUNK_CHARS + 200, "tokeniser chunk " + sink.peakChunkChars);
                assertEquals(expectedTokens, store.tokens(), "no token lost or added");
                assertEquals(docs, store.documents());

                // a block in the middle of the corpus holds exactly the text there
                GptBlocks blocks = GptBlocks.all(store, 128);
                long[] x = new long[128];
                long[] y = new long[128];
                int mid = blocks.size() / 2;
                blocks.fill(mid, x, y);
                String decoded = tok.decode(x, false);
                assertTrue(decoded.length() == 128 || decoded.contains("<|endoftext|>"), decoded);
            }
        }
        long grown = peakHeap - before;
        System.out.printf("streamed %.1f MB, %,d tokens; live heap grew by at most %.1f MB%n", size / 1e6, expectedTokens, grown / 1e6);
        assertTrue(grown < 16_000_000, "heap grew by " + grown + " bytes while streaming " + size + " bytes");
    }
}
