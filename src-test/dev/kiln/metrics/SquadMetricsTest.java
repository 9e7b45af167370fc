package dev.kiln.metrics;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Hand-worked against the official evaluate-v1.1.py definitions. */
class SquadMetricsTest {
    @Test
    void normalisationIsTheOfficialOne() {
        assertEquals("denver broncos", SquadMetrics.normalize("The Denver Broncos!"));
        assertEquals("broncos", SquadMetrics.normalize("  an   BRONCOS. "));
        // articles only as whole words; "theatre" and "Anna" stay
        assertEquals("theatre anna", SquadMetrics.normalize("the theatre, Anna"));
        // punctuation is removed before articles: "the-end" -> "theend" (one word, no article left)
        assertEquals("theend", SquadMetrics.normalize("the-end"));
        // only ASCII punctuation goes (Python's string.punctuation); "–" and "“" stay
        assertEquals("1914–1918", SquadMetrics.normalize("(1914–1918)"));
        assertEquals("“quoted”", SquadMetrics.normalize("“Quoted”"));
        assertEquals("", SquadMetrics.normalize("The a an ."));
        assertEquals("no break", SquadMetrics.normalize("no\u00a0break")); // Python's split() splits on NBSP too
    }

    @Test
    void exactMatchAndF1() {
        assertEquals(1.0, SquadMetrics.exactMatch("the Broncos", List.of("Denver Broncos", "Broncos")));
        assertEquals(0.0, SquadMetrics.exactMatch("Denver", List.of("Denver Broncos")));
        // pred {denver}, gold {denver, broncos}: P = 1, R = 1/2, F1 = 2/3
        assertEquals(2.0 / 3, SquadMetrics.f1("Denver", "Denver Broncos"), 1e-12);
        // pred {santa, clara, california}, gold {levis, stadium, santa, clara}: same 2, P 2/3, R 1/2, F1 4/7
        assertEquals(4.0 / 7, SquadMetrics.f1("Santa Clara, California", "Levi's Stadium, Santa Clara"), 1e-12);
        // counts are a multiset: pred {a1, a1, b}, gold {a1, b, b}: same 2, P = R = 2/3
        assertEquals(2.0 / 3, SquadMetrics.f1("a1 a1 b", "a1 b b"), 1e-12);
        assertEquals(0.0, SquadMetrics.f1("the", "the")); // both normalise to nothing: 0 in v1.1
        // max over golds
        assertEquals(1.0, SquadMetrics.f1("Broncos", List.of("Denver Broncos", "the Broncos")), 1e-12);
    }

    @Test
    void totalsAreAveragedTimesHundred() {
        SquadMetrics m = new SquadMetrics();
        m.add("Denver Broncos", List.of("Denver Broncos", "Broncos"));  // EM 1, F1 1
        m.add("Denver", List.of("Denver Broncos"));                    // EM 0, F1 2/3
        m.add("Carolina", List.of("Panthers"));                        // 0, 0
        m.addMissing();                                                // 0, 0
        assertEquals(4, m.count());
        assertEquals(25.0, m.exactMatch(), 1e-9);
        assertEquals(100.0 * (1 + 2.0 / 3) / 4, m.f1(), 1e-9);
        assertEquals(List.of("exact_match", "f1"), List.copyOf(m.toMap().keySet()));
    }
}
