package dev.kiln.data;

import dev.kiln.tasks.classification.LabelSet;
import dev.kiln.TestSupport;
import dev.kiln.data.TextRecords.Fields;
import dev.kiln.data.TextRecords.Format;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextRecordsTest {
    @TempDir
    Path dir;

    private Path file(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    private static void assertRecord(LabelledText t, String text, String pair, String label, int line) {
        assertEquals(text, t.text());
        assertEquals(pair, t.textPair());
        assertEquals(label, t.label());
        assertEquals(line, t.line());
    }

    /** The error message, which must be one line starting with FILE:LINE. */
    private static String error(Path file, int line, Format format, Fields fields) {
        DataException e = assertThrows(DataException.class, () -> TextRecords.read(file, format, fields));
        String m = e.getMessage();
        assertTrue(m.startsWith(file + ":" + line + ": "), m);
        assertEquals(-1, m.indexOf('\n'), "one line: " + m);
        assertEquals(file, e.file());
        assertEquals(line, e.line());
        return m.substring((file + ":" + line + ": ").length());
    }

    // ---- JSONL ----

    @Test
    void jsonlStringIntAndBooleanLabelsPairsAndBlankLines() throws IOException {
        Path p = file("d.jsonl", String.join("\n",
                "{\"text\": \"good film\", \"label\": \"pos\", \"extra\": [1, 2]}",
                "",
                "{\"text\": \"bad\\nfilm \\u00e9\", \"label\": \"neg\"}",
                "   ",
                ""));
        List<LabelledText> r = TextRecords.read(p, Format.JSONL, Fields.DEFAULT);
        assertEquals(2, r.size());
        assertRecord(r.get(0), "good film", null, "pos", 1);
        assertRecord(r.get(1), "bad\nfilm \u00e9", null, "neg", 3);
        assertEquals(p, r.get(0).file());
        assertEquals(p + ":3", r.get(1).where());
        Path numbers = file("n.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"label\": 1.0, \"text\": \"x\"}\n");
        r = TextRecords.read(numbers, Format.JSONL, Fields.DEFAULT);
        assertRecord(r.get(0), "a", null, "0", 1);
        assertRecord(r.get(1), "x", null, "1", 2);
        Path bools = file("b.jsonl", "{\"text\": \"y\", \"label\": true}\r\n");
        assertRecord(TextRecords.read(bools, Format.JSONL, Fields.DEFAULT).get(0), "y", null, "true", 1);
        // an integer among string labels would silently become a third class
        Path mixed = file("m.jsonl", "{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\", \"label\": \"neg\"}\n{\"text\": \"c\", \"label\": 1}\n");
        DataException e = assertThrows(DataException.class, () -> TextRecords.read(mixed, Format.JSONL, Fields.DEFAULT));
        assertEquals(mixed + ":3: label 1 is a number but line 1's label \"pos\" is a string; write every label the same way"
                + " (all strings or all numbers)", e.getMessage());

        Path q = file("pairs.json", "{\"premise\":\"a\",\"hypothesis\":\"b\",\"gold\":\"entailment\"}\n");
        List<LabelledText> pr = TextRecords.read(q, Format.AUTO, Fields.pair("premise", "hypothesis", "gold"));
        assertRecord(pr.get(0), "a", "b", "entailment", 1);
    }

    @Test
    void jsonlErrors() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) sb.append("{\"text\":\"t").append(i).append("\",\"label\":\"a\"}\n");
        Path p = file("train.jsonl", sb + "{\"text\":\"t\",\"sentiment\":\"a\"}\n");
        assertEquals("no field \"label\" (fields: text, sentiment); set data.label_field",
                error(p, 17, Format.JSONL, Fields.DEFAULT));
        assertEquals(p + ":17: no field \"label\" (fields: text, sentiment); set data.label_field",
                assertThrows(DataException.class, () -> TextRecords.read(p, Format.AUTO, Fields.DEFAULT)).getMessage());

        assertEquals("no field \"text\" (fields: sentence, label); set data.text_field",
                error(file("a.jsonl", "{\"sentence\":\"x\",\"label\":1}"), 1, Format.JSONL, Fields.DEFAULT));
        assertEquals("no field \"h\" (fields: text, label); set data.text_pair_field",
                error(file("b.jsonl", "{\"text\":\"x\",\"label\":1}"), 1, Format.JSONL, Fields.pair("text", "h", "label")));

        assertEquals("empty text in field \"text\"; remove the record or fill it in",
                error(file("c.jsonl", "{\"text\":\"a\",\"label\":1}\n{\"text\":\" \",\"label\":1}"), 2, Format.JSONL, Fields.DEFAULT));
        assertEquals("empty label in field \"label\"; remove the record or label it",
                error(file("c2.jsonl", "{\"text\":\"a\",\"label\":\"\"}"), 1, Format.JSONL, Fields.DEFAULT));

        String m = error(file("d.jsonl", "{\"text\":\"a\",\"label\":1}\n\n{\"text\":\"a\",\"label\":1"), 3, Format.JSONL, Fields.DEFAULT);
        assertEquals("malformed JSON: End of input at column 22 path $.label; each line must hold one JSON object", m);
        m = error(file("e.jsonl", "{text: \"a\", \"label\": 1}"), 1, Format.JSONL, Fields.DEFAULT);
        assertTrue(m.startsWith("malformed JSON: non-standard JSON (an unquoted key, single quotes or a comment?) at column 3"), m);
        assertEquals("malformed JSON: text after the value; each line must hold one JSON object",
                error(file("f.jsonl", "{\"text\":\"a\",\"label\":1} {\"text\":\"b\",\"label\":1}"), 1, Format.JSONL, Fields.DEFAULT));
        assertEquals("expected a JSON object, got a string; each line must hold one JSON object",
                error(file("g.jsonl", "{\"text\":\"a\",\"label\":1}\n\"text\""), 2, Format.JSONL, Fields.DEFAULT));
        assertTrue(error(file("h.json", "[\n{\"text\":\"a\",\"label\":1}\n]"), 1, Format.AUTO, Fields.DEFAULT)
                .startsWith("a JSON array, but JSON lines"));

        assertEquals("field \"label\" is null", error(file("i.jsonl", "{\"text\":\"a\",\"label\":null}"), 1, Format.JSONL, Fields.DEFAULT));
        assertEquals("label 0.5 in field \"label\" is not an integer; classification labels must be strings or integers",
                error(file("j.jsonl", "{\"text\":\"a\",\"label\":0.5}"), 1, Format.JSONL, Fields.DEFAULT));
        assertEquals("field \"label\" is an array, expected a string or integer label",
                error(file("k.jsonl", "{\"text\":\"a\",\"label\":[1]}"), 1, Format.JSONL, Fields.DEFAULT));
        assertEquals("field \"text\" is a number, expected a string",
                error(file("l.jsonl", "{\"text\":7,\"label\":1}"), 1, Format.JSONL, Fields.DEFAULT));
    }

    // ---- CSV ----

    @Test
    void csvQuotingEdgeCases() throws IOException {
        Path p = file("d.csv", "\uFEFFid,text,label\r\n"
                + "1,plain text,pos\r\n"
                + "2,\"with, comma\",neg\r\n"
                + "3,\"say \"\"hi\"\" now\",pos\r\n"
                + "4,\"two\nlines, and \"\"quotes\"\"\",neg\r\n"
                + "\r\n"
                + "5,5\" screen,pos\r\n"
                + "6,\"\"\"\",neg\r\n"
                + "7,\"trailing\",\"\"\"quoted label\"\"\"");
        List<LabelledText> r = TextRecords.read(p, Format.AUTO, Fields.DEFAULT);
        assertEquals(7, r.size());
        assertRecord(r.get(0), "plain text", null, "pos", 2);
        assertRecord(r.get(1), "with, comma", null, "neg", 3);
        assertRecord(r.get(2), "say \"hi\" now", null, "pos", 4);
        assertRecord(r.get(3), "two\nlines, and \"quotes\"", null, "neg", 5);
        // the record above spans lines 5-6, the blank line 7 is skipped
        assertRecord(r.get(4), "5\" screen", null, "pos", 8);
        assertRecord(r.get(5), "\"", null, "neg", 9);
        assertRecord(r.get(6), "trailing", null, "\"quoted label\"", 10);
    }

    @Test
    void csvPairsHeaderlessAndEmptyFields() throws IOException {
        Path p = file("p.csv", "label,s1,s2\nyes,a,\"b\"\n");
        assertRecord(TextRecords.read(p, Format.CSV, Fields.pair("s1", "s2", "label")).get(0), "a", "b", "yes", 2);

        Path h = file("h.txt", "\"x, y\",1\nz,0");
        List<LabelledText> r = TextRecords.read(h, Format.CSV_HEADERLESS, Fields.columns(0, 1));
        assertRecord(r.get(0), "x, y", null, "1", 1);
        assertRecord(r.get(1), "z", null, "0", 2);

        assertEquals("empty text in field \"text\"; remove the record or fill it in",
                error(file("e.csv", "text,label\n\"\",1"), 2, Format.CSV, Fields.DEFAULT));
        assertEquals("empty label in field \"label\"; remove the record or label it",
                error(file("e2.csv", "text,label\nabc,"), 2, Format.CSV, Fields.DEFAULT));
    }

    @Test
    void csvErrors() throws IOException {
        Path p = file("bad.csv", "text,label\n\"multi\nline\",pos\nhello, world,neg\n");
        assertEquals("3 columns, the header has 2 (CSV); quote fields that contain commas or newlines (\"a, b\")",
                error(p, 4, Format.CSV, Fields.DEFAULT));

        assertEquals("unclosed quote: the quoted field starting on this line never ends; a quote inside a quoted field must be doubled (\"\")",
                error(file("q.csv", "text,label\nok,1\n\"never closed,1\nmore,0\n"), 3, Format.CSV, Fields.DEFAULT));
        assertEquals("text after a closing quote; a quote inside a quoted field must be doubled (\"\")",
                error(file("r.csv", "text,label\n\"say \"hi\"\",1\n"), 2, Format.CSV, Fields.DEFAULT));
        assertEquals("no column \"label\" in the header (columns: text, sentiment); set data.label_field",
                error(file("s.csv", "text,sentiment\na,1\n"), 1, Format.CSV, Fields.DEFAULT));
        // AG News has no header row: the error says which headerless settings read it, and they do
        String ag = "\"3\",\"Wall St. Bears Claw Back Into the Black\",\"Reuters - Short-sellers, Wall Street's dwindling band\"\n"
                + "\"4\",\"Carlyle Looks Toward Commercial Aerospace\",\"Reuters - Private investment firm Carlyle Group\"\n";
        String agError = error(file("ag.csv", ag), 1, Format.CSV, Fields.DEFAULT);
        assertTrue(agError.startsWith("the first row looks like data, not a header"), agError);
        assertTrue(agError.endsWith("set data.format to \"csv-headerless\" and give column indexes (0 is the first), "
                + "e.g. data.text_field \"2\" and data.label_field \"0\""), agError);
        List<LabelledText> agRows = TextRecords.read(file("ag2.csv", ag), Format.CSV_HEADERLESS, Fields.of("2", "0"));
        assertEquals(List.of("3", "4"), agRows.stream().map(LabelledText::label).toList());
        assertTrue(agRows.get(1).text().startsWith("Reuters - Private"));
        assertEquals("the header names column \"text\" more than once",
                error(file("t.csv", "text,label,text\na,1,b\n"), 1, Format.CSV, Fields.DEFAULT));
        assertEquals("2 columns, but the fields name column 4 (0-based); set data.text_field / data.label_field to column indexes below 2",
                error(file("u.csv", "a,1\n"), 1, Format.CSV_HEADERLESS, Fields.columns(0, 4)));
        DataException e = assertThrows(DataException.class,
                () -> TextRecords.read(file("v.csv", "a,1\n"), Format.CSV_HEADERLESS, Fields.DEFAULT));
        assertTrue(e.getMessage().startsWith("headerless CSV/TSV: field \"text\" is not a 0-based column index"), e.getMessage());
    }

    // ---- TSV ----

    @Test
    void tsvWithHeaderAndHeadless() throws IOException {
        // GLUE style: quotes are plain text in TSV
        Path p = file("train.tsv", "sentence\tlabel\nit 's \"great\"\t1\r\n\nmeh, ok\t0\n");
        List<LabelledText> r = TextRecords.read(p, Format.AUTO, Fields.of("sentence", "label"));
        assertEquals(2, r.size());
        assertRecord(r.get(0), "it 's \"great\"", null, "1", 2);
        assertRecord(r.get(1), "meh, ok", null, "0", 4);

        Path h = file("h.tsv", "id1\tq one\tq two\t1\nid2\tq three\tq four\t0\n");
        List<LabelledText> hr = TextRecords.read(h, Format.TSV_HEADERLESS, Fields.columns(1, 2, 3));
        assertRecord(hr.get(1), "q three", "q four", "0", 2);

        assertEquals("3 columns, the header has 2 (TSV); TSV has no quoting, so fields must not contain tabs",
                error(file("bad.tsv", "text\tlabel\na\t1\nb\tc\t1\n"), 3, Format.TSV, Fields.DEFAULT));
        assertEquals("3 columns, line 1 has 4 (TSV); TSV has no quoting, so fields must not contain tabs",
                error(file("bad2.tsv", "a\tb\tc\t1\nd\te\t0\n"), 2, Format.TSV_HEADERLESS, Fields.columns(1, 2, 3)));
    }

    // ---- label-first ----

    @Test
    void labelFirst() throws IOException {
        Path p = file("tiny.train", "1 a fine film .\n\n0\tdull ,  dull\r\n  2   spaced   out  \n");
        List<LabelledText> r = TextRecords.read(p, Format.LABEL_FIRST, Fields.DEFAULT);
        assertEquals(3, r.size());
        assertRecord(r.get(0), "a fine film .", null, "1", 1);
        assertRecord(r.get(1), "dull ,  dull", null, "0", 3);
        assertRecord(r.get(2), "spaced   out", null, "2", 4);

        assertEquals("no text after the label \"1\" (label-first lines are \"LABEL text\"); remove the line or fill it in",
                error(file("e.train", "0 ok\n1\n"), 2, Format.LABEL_FIRST, Fields.DEFAULT));
        DataException e = assertThrows(DataException.class,
                () -> TextRecords.read(p, Format.LABEL_FIRST, Fields.pair("a", "b", "c")));
        assertTrue(e.getMessage().startsWith(p + ": label-first lines hold one text"), e.getMessage());
    }

    @Test
    void sst2DevLabelFirst() throws IOException {
        Path dev = TestSupport.shared("datasets/sst2/stsa.binary.dev");
        List<LabelledText> r = TextRecords.read(dev, Format.LABEL_FIRST, Fields.DEFAULT);
        assertEquals(872, r.size());
        Map<String, Long> counts = r.stream().collect(Collectors.groupingBy(LabelledText::label, TreeMap::new, Collectors.counting()));
        assertEquals(Map.of("0", 428L, "1", 444L), counts);
        assertRecord(r.get(0), "one long string of cliches .", null, "0", 1);
        assertEquals(872, r.get(871).line());
        assertEquals(List.of("0", "1"), LabelSet.fromTraining(r).names());
    }

    @Test
    void latin1DatasetsNeedTheirEncoding() throws IOException {
        Path mr = TestSupport.shared("datasets/mr/rt-polarity.all");
        DataException e = assertThrows(DataException.class, () -> TextRecords.read(mr, Format.LABEL_FIRST, Fields.DEFAULT));
        assertTrue(e.getMessage().matches(".*rt-polarity\\.all:\\d+: not valid UTF-8 \\(byte 0x[0-9A-F]{2}\\); if the file is Latin-1"
                + " or Windows-1252, set data.encoding accordingly"), e.getMessage());
        // Latin-1 keeps 0x85 as a character: splitting only on '\n' gives exactly the 10,662 sentences
        List<LabelledText> r = TextRecords.read(mr, Format.LABEL_FIRST, Fields.DEFAULT, StandardCharsets.ISO_8859_1);
        assertEquals(10_662, r.size());
        assertEquals(5331, r.stream().filter(t -> t.label().equals("1")).count());
        assertEquals(10_662, r.get(r.size() - 1).line());
    }

    @Test
    void invalidUtf8IsReportedAtItsLine() throws IOException {
        Path p = dir.resolve("x.jsonl");
        Files.write(p, new byte[]{'{', '}', '\n', 'a', '\n', 'b', (byte) 0xE9, 'c', '\n'});
        assertEquals("not valid UTF-8 (byte 0xE9); if the file is Latin-1 or Windows-1252, set data.encoding accordingly",
                error(p, 3, Format.JSONL, Fields.DEFAULT));
    }

    @Test
    void formatNamesAndDetection() {
        assertEquals(Format.LABEL_FIRST, Format.parse("label-first"));
        assertEquals(Format.TSV_HEADERLESS, Format.parse("TSV_headerless"));
        assertEquals(Format.JSONL, TextRecords.detect(Path.of("a/train.JSONL")));
        assertEquals(Format.JSONL, TextRecords.detect(Path.of("x.json")));
        assertEquals(Format.CSV, TextRecords.detect(Path.of("x.csv")));
        assertEquals(Format.TSV, TextRecords.detect(Path.of("x.tsv")));
        assertEquals("stsa.binary.dev: cannot tell the format from the file name; set data.format to one of"
                        + " auto, jsonl, csv, csv-headerless, tsv, tsv-headerless, label-first",
                assertThrows(DataException.class, () -> TextRecords.detect(Path.of("stsa.binary.dev"))).getMessage());
        assertEquals("unknown data format \"xml\"; set data.format to one of auto, jsonl, csv, csv-headerless, tsv,"
                + " tsv-headerless, label-first", assertThrows(DataException.class, () -> Format.parse("xml")).getMessage());
        assertNull(new Fields("t", " ", "l").textPair());
        assertThrows(DataException.class, () -> Fields.of("", "label"));
    }
}
