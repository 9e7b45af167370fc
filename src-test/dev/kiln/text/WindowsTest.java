package dev.kiln.text;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class WindowsTest {
    @Test
    void slideCoversEverythingWithTheOverlapAsked() {
        assertEquals(List.of(new Windows.Span(0, 4), new Windows.Span(2, 6), new Windows.Span(4, 8), new Windows.Span(6, 10)),
                Windows.slide(10, 4, 2));
        assertEquals(List.of(new Windows.Span(0, 3)), Windows.slide(3, 4, 2));
        assertEquals(List.of(new Windows.Span(0, 5), new Windows.Span(5, 7)), Windows.slide(7, 5, 0));
        assertThrows(IllegalArgumentException.class, () -> Windows.slide(10, 4, 4));
    }

    @Test
    void slideWordsNeverCutsAWord() {
        // words: 0 0 1 2 2 2 3 4 4 5
        int[] w = {0, 0, 1, 2, 2, 2, 3, 4, 4, 5};
        List<Windows.Span> s = Windows.slideWords(w, 4, 0);
        assertEquals(List.of(new Windows.Span(0, 3), new Windows.Span(3, 7), new Windows.Span(7, 10)), s);
        for (Windows.Span sp : s) {
            if (sp.end() < w.length) assertEquals(true, w[sp.end()] != w[sp.end() - 1], "cut inside a word at " + sp);
        }
    }

    @Test
    void maxContextPrefersTheMoreCentralWindow() {
        List<Windows.Span> s = Windows.slide(10, 6, 4); // [0,6) [2,8) [4,10)
        int[] best = Windows.maxContextWindow(s, 10);
        assertEquals(0, best[0]);
        assertEquals(1, best[4]); // 4 is central in [2,8)
        assertEquals(2, best[9]);
    }
}
