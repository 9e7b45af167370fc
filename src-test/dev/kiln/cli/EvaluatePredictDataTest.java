package dev.kiln.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.config.ConfigException;
import dev.kiln.data.DataException;
import dev.kiln.tasks.qa.SquadReader;
import dev.kiln.data.TextRecords;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * evaluate and predict read other formats and fields than the run was trained on (--format, --set data.KEY=...);
 * task.label_names names the classes; data errors that no field name can fix say what does.
 */
@ExtendWith(OneThreadWhenBusy.class)
class EvaluatePredictDataTest {
    @TempDir
    static Path tmp;
    static Path run;
    static final String[] POS = {"good fine nice", "lovely great", "nice and good"};
    static final String[] NEG = {"bad awful poor", "terrible bad", "poor and awful"};

    /** A classifier trained on JSONL whose text is under "review" and whose labels are "1" / "0", named by task.label_names. */
    @BeforeAll
    static void train() throws IOException {
        Path model = TinyModels.bert(tmp.resolve("bert"), 1, 32, 5);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            lines.add("{\"review\": \"" + (i % 2 == 0 ? POS[i % 3] : NEG[i % 3]) + "\", \"stars\": \"" + (i % 2 == 0 ? 1 : 0) + "\"}");
        }
        Files.write(tmp.resolve("train.jsonl"), lines);
        Path cfg = Files.writeString(tmp.resolve("cfg.json"), """
                {"model": {"name": "%s", "device": "cpu"},
                 "task": {"type": "classification", "label_names": {"1": "positive", "0": "negative"}},
                 "data": {"train": "train.jsonl", "text_field": "review", "label_field": "stars", "max_length": 16},
                 "training": {"max_steps": 2, "batch_size": 4}, "optimizer": {"lr": 1e-3},
                 "logging": {"tensorboard": false, "plot": false}, "output": {"dir": "%s"}}
                """.formatted(model, tmp.resolve("run")));
        run = tmp.resolve("run");
        cli("train", cfg.toString(), "--quiet");
    }

    static String cli(String... args) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(0, KilnCli.run(args, new PrintStream(buf, true, StandardCharsets.UTF_8)));
        return buf.toString(StandardCharsets.UTF_8).trim();
    }

    static String predict(String input, String... extra) throws IOException {
        InputStream old = System.in;
        System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
        try {
            List<String> args = new ArrayList<>(List.of("predict", run.toString()));
            args.addAll(List.of(extra));
            return cli(args.toArray(String[]::new));
        } finally {
            System.setIn(old);
        }
    }

    @Test
    void labelNamesReachThePredictionsTheMetricsAndTheSavedConfig() throws IOException {
        JsonObject p = JsonParser.parseString(predict("good fine nice\n")).getAsJsonObject();
        assertTrue(Set.of("positive", "negative").contains(p.get("label").getAsString()), p.toString());
        assertEquals(Set.of("positive", "negative"), p.getAsJsonObject("probabilities").keySet());
        String id2label = Files.readString(run.resolve("final/config.json"));
        assertTrue(id2label.contains("\"positive\"") && id2label.contains("\"negative\""), id2label);
    }

    @Test
    void evaluateReadsOtherFormatsWithDataOptions() throws IOException {
        // the run's own settings: JSONL with "review" / "stars", raw labels "1" / "0" mapped to the names
        JsonObject own = JsonParser.parseString(cli("evaluate", run.toString(), "--data", tmp.resolve("train.jsonl").toString()))
                .getAsJsonObject();
        assertEquals("[\"negative\",\"positive\"]", own.get("labels").toString(), own.toString());
        double accuracy = own.get("accuracy").getAsDouble();

        // the same 12 rows as a CSV with other column names, and as a headerless TSV (label first)
        List<String> csv = new ArrayList<>(List.of("stars,body"));
        List<String> tsv = new ArrayList<>();
        for (String l : Files.readAllLines(tmp.resolve("train.jsonl"))) {
            JsonObject o = JsonParser.parseString(l).getAsJsonObject();
            csv.add(o.get("stars").getAsString() + "," + o.get("review").getAsString());
            tsv.add(o.get("stars").getAsString() + "\t" + o.get("review").getAsString());
        }
        Path csvFile = Files.write(tmp.resolve("eval.csv"), csv);
        Path tsvFile = Files.write(tmp.resolve("eval.tsv"), tsv);
        JsonObject fromCsv = JsonParser.parseString(cli("evaluate", run.toString(), "--data", csvFile.toString(),
                "--format", "csv", "--set", "data.text_field=body")).getAsJsonObject();
        assertEquals(accuracy, fromCsv.get("accuracy").getAsDouble(), 1e-12);
        JsonObject fromTsv = JsonParser.parseString(cli("evaluate", run.toString(), "--data", tsvFile.toString(),
                "--format", "tsv-headerless", "--set", "data.text_field=1", "--set", "data.label_field=0")).getAsJsonObject();
        assertEquals(accuracy, fromTsv.get("accuracy").getAsDouble(), 1e-12);

        String e = assertThrows(IllegalArgumentException.class, () -> cli("evaluate", run.toString(), "--data", csvFile.toString(),
                "--set", "data.txt_field=body")).getMessage();
        assertEquals("data.txt_field is not a data option of the classification task (did you mean \"data.text_field\"?); it takes "
                + "data.format, data.encoding, data.text_field, data.text_pair_field, data.label_field", e);
        assertTrue(assertThrows(KilnCli.UsageException.class, () -> cli("evaluate", run.toString(), "--data", csvFile.toString(),
                "--set", "text_field=body")).getMessage().startsWith("evaluate: --set takes data.KEY=VALUE"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> cli("evaluate", run.toString(), "--data", csvFile.toString(),
                "--encoding", "latin-9x")).getMessage().startsWith("data.encoding must be a charset name"));
    }

    @Test
    void predictReadsTheRunsTextFieldOrTheOneGiven() throws IOException {
        List<String> plain = predict("good fine nice\n").lines().toList();
        String byRunField = predict("{\"review\": \"good fine nice\"}\n");
        String byText = predict("{\"text\": \"good fine nice\"}\n");
        String byOption = predict("{\"body\": \"good fine nice\"}\n", "--set", "data.text_field=body");
        String label = JsonParser.parseString(plain.get(0)).getAsJsonObject().get("label").getAsString();
        for (String out : List.of(byRunField, byText, byOption)) {
            assertEquals(label, JsonParser.parseString(out).getAsJsonObject().get("label").getAsString(), out);
        }
    }

    /** --batch-size changes how many inputs share a forward pass, not what comes out; a bad value is one line. */
    @Test
    void batchSizeLeavesPredictionsAndMetricsAsTheyAre() throws IOException {
        String input = String.join("\n", "good", "terrible bad and awful and poor", "nice and good", "{\"review\": \"bad\"}",
                "lovely great lovely great nice", "poor") + "\n";
        List<String> one = predict(input, "--batch-size", "1").lines().toList();
        List<String> many = predict(input, "--batch-size", "64").lines().toList();
        List<String> dflt = predict(input).lines().toList();
        assertEquals(6, one.size(), one.toString());
        for (List<String> other : List.of(many, dflt)) {
            assertEquals(one.size(), other.size());
            for (int i = 0; i < one.size(); i++) {
                JsonObject a = JsonParser.parseString(one.get(i)).getAsJsonObject(), b = JsonParser.parseString(other.get(i)).getAsJsonObject();
                // input order: each line answers its own text
                assertEquals(a.get("text"), b.get("text"));
                assertEquals(a.get("label"), b.get("label"));
                // padding is masked out: the same probabilities up to float rounding
                assertEquals(a.get("score").getAsDouble(), b.get("score").getAsDouble(), 1e-5, a + " vs " + b);
            }
        }
        String data = tmp.resolve("train.jsonl").toString();
        JsonObject e1 = JsonParser.parseString(cli("evaluate", run.toString(), "--data", data, "--batch-size", "1")).getAsJsonObject();
        JsonObject e64 = JsonParser.parseString(cli("evaluate", run.toString(), "--data", data, "--batch-size", "64")).getAsJsonObject();
        assertTrue(e1.has("accuracy") && e1.has("examples_per_s"), e1.toString());
        e1.remove("examples_per_s");
        e64.remove("examples_per_s");
        assertEquals(e1, e64);

        assertEquals("evaluate: --batch-size 0: expected a whole number of at least 1", assertThrows(KilnCli.UsageException.class,
                () -> cli("evaluate", run.toString(), "--data", data, "--batch-size", "0")).getMessage());
        assertEquals("predict: --batch-size -3: expected a whole number of at least 1", assertThrows(KilnCli.UsageException.class,
                () -> predict("good\n", "--batch-size", "-3")).getMessage());
        String many2 = assertThrows(KilnCli.UsageException.class, () -> predict("good\n", "--batch-size", "many")).getMessage();
        assertTrue(many2.startsWith("predict: Invalid value for option '--batch-size'"), many2);
        assertEquals(1, many2.lines().count(), many2);
    }

    /** encode --input: one vector per line, in input order, the same at any batch size and as TEXT one at a time. */
    @Test
    void encodeInputLinesInBatchesGivesEachLinesOwnVector() throws IOException {
        Path model = tmp.resolve("bert");
        List<String> texts = List.of("good", "terrible bad and awful and poor and bad", "nice and good", "poor", "lovely great nice");
        Path file = Files.write(tmp.resolve("encode.txt"), texts);
        List<String> one = cli("encode", model.toString(), "--input", file.toString(), "--batch-size", "1").lines().toList();
        List<String> many = cli("encode", model.toString(), "--input", file.toString(), "--batch-size", "64").lines().toList();
        assertEquals(texts.size(), one.size());
        assertEquals(texts.size(), many.size());
        for (int i = 0; i < texts.size(); i++) {
            var alone = JsonParser.parseString(cli("encode", model.toString(), texts.get(i))).getAsJsonArray();
            for (List<String> out : List.of(one, many)) {
                var got = JsonParser.parseString(out.get(i)).getAsJsonArray();
                assertEquals(alone.size(), got.size());
                for (int k = 0; k < alone.size(); k++) {
                    assertEquals(alone.get(k).getAsDouble(), got.get(k).getAsDouble(), 1e-5, "line " + (i + 1) + " dim " + k);
                }
            }
        }
        assertEquals("encode: --batch-size 0: expected a whole number of at least 1", assertThrows(KilnCli.UsageException.class,
                () -> cli("encode", model.toString(), "--input", file.toString(), "--batch-size", "0")).getMessage());
        assertEquals("encode: give exactly one of TEXT or --input FILE", assertThrows(KilnCli.UsageException.class,
                () -> cli("encode", model.toString())).getMessage());
    }

    @Test
    void labelNamesMustNameTrainingLabels() throws IOException {
        Path cfg = Files.writeString(tmp.resolve("bad-names.json"), Files.readString(tmp.resolve("cfg.json"))
                .replace("\"0\": \"negative\"", "\"5\": \"negative\"").replace(run.toString(), tmp.resolve("run-bad").toString()));
        ConfigException e = assertThrows(ConfigException.class, () -> cli("train", cfg.toString(), "--quiet"));
        assertEquals("bad-names.json: \"task.label_names\" names label \"5\", which train.jsonl does not hold (its labels: 0, 1)",
                e.getMessage());
        assertFalse(Files.exists(tmp.resolve("run-bad")));
    }

    /** AG News: no header row; format csv with named fields cannot work, whatever the field names. */
    @Test
    void aHeaderThatLooksLikeDataPointsAtTheHeaderlessFormat() throws IOException {
        Path ag = Files.writeString(tmp.resolve("ag.csv"), "\"3\",\"Wall St. Bears Claw Back Into the Black (Reuters)\","
                + "\"Reuters - Short-sellers, Wall Street's dwindling band of ultra-cynics, are seeing green again.\"\n"
                + "\"4\",\"Carlyle Looks Toward Commercial Aerospace\",\"Reuters - Private investment firm Carlyle Group.\"\n");
        DataException e = assertThrows(DataException.class, () -> TextRecords.read(ag, TextRecords.Format.CSV,
                TextRecords.Fields.pair("description", null, "label")));
        assertTrue(e.getMessage().startsWith(ag + ":1: the first row looks like data, not a header"), e.getMessage());
        assertTrue(e.getMessage().endsWith("set data.format to \"csv-headerless\" and give column indexes (0 is the first), "
                + "e.g. data.text_field \"2\" and data.label_field \"0\""), e.getMessage());
        assertFalse(e.getMessage().contains("; set data.text_field"), e.getMessage());
        // a real header without the field still names the columns to choose from
        Path named = Files.writeString(tmp.resolve("named.csv"), "label,title\n1,a fine film\n");
        DataException n = assertThrows(DataException.class, () -> TextRecords.read(named, TextRecords.Format.CSV,
                TextRecords.Fields.pair("description", null, "label")));
        assertTrue(n.getMessage().endsWith("no column \"description\" in the header (columns: label, title); set data.text_field"),
                n.getMessage());
    }

    @Test
    void aQaFileThatIsNotJsonIsOneLine() {
        DataException e = assertThrows(DataException.class, () -> SquadReader.parse("question,context\nwho,me\n", Path.of("dev.csv")));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().startsWith("dev.csv: not valid JSON ("), e.getMessage());
        assertFalse(e.getMessage().contains("http") || e.getMessage().contains("Exception"), e.getMessage());
    }
}
