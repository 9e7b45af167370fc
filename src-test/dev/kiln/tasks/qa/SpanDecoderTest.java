package dev.kiln.tasks.qa;

import dev.kiln.text.Sequences;
import dev.kiln.text.Windows;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpanDecoderTest {
    //                         0         1         2
    //                         0123456789012345678901234567
    static final String CTX = "Denver beat Carolina in 2016";

    /** [CLS] q [SEP] then context tokens Denver/beat/Carolina/in/2016 at positions 3..7, [SEP] at 8. */
    static QaFeatures.Window window(boolean[] maxContext) {
        int[][] off = {null, null, null, {0, 6}, {7, 11}, {12, 20}, {21, 23}, {24, 28}, null};
        return new QaFeatures.Window(new Sequences.Input(new long[9], new long[9]), off, maxContext, 3, 0,
                new Windows.Span(0, 5), 0, 0);
    }

    static boolean[] all() {
        return new boolean[] {false, false, false, true, true, true, true, true, false};
    }

    @Test
    void bestValidSpanIsMappedBackToCharacters() {
        // the question position 1 has the largest start logit but is not context; end before start is invalid
        float[] start = {9, 50, 0, 1, 0, 8, 0, 0, 0};
        float[] end = {9, 0, 0, 7, 0, 0, 0, 2, 0};
        QuestionAnswerer.Answer a = SpanDecoder.decode(CTX, List.of(window(all())), List.of(start), List.of(end), 20, 30);
        // candidates: (3,3)=8, (5,7)=10, (3,7)=3 ... (5,3) invalid → Carolina in 2016
        assertEquals("Carolina in 2016", a.text());
        assertEquals(12, a.start());
        assertEquals(28, a.end());
        assertTrue(a.score() > 0 && a.score() < 1);
    }

    @Test
    void maxAnswerLengthNBestAndMaxContextAreHonoured() {
        float[] start = {0, 0, 0, 2, 0, 8, 0, 0, 0};
        float[] end = {0, 0, 0, 7, 0, 0, 0, 2, 0};
        assertEquals("Denver", SpanDecoder.decode(CTX, List.of(window(all())), List.of(start), List.of(end), 20, 2).text());
        // n_best 1: start 5 and end 3 only, an invalid pair, so no span at all
        assertEquals("", SpanDecoder.decode(CTX, List.of(window(all())), List.of(start), List.of(end), 1, 30).text());
        boolean[] notFive = all();
        notFive[5] = false; // "Carolina" has more context in another window: it cannot start a span here
        assertEquals("Denver", SpanDecoder.decode(CTX, List.of(window(notFive)), List.of(start), List.of(end), 20, 30).text());
    }

    @Test
    void bestWindowWins() {
        float[] weak = {0, 0, 0, 1, 0, 0, 0, 0, 0};
        float[] strong = {0, 0, 0, 0, 0, 0, 0, 5, 0};
        QuestionAnswerer.Answer a = SpanDecoder.decode(CTX, List.of(window(all()), window(all())),
                List.of(weak, strong), List.of(weak, strong), 20, 30);
        assertEquals("2016", a.text());
    }
}
