package dev.kiln.tasks.qa;

import dev.kiln.text.Tokenizer;
import dev.kiln.TinyModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QaFeaturesTest {
    static Tokenizer bert;

    @BeforeAll
    static void load() throws Exception {
        bert = Tokenizer.load(TinyModels.miniLmFolder());
    }

    @AfterAll
    static void close() {
        if (bert != null) bert.close();
    }

    /** 60 numbered sentences: far longer than several 48-token windows. */
    static String longContext() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 60; i++) b.append("Sentence number ").append(i).append(" mentions the city of Zork").append(i).append(". ");
        return b.toString().trim();
    }

    @Test
    void everyAnswerInsideSomeWindowIsLabelledAndMapsBackExactly() {
        String ctx = longContext();
        QaFeatures.Settings s = new QaFeatures.Settings(48, 16, 16);
        int labelledAnswers = 0;
        for (int i = 0; i < 60; i++) {
            String answer = "the city of Zork" + i;
            int start = ctx.indexOf(answer);
            List<QaFeatures.Window> ws = QaFeatures.build(bert, "Which city?", ctx, start, start + answer.length(), s);
            assertTrue(ws.size() > 5, "the context should need many windows, got " + ws.size());
            boolean fits = false;
            int labelled = 0;
            for (QaFeatures.Window w : ws) {
                assertTrue(w.input().length() <= 48);
                // judged by characters, independently of the labelling code: the window's context covers
                // [first token start, last token end); the answer must lie wholly inside
                int lastCtx = w.contextStart() + w.span().length() - 1;
                boolean whole = w.offsets()[w.contextStart()][0] <= start && start + answer.length() <= w.offsets()[lastCtx][1];
                assertEquals(whole, w.startLabel() != 0, "window " + w.window() + " of answer " + i);
                if (w.startLabel() != 0) {
                    labelled++;
                    assertTrue(w.isContext(w.startLabel()) && w.isContext(w.endLabel()) && w.endLabel() >= w.startLabel());
                    int[] chars = TokenSpans.charSpan(w.offsets(), w.startLabel(), w.endLabel(), ctx);
                    assertEquals(answer, ctx.substring(chars[0], chars[1]));
                } else {
                    assertEquals(0, w.endLabel()); // the [CLS] convention: both labels at position 0
                }
                fits |= whole;
            }
            assertTrue(labelled > 0 || !fits, "answer " + i + " lies in a window but is never labelled");
            if (labelled > 0) labelledAnswers++;
        }
        assertEquals(60, labelledAnswers); // with 16 tokens of overlap every one of these short answers fits somewhere
    }

    @Test
    void layoutIsClsQuestionSepContextSep() {
        String ctx = longContext();
        QaFeatures.Settings s = new QaFeatures.Settings(40, 10, 16);
        List<QaFeatures.Window> ws = QaFeatures.build(bert, "Which city?", ctx, -1, -1, s);
        long[] q = bert.encode("Which city?", false).ids();
        int n = bert.encode(ctx, false).length();
        int covered = 0;
        for (int k = 0; k < ws.size(); k++) {
            QaFeatures.Window w = ws.get(k);
            long[] ids = w.input().ids();
            assertEquals(bert.clsId().longValue(), ids[0]);
            for (int j = 0; j < q.length; j++) assertEquals(q[j], ids[1 + j]);
            assertEquals(bert.sepId().longValue(), ids[q.length + 1]);
            assertEquals(bert.sepId().longValue(), ids[ids.length - 1]);
            assertEquals(q.length + 2, w.contextStart());
            assertEquals(0, w.input().typeIds()[q.length + 1]);
            assertEquals(1, w.input().typeIds()[q.length + 2]);
            assertEquals(1, w.input().typeIds()[ids.length - 1]);
            for (int p = 0; p < ids.length; p++) {
                boolean context = p >= w.contextStart() && p < ids.length - 1;
                assertEquals(context, w.offsets()[p] != null, "offsets at " + p);
                if (!context) assertTrue(!w.maxContext()[p]);
            }
            assertEquals(0, w.startLabel());
            if (k > 0) assertEquals(10, ws.get(k - 1).span().end() - w.span().start()); // doc_stride = overlap
            for (int p = 0; p < ids.length; p++) if (w.maxContext()[p]) covered++;
        }
        assertEquals(n, covered); // each context token is "max context" in exactly one window
        assertEquals(n, ws.get(ws.size() - 1).span().end());
    }

    @Test
    void answerCutByEveryWindowGetsClsEverywhere() {
        // the answer spans more tokens than a window holds, so no window contains it whole
        String ctx = longContext();
        String answer = ctx.substring(ctx.indexOf("Sentence number 10"), ctx.indexOf("Sentence number 20"));
        int start = ctx.indexOf(answer);
        for (QaFeatures.Window w : QaFeatures.build(bert, "q", ctx, start, start + answer.length(), new QaFeatures.Settings(32, 8, 8))) {
            assertEquals(0, w.startLabel());
            assertEquals(0, w.endLabel());
        }
    }

    @Test
    void questionIsCutAndImpossibleSettingsAreRefused() {
        String longQ = "why ".repeat(100);
        List<QaFeatures.Window> ws = QaFeatures.build(bert, longQ, "A short context.", -1, -1, new QaFeatures.Settings(64, 8, 20));
        assertEquals(1, ws.size());
        assertEquals(22, ws.get(0).contextStart()); // [CLS] + 20 question tokens + [SEP]
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QaFeatures.build(bert, "q", "c", -1, -1, new QaFeatures.Settings(64, 40, 30)));
        assertTrue(e.getMessage().contains("doc_stride 40 must be smaller"), e.getMessage());
        assertNull(QaFeatures.check(bert, new QaFeatures.Settings(384, 128, 64)));
    }

    @Test
    void tokenSpansCoverPartialTokensAndTrimSpaces() {
        int[][] off = {{0, 0}, {0, 3}, {3, 4}, {4, 10}, {10, 11}};
        assertArrayEquals(new int[] {1, 2}, TokenSpans.covering(off, 0, 5, 1, 4));
        assertArrayEquals(new int[] {3, 3}, TokenSpans.covering(off, 0, 5, 5, 6));
        assertNull(TokenSpans.covering(off, 0, 5, 11, 12));
        assertNull(TokenSpans.covering(off, 4, 5, 0, 4));
        String text = "abc  denver.";
        int[][] gptLike = {{0, 3}, {3, 11}, {11, 12}}; // " denver" with its leading spaces
        assertArrayEquals(new int[] {5, 11}, TokenSpans.charSpan(gptLike, 1, 1, text));
        assertNotNull(TokenSpans.covering(gptLike, 0, 3, 5, 11));
    }
}
