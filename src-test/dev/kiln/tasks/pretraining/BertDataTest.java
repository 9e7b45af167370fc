package dev.kiln.tasks.pretraining;

import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.text.SentenceSplitter;
import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BERT instances and masking on real text: WikiText-2 articles with the bert-base-uncased WordPiece vocabulary. */
class BertDataTest {
    @TempDir
    static Path dir;

    static Tokenizer tok;
    static TokenStore store;

    @BeforeAll
    static void corpus() throws IOException {
        Path wiki = TestSupport.shared("datasets/wikitext2_raw/wiki.valid.raw");
        // the first ~40% of the articles keep the test short
        String text = Files.readString(wiki, StandardCharsets.UTF_8);
        Path f = dir.resolve("wiki.txt");
        Files.writeString(f, text.substring(0, text.indexOf('\n', 450_000) + 1));
        Path cache = dir.resolve("cache");
        Files.createDirectories(cache);
        try (Tokenizer raw = Tokenizer.load(TinyModels.miniLmFolder())) {
            Path tokDir = Corpus.materialise(cache, raw);
            tok = Tokenizer.load(tokDir);
            store = Corpus.store("bert", cache, List.of(f),
                    new Corpus.Settings(TextSource.Documents.MARKER, "^ = [^=]", StandardCharsets.UTF_8), tok, tokDir);
        }
        assertTrue(store.documents() >= 15, "articles: " + store.documents());
    }

    @AfterAll
    static void close() {
        if (tok != null) tok.close();
    }

    static long docOf(long token) {
        long lo = 0, hi = store.documents() - 1;
        while (lo < hi) {
            long mid = (lo + hi + 1) / 2;
            if (store.docStart(mid) <= token) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    @Test
    void nspPairsAreBalancedAndShapedLikeTheOriginal() throws IOException {
        int maxLen = 128;
        BertPairs pairs = BertPairs.open(store, 0, store.documents(), maxLen, 0.1, true, 42);
        assertTrue(pairs.size() > 500, "instances: " + pairs.size());
        int random = 0, full = 0;
        for (int i = 0; i < pairs.size(); i++) {
            BertPairs.Instance in = pairs.get(i);
            long la = in.aEnd() - in.aStart(), lb = in.bEnd() - in.bStart();
            assertTrue(la >= 1 && lb >= 1 && la + lb <= maxLen - 3, "instance " + i + ": " + la + " + " + lb);
            assertEquals(docOf(in.aStart()), docOf(in.aEnd() - 1), "A stays inside one document");
            assertEquals(docOf(in.bStart()), docOf(in.bEnd() - 1), "B stays inside one document");
            if (in.randomNext()) {
                random++;
                assertTrue(docOf(in.bStart()) != docOf(in.aStart()), "a random B comes from another document");
            } else {
                assertEquals(docOf(in.aStart()), docOf(in.bStart()), "a true next B is from A's document");
                assertTrue(in.bStart() >= in.aEnd() && in.bStart() - in.aEnd() <= maxLen, "B follows A (trimmed at most)");
            }
            if (la + lb >= maxLen - 3 - 1) full++;
        }
        double frac = random / (double) pairs.size();
        System.out.printf("NSP: %d instances, random-next %.3f, full-length %.3f%n", pairs.size(), frac, full / (double) pairs.size());
        assertTrue(frac > 0.45 && frac < 0.56, "random-next fraction " + frac);
        assertTrue(full > pairs.size() * 0.6, "most instances fill the sequence: " + full + " of " + pairs.size());
    }

    @Test
    void maskingStatisticsAndSpecialTokens() throws IOException {
        BertPairs pairs = BertPairs.open(store, 0, store.documents(), 128, 0.1, true, 42);
        MlmMasker masker = new MlmMasker(tok, 0.15, 0.8, 0.1, 20, false);
        long tokens = 0, chosen = 0, masked = 0, kept = 0, replaced = 0;
        for (int i = 0; i < pairs.size(); i++) {
            BertPretrainTask.Example e = BertPretrainTask.example(pairs, i, 0, 7, tok, masker);
            tokens += e.ids().length;
            chosen += e.positions().length;
            for (int k = 0; k < e.positions().length; k++) {
                int p = e.positions()[k];
                assertFalse(masker.isSpecial((int) e.labels()[k]), "a special token was chosen");
                assertTrue(p > 0 && p < e.ids().length - 1, "[CLS] / final [SEP] chosen");
                long now = e.ids()[p];
                if (now == tok.maskId()) masked++;
                else if (now == e.labels()[k]) kept++;
                else replaced++;
            }
            // [CLS] A [SEP] B [SEP] survive untouched
            assertEquals((long) tok.clsId(), e.ids()[0]);
            assertEquals((long) tok.sepId(), e.ids()[e.ids().length - 1]);
        }
        double rate = chosen / (double) tokens;
        assertTrue(rate > 0.14 && rate < 0.16, "chosen fraction " + rate);
        double m = masked / (double) chosen, k = kept / (double) chosen, r = replaced / (double) chosen;
        System.out.printf("MLM: %d tokens, chosen %.4f; [MASK] %.4f, unchanged %.4f, random %.4f%n", tokens, rate, m, k, r);
        assertTrue(Math.abs(m - 0.8) < 0.02, "[MASK] share " + m);
        assertTrue(Math.abs(k - 0.1) < 0.02, "unchanged share " + k);
        assertTrue(Math.abs(r - 0.1) < 0.02, "random share " + r);
    }

    @Test
    void wholeWordMaskingTakesAllPiecesOfAWord() throws IOException {
        BertPairs pairs = BertPairs.open(store, 0, store.documents(), 128, 0.1, true, 42);
        MlmMasker masker = new MlmMasker(tok, 0.15, 0.8, 0.1, 20, true);
        int words = 0;
        for (int i = 0; i < 400; i++) {
            BertPretrainTask.Example e = BertPretrainTask.example(pairs, i, 0, 7, tok, masker);
            boolean[] chosen = new boolean[e.ids().length];
            long[] original = e.ids().clone();
            for (int k = 0; k < e.positions().length; k++) {
                chosen[e.positions()[k]] = true;
                original[e.positions()[k]] = e.labels()[k];
            }
            for (int p = 1; p < original.length; p++) {
                boolean piece = tok.idToToken((int) original[p]).startsWith("##");
                boolean prevSpecial = masker.isSpecial((int) original[p - 1]);
                if (piece && !prevSpecial) {
                    assertEquals(chosen[p - 1], chosen[p], "instance " + i + ": word split at " + p);
                    if (chosen[p]) words++;
                }
            }
        }
        assertTrue(words > 20, "whole words with pieces were masked: " + words);
    }

    @Test
    void masksArePureFunctionsOfSeedInstanceAndEpoch() throws IOException {
        BertPairs pairs = BertPairs.open(store, 0, store.documents(), 128, 0.1, true, 42);
        MlmMasker masker = new MlmMasker(tok, 0.15, 0.8, 0.1, 20, false);
        int differ = 0;
        for (int i = 0; i < 50; i++) {
            BertPretrainTask.Example a = BertPretrainTask.example(pairs, i, 3, 7, tok, masker);
            BertPretrainTask.Example b = BertPretrainTask.example(pairs, i, 3, 7, tok, masker);
            assertArrayEquals(a.ids(), b.ids());
            assertArrayEquals(a.positions(), b.positions());
            BertPretrainTask.Example c = BertPretrainTask.example(pairs, i, 4, 7, tok, masker);
            if (!Arrays.equals(a.positions(), c.positions())) differ++;
        }
        assertTrue(differ > 45, "another epoch draws other masks: " + differ + " of 50");
        // the instance table is rebuilt bit for bit
        Path t1 = dir.resolve("p1.i64"), t2 = dir.resolve("p2.i64");
        BertPairs.build(store, 0, store.documents(), 128, 0.1, true, 42, t1);
        BertPairs.build(store, 0, store.documents(), 128, 0.1, true, 42, t2);
        assertArrayEquals(Files.readAllBytes(t1), Files.readAllBytes(t2));
        BertPairs.build(store, 0, store.documents(), 128, 0.1, true, 43, t2);
        assertFalse(Arrays.equals(Files.readAllBytes(t1), Files.readAllBytes(t2)), "another seed, other pairs");
    }

    @Test
    void withoutNspInstancesAreSingleSegmentsOfWholeSentences() throws IOException {
        BertPairs single = BertPairs.open(store, 0, store.documents(), 64, 0.0, false, 42);
        for (int i = 0; i < single.size(); i++) {
            BertPairs.Instance in = single.get(i);
            assertFalse(in.hasB());
            assertTrue(in.aEnd() - in.aStart() <= 62 && in.aEnd() > in.aStart());
        }
    }

    @Test
    void sentenceSplitter() {
        String s = "Mr. Smith went to Washington. He met Dr. J. Doe there! Was it 3 p.m.? \"Yes,\" she said. (Later.) Done";
        List<String> got = SentenceSplitter.spans(s).stream().map(r -> s.substring(r[0], r[1])).toList();
        assertEquals(List.of("Mr. Smith went to Washington.", "He met Dr. J. Doe there!", "Was it 3 p.m.?",
                "\"Yes,\" she said.", "(Later.)", "Done"), got);
        assertEquals(List.of(), SentenceSplitter.spans("   "));
    }
}
