package dev.kiln.train;

import dev.kiln.metrics.ClassificationMetrics;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Slices of one evaluation join in order, survive Java serialisation, and refuse to mix kinds or label sets. */
class EvalOutputsTest {
    static final List<String> LABELS = List.of("neg", "pos", "neutral");

    @Test
    void classSlicesJoinInOrderAndGiveTheWholeMacroF1NotTheMeanOfTheSlices() {
        EvalOutputs.Classes a = new EvalOutputs.Classes(LABELS, new int[] {0, 0, 1}, new int[] {0, 1, 1}, null);
        EvalOutputs.Classes b = new EvalOutputs.Classes(LABELS, new int[] {2, 1}, new int[] {2, 0}, null);
        EvalOutputs.Classes all = (EvalOutputs.Classes) EvalOutputs.concat(List.of(a, b));
        assertArrayEquals(new int[] {0, 0, 1, 2, 1}, all.gold());
        assertArrayEquals(new int[] {0, 1, 1, 2, 0}, all.predicted());
        assertNull(all.probabilities());
        // per class over all 5: neg 2*1/(2+2)=0.5, pos 2*1/(2+2)=0.5, neutral 1 -> macro 2/3
        double whole = ClassificationMetrics.of(all.gold(), all.predicted(), LABELS).macroF1();
        assertEquals(2.0 / 3, whole, 1e-12);
        double meanOfSlices = (ClassificationMetrics.of(a.gold(), a.predicted(), LABELS).macroF1()
                + ClassificationMetrics.of(b.gold(), b.predicted(), LABELS).macroF1()) / 2;
        assertNotEquals(whole, meanOfSlices, 1e-3); // why Spark evaluate joins outputs rather than metrics
    }

    @Test
    void tagsAndTextsJoinInOrderAndSurviveSerialisation() throws IOException, ClassNotFoundException {
        EvalOutputs t = EvalOutputs.concat(List.of(new EvalOutputs.Tags(List.of(List.of("O")), List.of(List.of("B-X"))),
                new EvalOutputs.Tags(List.of(List.of("B-Y", "I-Y")), List.of(List.of("O", "O")))));
        assertEquals(new EvalOutputs.Tags(List.of(List.of("O"), List.of("B-Y", "I-Y")), List.of(List.of("B-X"), List.of("O", "O"))), t);
        EvalOutputs x = EvalOutputs.concat(List.of(new EvalOutputs.Texts(List.of("a"), List.of(List.of("a", "b"))),
                new EvalOutputs.Texts(List.of("c"), List.of(List.of("d")))));
        assertEquals(new EvalOutputs.Texts(List.of("a", "c"), List.of(List.of("a", "b"), List.of("d"))), x);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(buf)) {
            o.writeObject(t);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(buf.toByteArray()))) {
            assertEquals(t, in.readObject());
        }
    }

    @Test
    void mixedKindsOrLabelSetsAreRefused() {
        EvalOutputs.Classes a = new EvalOutputs.Classes(LABELS, new int[] {0}, new int[] {0}, null);
        EvalOutputs.Classes b = new EvalOutputs.Classes(List.of("neg", "pos"), new int[] {0}, new int[] {0}, null);
        assertEquals("outputs over labels [neg, pos, neutral] and [neg, pos]",
                assertThrows(IllegalArgumentException.class, () -> EvalOutputs.concat(List.of(a, b))).getMessage());
        assertEquals("cannot join Classes and Texts outputs", assertThrows(IllegalArgumentException.class,
                () -> EvalOutputs.concat(List.of(a, new EvalOutputs.Texts(List.of(), List.of())))).getMessage());
    }
}
