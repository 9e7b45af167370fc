package dev.kiln.tasks.summarization;

import dev.kiln.TinyModels;
import dev.kiln.models.gpt2.Gpt2Init;
import dev.kiln.metrics.Rouge;
import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pieces of both tasks that need no model: labels, selection, BertSum inputs, prompt sequences. */
class SummarizationPartsTest {
    static final List<String> SENTS = List.of(
            "Profits rose sharply this year.",      // 0
            "The firm hired new staff.",            // 1
            "Profits rose sharply this quarter.",   // 2: shares "profits rose sharply" with 0
            "Analysts were surprised.");            // 3

    @Test
    void matchLabelsAndCoverage() {
        Extraction.Match m = Extraction.match(SENTS, "The firm hired new staff.Analysts were surprised.");
        assertArrayEquals(new boolean[] {false, true, false, true}, m.labels());
        assertEquals(1.0, m.coverage(), 1e-9);
        Extraction.Match half = Extraction.match(SENTS, "The firm hired new staff. Something else entirely here.");
        assertTrue(half.coverage() > 0.3 && half.coverage() < 0.6, "coverage " + half.coverage());
        // auto: too little coverage, so the oracle decides
        boolean[] auto = Extraction.labels("auto", SENTS, "Analysts said profits rose sharply this quarter", 3, new Rouge(false));
        assertTrue(auto[2], Arrays.toString(auto));
    }

    /**
     * Greedy oracle against "profits rose sharply this quarter analysts were surprised": sentence 2 alone
     * has the best ROUGE-1 + ROUGE-2, adding 3 raises it further, adding 0 or 1 then lowers it.
     */
    @Test
    void greedyOracle() {
        boolean[] o = Extraction.oracle(SENTS, "Profits rose sharply this quarter; analysts were surprised.", 3, new Rouge(false));
        assertArrayEquals(new boolean[] {false, false, true, true}, o);
        assertArrayEquals(new boolean[] {false, false, true, false},
                Extraction.oracle(SENTS, "Profits rose sharply this quarter; analysts were surprised.", 1, new Rouge(false)));
    }

    @Test
    void topKInDocumentOrderWithTrigramBlocking() {
        float[] scores = {0.9f, 0.1f, 0.8f, 0.5f};
        assertArrayEquals(new int[] {0, 2}, Extraction.select(scores, SENTS, 2, false));
        // 2 repeats the trigram "profits rose sharply" of 0: skipped, 3 comes in
        assertArrayEquals(new int[] {0, 3}, Extraction.select(scores, SENTS, 2, true));
        assertArrayEquals(new int[] {0, 1, 3}, Extraction.select(scores, SENTS, 9, true), "fewer than k left");
        assertArrayEquals(new int[] {0, 1}, Extraction.lead(4, 2));
        assertEquals("Profits rose sharply this year.\nAnalysts were surprised.", Extraction.lines(SENTS, new int[] {0, 3}));
    }

    @Test
    void bertSumInputs() throws IOException {
        try (Tokenizer tok = Tokenizer.load(TinyModels.miniLmFolder())) {
            SentenceInputs.Encoded e = SentenceInputs.encode(tok, SENTS, 512, true);
            assertEquals(4, e.covered());
            assertEquals(0, e.cls()[0]);
            for (int i = 0; i < 4; i++) {
                assertEquals((long) tok.clsId(), e.ids()[e.cls()[i]]);
                assertEquals(i % 2, e.typeIds()[e.cls()[i]], "interval segments");
                if (i > 0) assertEquals((long) tok.sepId(), e.ids()[e.cls()[i] - 1]);
            }
            assertEquals((long) tok.sepId(), e.ids()[e.ids().length - 1]);
            // a short budget: whole sentences while they fit, then a cut one if >= 4 of its tokens fit
            int first = e.cls()[1];   // tokens of sentence 0 with its [CLS]/[SEP]
            SentenceInputs.Encoded cut = SentenceInputs.encode(tok, SENTS, first + 6, true);
            assertEquals(2, cut.covered());
            assertEquals(first + 6, cut.ids().length);
            assertEquals(1, SentenceInputs.encode(tok, SENTS, first + 3, true).covered());
        }
    }

    @Test
    void promptSequencesPutTheLossOnTheSummaryOnly() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(Gpt2Init.tokenizerDir()), "GPT-2 BPE absent; run scripts/fetch-assets");
        try (Tokenizer tok = Tokenizer.load(Gpt2Init.tokenizerDir())) {
            GptPrompt p = new GptPrompt(tok, "Article: {article}\n\nTL;DR: ");
            long[] article = tok.encode("Shares rose. Profits fell sharply in the third quarter.", false).ids();
            long[] summary = tok.encode("Profits fell.", false).ids();
            long eos = tok.eosId();
            GptPrompt.Sequence s = p.trainingSequence(article, summary, 64, 10, eos);
            assertEquals(p.overhead() + article.length, s.promptLength());
            assertEquals(s.promptLength() + summary.length + 1, s.ids().length);
            assertEquals(eos, s.ids()[s.ids().length - 1]);
            assertEquals("Article: Shares rose. Profits fell sharply in the third quarter.\n\nTL;DR: Profits fell.",
                    tok.decode(Arrays.copyOf(s.ids(), s.ids().length - 1), true));

            // tight budget: the summary is capped at 2 tokens, the article cut to what is left
            GptPrompt.Sequence t = p.trainingSequence(article, summary, p.overhead() + 5 + 2 + 1, 2, eos);
            assertEquals(p.overhead() + 5 + 2 + 1, t.ids().length);
            assertEquals(p.overhead() + 5, t.promptLength());

            GptSummarizationTask.HostBatch b = GptSummarizationTask.collate(List.of(s, t), eos);
            int width = s.ids().length - 1;
            assertEquals(width, b.ids()[0].length);
            assertEquals(summary.length + 1 + 2 + 1, b.targets());
            // row 0: position promptLength-1 predicts the first summary token, the last position predicts EOS
            assertEquals(0, b.rows()[0]);
            assertEquals(s.promptLength() - 1, b.cols()[0]);
            assertEquals(summary[0], b.labels()[0]);
            assertEquals(eos, b.labels()[summary.length]);
            assertEquals(1, b.rows()[summary.length + 1]);
            assertEquals(0, b.mask()[1][t.ids().length - 1], "padding after the shorter row");
            assertEquals(b.tokens(), width + t.ids().length - 1);
        }
    }
}
