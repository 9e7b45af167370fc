package dev.kiln.tasks.ner;

import dev.kiln.data.DataException;
import dev.kiln.TestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConllReaderTest {
    @TempDir
    Path dir;

    private Path file(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    private static ConllReader.Options opts() {
        return new ConllReader.Options();
    }

    /** The message after "FILE:LINE: ", which must be one line. */
    private static String error(Path file, int line, ThrowingRead r) {
        DataException e = assertThrows(DataException.class, r::run);
        String m = e.getMessage();
        assertTrue(m.startsWith(file + ":" + line + ": "), m);
        assertEquals(-1, m.indexOf('\n'), m);
        assertEquals(line, e.line());
        return m.substring((file + ":" + line + ": ").length());
    }

    interface ThrowingRead {
        void run() throws IOException;
    }

    @Test
    void readsSentencesSkipsDocstartAndKeepsIob2() throws IOException {
        Path p = file("a.txt", String.join("\n",
                "-DOCSTART- -X- -X- O",
                "",
                "EU NNP B-NP B-ORG",
                "rejects VBZ B-VP O",
                "German JJ B-NP B-MISC",
                "",
                "",
                "Peter NNP B-NP B-PER",
                "Blackburn NNP I-NP I-PER",
                "-DOCSTART- -X- -X- O",   // a document start ends the sentence even without a blank line
                "BRUSSELS NNP B-NP B-LOC",
                ""));
        ConllReader.Result r = ConllReader.readConll(p, opts());
        assertEquals(ConllReader.Scheme.IOB2, r.scheme());
        List<ConllReader.Sentence> s = r.sentences();
        assertEquals(3, s.size());
        assertEquals(List.of("EU", "rejects", "German"), s.get(0).tokens());
        assertEquals(List.of("B-ORG", "O", "B-MISC"), s.get(0).tags());
        assertEquals(3, s.get(0).line());
        assertEquals(List.of("B-PER", "I-PER"), s.get(1).tags());
        assertEquals(8, s.get(1).line());
        assertEquals(List.of("BRUSSELS"), s.get(2).tokens());
    }

    @Test
    void iob1IsDetectedAndConvertedToIob2() throws IOException {
        // IOB1: entities start with I-; B- only separates two adjacent entities of one type.
        Path p = file("iob1.txt", String.join("\n",
                "Peter I-PER", "Blackburn I-PER", "Smith B-PER", "met O", "EU I-ORG", "officials O",
                "in O", "Paris I-LOC", "France I-LOC", "", "Bonn I-LOC", "Germany I-MISC", ""));
        ConllReader.Result r = ConllReader.readConll(p, opts());
        assertEquals(ConllReader.Scheme.IOB1, r.scheme());
        assertEquals(List.of("B-PER", "I-PER", "B-PER", "O", "B-ORG", "O", "O", "B-LOC", "I-LOC"), r.sentences().get(0).tags());
        // a change of type starts a new entity
        assertEquals(List.of("B-LOC", "B-MISC"), r.sentences().get(1).tags());
        // the same file read as IOB2 keeps its tags (seqeval's default mode reads them the same way)
        ConllReader.Options o = opts();
        o.scheme = ConllReader.Scheme.IOB2;
        assertEquals("I-PER", ConllReader.readConll(p, o).sentences().get(0).tags().get(0));
        // and converting IOB2 is the identity
        assertEquals(List.of("B-PER", "I-PER", "B-PER", "O", "B-LOC"),
                ConllReader.iob1ToIob2(List.of("B-PER", "I-PER", "B-PER", "O", "B-LOC")));
    }

    @Test
    void tabsColumnsAndLoneTabSeparators() throws IOException {
        // WNUT-17 style: TOKEN<TAB>TAG, sentences separated by a line holding a single tab
        Path p = file("w.conll", "@paul\tO\nNew York\tB-location\n\t\nhi\tO\n");
        List<ConllReader.Sentence> s = ConllReader.readConll(p, opts()).sentences();
        assertEquals(2, s.size());
        assertEquals(List.of("@paul", "New York"), s.get(0).tokens()); // tabs allow spaces inside a token
        // a chosen tag column
        Path q = file("c.txt", "EU B-ORG x\nrejects O x\n");
        ConllReader.Options o = opts();
        o.tagColumn = 1;
        assertEquals(List.of("B-ORG", "O"), ConllReader.readConll(q, o).sentences().get(0).tags());
    }

    @Test
    void malformedLinesNameFileLineAndFix() throws IOException {
        Path cols = file("cols.txt", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman B-MISC\n");
        String m = error(cols, 3, () -> ConllReader.readConll(cols, opts()));
        assertTrue(m.contains("has 2 column(s) but line 1 has 4"), m);

        Path empty = file("empty.txt", "EU\tB-ORG\n\tO\n");
        m = error(empty, 2, () -> ConllReader.readConll(empty, opts()));
        assertTrue(m.contains("empty token"), m);

        Path one = file("one.txt", "EU\n");
        m = error(one, 1, () -> ConllReader.readConll(one, opts()));
        assertTrue(m.contains("data.tag_column"), m);

        Path tag = file("tag.txt", "EU NNP\n");
        m = error(tag, 1, () -> ConllReader.readConll(tag, opts()));
        assertTrue(m.contains("\"NNP\"") && m.contains("not an IOB tag") && m.contains("data.tag_column"), m);

        Path iobes = file("s.txt", "x O\nEU S-ORG\n");
        m = error(iobes, 2, () -> ConllReader.readConll(iobes, opts()));
        assertTrue(m.contains("convert them to BIO"), m);
    }

    @Test
    void jsonl() throws IOException {
        Path p = file("a.jsonl", "{\"tokens\": [\"Peter\", \"Blackburn\", \"spoke\"], \"tags\": [\"I-PER\", \"I-PER\", \"O\"]}\n\n"
                + "{\"tokens\": [], \"tags\": []}\n{\"tokens\": [\"Paris\"], \"tags\": [\"B-LOC\"]}\n");
        ConllReader.Result r = ConllReader.read(p, "auto", opts());
        assertEquals(2, r.sentences().size());
        assertEquals(ConllReader.Scheme.IOB1, r.scheme());
        assertEquals(List.of("B-PER", "I-PER", "O"), r.sentences().get(0).tags());
        assertEquals(4, r.sentences().get(1).line());

        Path bad = file("b.jsonl", "{\"tokens\": [\"a\"], \"tags\": [\"O\"]}\n{\"tokens\": [\"a\", \"b\"], \"tags\": [\"O\"]}\n");
        String m = error(bad, 2, () -> ConllReader.read(bad, "jsonl", opts()));
        assertTrue(m.contains("one tag per token"), m);
        Path ints = file("c.jsonl", "{\"tokens\": [\"a\"], \"tags\": [3]}\n");
        m = error(ints, 1, () -> ConllReader.read(ints, "jsonl", opts()));
        assertTrue(m.contains("not a string"), m);
    }

    @Test
    void realFilesMatchTheirPublishedCounts() throws IOException {
        Path conll = TestSupport.shared("datasets/conll2003/train.txt");
        ConllReader.Result r = ConllReader.readConll(conll, opts());
        assertEquals(14041, r.sentences().size());
        assertEquals(203621, r.sentences().stream().mapToInt(ConllReader.Sentence::length).sum());
        assertEquals(ConllReader.Scheme.IOB2, r.scheme());
        Path wnut = TestSupport.shared("datasets/wnut17/wnut17train.conll");
        r = ConllReader.readConll(wnut, opts());
        assertEquals(3394, r.sentences().size());
        assertEquals(62730, r.sentences().stream().mapToInt(ConllReader.Sentence::length).sum());
        assertEquals(1975, r.sentences().stream().flatMap(s -> s.tags().stream()).filter(t -> t.startsWith("B-")).count());
    }
}
