package dev.kiln.metrics;

import dev.kiln.metrics.SeqevalMetrics.Entity;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Expected values are worked out by hand from conlleval's chunking rules (seqeval's default mode). */
class SeqevalMetricsTest {
    private static final double EPS = 1e-12;

    private static List<Entity> ents(String... tags) {
        return SeqevalMetrics.entities(List.of(tags));
    }

    @Test
    void chunking() {
        assertEquals(List.of(new Entity("PER", 0, 2), new Entity("LOC", 3, 4)), ents("B-PER", "I-PER", "O", "B-LOC"));
        // I- without B- starts an entity, at the start and after O
        assertEquals(List.of(new Entity("PER", 1, 3)), ents("O", "I-PER", "I-PER", "O"));
        assertEquals(List.of(new Entity("LOC", 0, 1)), ents("I-LOC"));
        assertEquals(List.of(new Entity("PER", 0, 2), new Entity("PER", 3, 4)), ents("B-PER", "I-PER", "O", "I-PER"));
        // adjacent B-X B-X are two entities
        assertEquals(List.of(new Entity("PER", 0, 1), new Entity("PER", 1, 2)), ents("B-PER", "B-PER"));
        assertEquals(List.of(new Entity("PER", 0, 2), new Entity("PER", 2, 3)), ents("B-PER", "I-PER", "B-PER"));
        // a change of type ends one entity and starts another, whatever the prefix
        assertEquals(List.of(new Entity("PER", 0, 1), new Entity("LOC", 1, 2)), ents("B-PER", "I-LOC"));
        assertEquals(List.of(new Entity("PER", 0, 1), new Entity("LOC", 1, 3)), ents("I-PER", "I-LOC", "I-LOC"));
        // an entity running to the end is closed
        assertEquals(List.of(new Entity("ORG", 1, 3)), ents("O", "B-ORG", "I-ORG"));
        assertEquals(List.of(), ents("O", "O"));
        assertEquals(List.of(), ents());
    }

    @Test
    void microAndPerTypeScores() {
        // gold: PER[0,2) LOC[3,5) | ORG[0,1) ORG[1,2)                      -> 4 gold entities
        // pred: PER[0,2) (I- starts it) LOC[3,4) LOC[4,5) | ORG[0,2)        -> 4 predicted, 1 correct (PER)
        List<List<String>> gold = List.of(
                List.of("B-PER", "I-PER", "O", "B-LOC", "I-LOC"),
                List.of("B-ORG", "B-ORG", "O"));
        List<List<String>> pred = List.of(
                List.of("I-PER", "I-PER", "O", "B-LOC", "B-LOC"),
                List.of("B-ORG", "I-ORG", "O"));
        SeqevalMetrics m = SeqevalMetrics.of(gold, pred);
        assertEquals(0.25, m.precision(), EPS);
        assertEquals(0.25, m.recall(), EPS);
        assertEquals(0.25, m.f1(), EPS);
        // tokens equal: sentence 1: positions 1, 2, 3 (3 of 5); sentence 2: positions 0, 2 (2 of 3) -> 5/8
        assertEquals(5.0 / 8, m.accuracy(), EPS);
        assertEquals(List.of("LOC", "ORG", "PER"), List.copyOf(m.byType().keySet()));
        SeqevalMetrics.Score per = m.byType().get("PER");
        assertEquals(1.0, per.f1(), EPS);
        SeqevalMetrics.Score loc = m.byType().get("LOC"); // 1 gold, 2 predicted, 0 correct
        assertEquals(1, loc.gold());
        assertEquals(2, loc.predicted());
        assertEquals(0.0, loc.f1(), EPS);
        SeqevalMetrics.Score org = m.byType().get("ORG"); // 2 gold, 1 predicted, 0 correct
        assertEquals(2, org.gold());
        assertEquals(1, org.predicted());
        assertEquals(0.25, m.toMap().get("f1"), EPS);
        assertEquals(1.0, m.toMap().get("f1_PER"), EPS);
    }

    @Test
    void precisionAndRecallDiffer() {
        // gold PER[0,2) LOC[3,4) MISC[5,6); pred PER[0,2) LOC[3,4) ORG[4,5) ORG[5,6) (B-ORG B-ORG: two)
        // 3 gold, 4 predicted, 2 correct: P = 1/2, R = 2/3, F1 = 2 * (1/2)(2/3) / (1/2 + 2/3) = 4/7
        SeqevalMetrics m = SeqevalMetrics.of(
                List.of(List.of("B-PER", "I-PER", "O", "B-LOC", "O", "B-MISC")),
                List.of(List.of("B-PER", "I-PER", "O", "B-LOC", "B-ORG", "B-ORG")));
        assertEquals(0.5, m.precision(), EPS);
        assertEquals(2.0 / 3, m.recall(), EPS);
        assertEquals(4.0 / 7, m.f1(), EPS);
        assertEquals(2, m.byType().get("ORG").predicted());
        assertEquals(0, m.byType().get("ORG").gold());
        assertEquals(0.0, m.byType().get("ORG").recall(), EPS);
        // 4 of 6 tags equal (positions 0..3)
        assertEquals(4.0 / 6, m.accuracy(), EPS);
    }

    @Test
    void noEntitiesScoreZero() {
        SeqevalMetrics m = SeqevalMetrics.of(List.of(List.of("O", "O")), List.of(List.of("O", "O")));
        assertEquals(0.0, m.f1(), EPS);
        assertEquals(1.0, m.accuracy(), EPS);
    }
}
