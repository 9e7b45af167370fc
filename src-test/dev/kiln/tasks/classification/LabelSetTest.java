package dev.kiln.tasks.classification;

import dev.kiln.data.LabelledText;
import dev.kiln.data.DataException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LabelSetTest {
    @TempDir
    Path dir;

    private static List<LabelledText> labelled(String... labels) {
        List<LabelledText> out = new ArrayList<>();
        for (int i = 0; i < labels.length; i++) out.add(new LabelledText("t" + i, null, labels[i], Path.of("train.jsonl"), i + 1));
        return out;
    }

    @Test
    void integerLabelsSortNumerically() {
        assertEquals(List.of("-1", "0", "2", "10"), LabelSet.fromTraining(labelled("10", "2", "0", "-1", "2")).names());
        // equal numbers spelled differently stay distinct, in a fixed order
        assertEquals(List.of("01", "1", "3"), LabelSet.fromTraining(labelled("3", "1", "01")).names());
    }

    @Test
    void otherLabelsSortLexicographically() {
        assertEquals(List.of("1", "10", "2", "a"), LabelSet.fromTraining(labelled("2", "a", "10", "1")).names());
        assertEquals(List.of("Neg", "neg", "pos"), LabelSet.fromTraining(labelled("pos", "neg", "Neg")).names());
        assertEquals(List.of("1.5", "2"), LabelSet.fromTraining(labelled("2", "1.5")).names());
    }

    @Test
    void indexAndUnknownLabels() {
        LabelSet s = LabelSet.fromTraining(labelled("positive", "negative", "positive"));
        assertEquals(2, s.size());
        assertEquals(0, s.index("negative"));
        assertEquals("positive", s.name(1));
        assertTrue(s.contains("positive"));

        LabelledText dev = new LabelledText("meh", null, "neutral", Path.of("data", "dev.jsonl"), 42);
        DataException e = assertThrows(DataException.class, () -> s.index(dev));
        assertEquals(Path.of("data", "dev.jsonl") + ":42: label \"neutral\" is not among the training labels"
                + " (negative, positive); the model cannot predict it: fix the label or add examples of it to the training data",
                e.getMessage());
        assertEquals(42, e.line());
        assertThrows(DataException.class, () -> s.index("neutral"));

        List<LabelledText> devSet = labelled("positive", "negative", "neutral");
        assertEquals("train.jsonl:3", assertThrows(DataException.class, () -> s.indexes(devSet)).getMessage().substring(0, 13));
        assertArrayEquals(new int[]{1, 0}, s.indexes(devSet.subList(0, 2)));
    }

    @Test
    void oneClassOrNoDataIsAnError() {
        DataException e = assertThrows(DataException.class, () -> LabelSet.fromTraining(labelled("a", "a")));
        assertEquals("train.jsonl: every training example has the label \"a\"; a classifier needs at least two classes"
                + " (is data.label_field the right field?)", e.getMessage());
        assertThrows(DataException.class, () -> LabelSet.fromTraining(List.of()));
        assertThrows(DataException.class, () -> LabelSet.of(List.of("a", "b", "a")));
        assertThrows(DataException.class, () -> LabelSet.of(List.of()));
    }

    @Test
    void saveAndLoadKeepOrder() throws IOException {
        LabelSet s = LabelSet.of(List.of("pos", "neg", "caf\u00e9 & \"bar\""));
        Path f = dir.resolve("model").resolve("labels.json");
        s.save(f);
        assertEquals(s, LabelSet.load(f));
        assertTrue(Files.readString(f).contains("caf\u00e9 & \\\"bar\\\""), "readable, not HTML-escaped");

        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"labels\": [\"a\"]}", StandardCharsets.UTF_8);
        assertEquals(bad + ": expected a JSON list of label strings such as [\"negative\", \"positive\"]",
                assertThrows(DataException.class, () -> LabelSet.load(bad)).getMessage());
        Files.writeString(bad, "[\"a\", 1]", StandardCharsets.UTF_8);
        assertEquals(bad + ": label 1 is not a string; expected a JSON list of label strings",
                assertThrows(DataException.class, () -> LabelSet.load(bad)).getMessage());
        Files.writeString(bad, "[\"a\", \"a\"]", StandardCharsets.UTF_8);
        assertEquals(bad + ": the label list names \"a\" twice",
                assertThrows(DataException.class, () -> LabelSet.load(bad)).getMessage());
    }
}
