package dev.kiln.spark;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.Kiln;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Spark jobs give what the single-machine paths give on the same rows: {@code kiln predict}'s JSON objects
 * (its line input fed the same JSONL lines), {@code Kiln.encoder}'s vectors; the output joins back by the id
 * column; an executor opens the model once for all its partitions. Local mode, two worker threads.
 */
@ExtendWith(OneThreadWhenBusy.class)
class SparkInferenceTest {
    @TempDir
    static Path tmp;
    static Path run;
    static SparkSession spark;
    static final String[] TEXTS = {"good fine nice", "lovely great", "nice and good but a little long to read here",
            "bad awful poor", "terrible bad", "poor and awful", "fine", "great great great great lovely nice"};

    @BeforeAll
    static void setUp() throws IOException {
        spark = SparkJobs.localSession("local[2]");
        Path model = TinyModels.bert(tmp.resolve("bert"), 1, 32, 5);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            lines.add("{\"review\": \"" + TEXTS[i % TEXTS.length] + "\", \"stars\": \"" + (i % 2 == 0 ? 1 : 0) + "\"}");
        }
        Files.write(tmp.resolve("train.jsonl"), lines);
        Path cfg = Files.writeString(tmp.resolve("cfg.json"), """
                {"model": {"name": "%s", "device": "cpu"},
                 "task": {"type": "classification"},
                 "data": {"train": "train.jsonl", "text_field": "review", "label_field": "stars", "max_length": 16},
                 "training": {"max_steps": 2, "batch_size": 4}, "optimizer": {"lr": 1e-3},
                 "logging": {"tensorboard": false, "plot": false, "progress": "off"}, "output": {"dir": "%s"}}
                """.formatted(model, tmp.resolve("run")));
        run = Kiln.train(cfg).dir();
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) spark.stop();
        ExecutorModels.closeAll();
    }

    /** 40 rows with an id, texts of mixed length, under "review" (the run's data.text_field). */
    static List<String> inputLines() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            out.add("{\"id\": " + (1000 + i) + ", \"review\": \"" + TEXTS[(i * 5) % TEXTS.length] + (i % 3 == 0 ? " and so on" : "") + "\"}");
        }
        return out;
    }

    /** What kiln predict prints for these lines, one object per line. */
    static List<JsonObject> cliPredict(List<String> lines) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Kiln.predict(run, "cpu", new BufferedReader(new StringReader(String.join("\n", lines))),
                new PrintStream(buf, true, StandardCharsets.UTF_8), Map.of());
        List<JsonObject> out = new ArrayList<>();
        for (String l : buf.toString(StandardCharsets.UTF_8).split("\n")) out.add(JsonParser.parseString(l).getAsJsonObject());
        return out;
    }

    static List<String> partFiles(Path dir, String suffix) throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("part-") && p.toString().endsWith(suffix)).sorted().toList()) {
                lines.addAll(Files.readAllLines(p));
            }
        }
        return lines;
    }

    static void assertSamePrediction(JsonObject want, JsonObject got) {
        assertEquals(want.get("label"), got.get("label"), got.toString());
        assertEquals(want.get("text"), got.get("text"));
        // batched vs batched in another composition: padding is masked, so only float rounding may differ
        assertEquals(want.get("score").getAsDouble(), got.get("score").getAsDouble(), 1e-5, got.toString());
        JsonObject wp = want.getAsJsonObject("probabilities"), gp = got.getAsJsonObject("probabilities");
        assertEquals(wp.keySet(), gp.keySet());
        for (String k : wp.keySet()) assertEquals(wp.get(k).getAsDouble(), gp.get(k).getAsDouble(), 1e-5);
    }

    @Test
    void predictEqualsTheCliOnTheSameRowsAndLoadsTheModelOncePerExecutor() throws IOException {
        List<String> lines = inputLines();
        Path in = Files.write(tmp.resolve("in.jsonl"), lines);
        List<JsonObject> want = cliPredict(lines);
        int loadsBefore = ExecutorModels.LOADS.get();
        SparkInference.Summary s = SparkInference.predict(spark, new SparkInference.Job(in.toString(), "auto",
                tmp.resolve("out").toString(), "jsonl", run.toString(), "cpu", List.of(), 3), Map.of());
        assertEquals(40, s.rows());
        assertEquals(3, s.partitions());
        // local mode: the driver is the one executor; three partitions, one model
        assertEquals(loadsBefore + 1, ExecutorModels.LOADS.get());

        Map<Long, JsonObject> byId = new HashMap<>();
        for (String l : partFiles(tmp.resolve("out"), ".txt")) {
            JsonObject o = JsonParser.parseString(l).getAsJsonObject();
            assertEquals(2, o.size(), "only the id column is kept by default: " + o);
            byId.put(o.get("id").getAsLong(), o.getAsJsonObject("prediction"));
        }
        assertEquals(40, byId.size());
        for (int i = 0; i < lines.size(); i++) assertSamePrediction(want.get(i), byId.get(1000L + i));
    }

    @Test
    void parquetInAndOutKeepTheChosenColumns() throws IOException {
        List<String> lines = inputLines();
        Path json = Files.write(tmp.resolve("pq-src.jsonl"), lines);
        String pq = tmp.resolve("in.parquet").toString();
        spark.read().json(json.toString()).write().parquet(pq);
        List<JsonObject> want = cliPredict(lines);
        SparkInference.predict(spark, new SparkInference.Job(pq, "auto", tmp.resolve("out-pq").toString(), "parquet",
                run.toString(), "cpu", List.of("id", "review"), 2), Map.of());
        List<Row> rows = spark.read().parquet(tmp.resolve("out-pq").toString()).collectAsList();
        assertEquals(40, rows.size());
        for (Row r : rows) {
            int i = (int) (r.getLong(r.fieldIndex("id")) - 1000);
            JsonObject p = JsonParser.parseString(r.getString(r.fieldIndex("prediction"))).getAsJsonObject();
            assertEquals(p.get("text").getAsString(), r.getString(r.fieldIndex("review")));
            assertSamePrediction(want.get(i), p);
        }
    }

    @Test
    void encodeEqualsTheEncoderOnTheSameRows() throws IOException {
        String model = TinyModels.miniLmFolder().toString();
        List<String> texts = new ArrayList<>(), csv = new ArrayList<>(List.of("id,text"));
        for (int i = 0; i < 10; i++) {
            String t = TEXTS[i % TEXTS.length] + (i % 4 == 0 ? " with a longer tail of words" : "");
            texts.add(t);
            csv.add("k" + i + "," + t);
        }
        Path in = Files.write(tmp.resolve("enc.csv"), csv);
        float[][] want;
        try (Kiln.Encoder e = Kiln.encoder(model, "cpu")) {
            want = e.encode(texts);
        }
        SparkInference.encode(spark, new SparkInference.Job(in.toString(), "auto", tmp.resolve("enc-out").toString(), "jsonl",
                model, "cpu", List.of(), 2), "text", false, false, 4);
        int seen = 0;
        for (String l : partFiles(tmp.resolve("enc-out"), ".json")) {
            JsonObject o = JsonParser.parseString(l).getAsJsonObject();
            int i = Integer.parseInt(o.get("id").getAsString().substring(1));
            JsonArray v = o.getAsJsonArray("embedding");
            assertEquals(want[i].length, v.size());
            for (int d = 0; d < v.size(); d++) assertEquals(want[i][d], v.get(d).getAsFloat(), 1e-5, "row " + i + " dim " + d);
            seen++;
        }
        assertEquals(10, seen);
    }

    @Test
    void badColumnsAreOneLineErrors() throws IOException {
        Path in = Files.write(tmp.resolve("bad.jsonl"), List.of("{\"id\": 1, \"body\": \"x\"}"));
        String e = assertThrows(IllegalArgumentException.class, () -> SparkInference.encode(spark, new SparkInference.Job(
                in.toString(), "auto", tmp.resolve("bad-out").toString(), "jsonl", run.toString(), "cpu", List.of(), 0),
                "text", false, false, 4)).getMessage();
        assertEquals(in + ": no column \"text\" (columns: body, id); give --text-field", e);
        e = assertThrows(IllegalArgumentException.class, () -> SparkInference.predict(spark, new SparkInference.Job(
                in.toString(), "auto", tmp.resolve("bad-out").toString(), "jsonl", run.toString(), "cpu", List.of("key"), 0),
                Map.of())).getMessage();
        assertTrue(e.startsWith("--keep key: no such column"), e);
    }

    @Test
    void theSparkSubmitCommandLineParses() {
        picocli.CommandLine cl = new picocli.CommandLine(new SparkJobs());
        picocli.CommandLine.ParseResult r = cl.parseArgs("predict", "runs/x", "--input", "in.parquet", "--output", "out",
                "--keep", "id,title", "--set", "data.text_field=body", "--master", "local[2]");
        SparkJobs.Predict p = (SparkJobs.Predict) r.subcommand().commandSpec().userObject();
        assertEquals(List.of("id", "title"), p.keep);
        assertEquals("local[2]", p.master);
        assertEquals("jsonl", p.outputFormat);
        r = cl.parseArgs("prepare", "--input", "c", "--output", "o", "--task", "pretrain-gpt", "--tokenizer", "gpt2");
        SparkJobs.Prepare q = (SparkJobs.Prepare) r.subcommand().commandSpec().userObject();
        assertEquals("file", q.documents);
        assertEquals(256.0, q.shardMb);
        assertThrows(picocli.CommandLine.MissingParameterException.class, () -> cl.parseArgs("encode", "m", "--input", "x"));
    }

    @Test
    void plainTextLinesPredictAsKilnPredictsThem() throws IOException {
        List<String> lines = new ArrayList<>(List.of(TEXTS));
        lines.add(3, "   "); // kiln predict skips a blank line; so does the job
        Path in = Files.write(tmp.resolve("lines.txt"), lines);
        List<JsonObject> want = cliPredict(lines);
        assertEquals(TEXTS.length, want.size());
        SparkInference.Summary s = SparkInference.predict(spark, new SparkInference.Job(in.toString(), "auto",
                tmp.resolve("out-txt").toString(), "jsonl", run.toString(), "cpu", List.of(), 0), Map.of());
        assertEquals(TEXTS.length, s.rows());
        Map<String, JsonObject> byText = new HashMap<>();
        for (String l : partFiles(tmp.resolve("out-txt"), ".txt")) {
            JsonObject o = JsonParser.parseString(l).getAsJsonObject();
            assertEquals(o.get("text").getAsString(), o.getAsJsonObject("prediction").get("text").getAsString());
            byText.put(o.get("text").getAsString(), o.getAsJsonObject("prediction"));
        }
        for (JsonObject w : want) assertSamePrediction(w, byText.get(w.get("text").getAsString()));
    }
}
