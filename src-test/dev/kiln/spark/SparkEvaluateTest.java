package dev.kiln.spark;

import com.google.gson.JsonObject;
import dev.kiln.Kiln;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spark's evaluate reports what {@code kiln evaluate} ({@code Kiln.evaluate}) reports on the same rows, read from
 * JSONL, CSV or Parquet and split over several partitions: macro-F1 and entity F1 are computed once over every row,
 * not averaged over partitions. Tiny 2-step runs of a 1-layer BERT; local mode, two worker threads.
 */
@ExtendWith(OneThreadWhenBusy.class)
class SparkEvaluateTest {
    @TempDir
    static Path tmp;
    static Path bert;
    static SparkSession spark;
    static final String[] TEXTS = {"good fine nice", "lovely great", "nice and good but a little long to read here",
            "bad awful poor", "terrible bad", "poor and awful", "fine", "great great great great lovely nice", "awful and long"};

    @BeforeAll
    static void setUp() throws IOException {
        spark = SparkJobs.localSession("local[2]");
        bert = TinyModels.bert(tmp.resolve("bert"), 1, 32, 5);
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) spark.stop();
        ExecutorModels.closeAll();
    }

    static Path train(String name, String task, Path data, String dataKeys) throws IOException {
        return train(name, task, "", data, dataKeys);
    }

    static Path train(String name, String task, String taskKeys, Path data, String dataKeys) throws IOException {
        return train(name, bert, task, taskKeys, data, dataKeys, 24);
    }

    static Path train(String name, Path model, String task, String taskKeys, Path data, String dataKeys, int maxLength)
            throws IOException {
        Path cfg = Files.writeString(tmp.resolve(name + ".json"), """
                {"model": {"name": "%s", "device": "cpu"},
                 "task": {"type": "%s" %s},
                 "data": {"train": "%s", "max_length": %d %s},
                 "training": {"max_steps": 2, "batch_size": 8}, "optimizer": {"lr": 1e-3},
                 "logging": {"tensorboard": false, "plot": false, "progress": "off"}, "output": {"dir": "%s"}}
                """.formatted(model, task, taskKeys, data, maxLength, dataKeys, tmp.resolve(name)));
        return Kiln.train(cfg).dir();
    }

    /** The metrics, without what names the model and data or times the run. */
    static Map<String, Object> metrics(Map<String, Object> m) {
        Map<String, Object> out = new LinkedHashMap<>(m);
        for (String k : List.of("model", "data", "examples_per_s", "partitions")) out.remove(k);
        return out;
    }

    @Test
    void classificationMetricsEqualKilnEvaluateOnJsonlAndCsvOverPartitions() throws IOException {
        List<String> trainLines = new ArrayList<>();
        for (int i = 0; i < 16; i++) trainLines.add("{\"review\": \"" + TEXTS[i % 6] + "\", \"stars\": \"" + (i % 6 < 3 ? 5 : 1) + "\"}");
        Path run = train("cls", "classification", Files.write(tmp.resolve("cls-train.jsonl"), trainLines),
                ", \"text_field\": \"review\", \"label_field\": \"stars\"");
        // 45 rows, labels not tied to the texts, so the 2-step model is right on some and wrong on others
        List<String> jsonl = new ArrayList<>(), csv = new ArrayList<>(List.of("id,review,stars"));
        for (int i = 0; i < 45; i++) {
            String text = TEXTS[(i * 4) % TEXTS.length] + (i % 5 == 0 ? " and so on" : "");
            String stars = i % 3 == 0 ? "1" : "5";
            jsonl.add("{\"id\": " + i + ", \"review\": \"" + text + "\", \"stars\": \"" + stars + "\"}");
            csv.add(i + "," + text + "," + stars);
        }
        Path in = Files.write(tmp.resolve("cls-dev.jsonl"), jsonl);
        Map<String, Object> want = Kiln.evaluate(run, in, "cpu", Map.of());
        assertEquals(45, want.get("count"));

        // an independent reference for the accuracy: kiln predict's labels against the gold
        int right = 0;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        Kiln.predict(run, "cpu", new java.io.BufferedReader(new java.io.StringReader(String.join("\n", jsonl))),
                new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8), Map.of());
        List<JsonObject> preds = new ArrayList<>();
        for (String l : buf.toString(java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
            preds.add(com.google.gson.JsonParser.parseString(l).getAsJsonObject());
        }
        assertEquals(45, preds.size());
        for (int i = 0; i < 45; i++) if (preds.get(i).get("label").getAsString().equals(i % 3 == 0 ? "1" : "5")) right++;
        assertEquals(right / 45.0, (double) want.get("accuracy"), 1e-12);

        Map<String, Object> got = SparkEvaluate.evaluate(spark, in.toString(), "auto", run.toString(), "cpu", 3, Map.of());
        assertEquals(3, got.get("partitions"));
        assertEquals(metrics(want), metrics(got)); // counts, then the same arithmetic: equal to the bit

        Path csvIn = Files.write(tmp.resolve("cls-dev.csv"), csv);
        assertEquals(metrics(want), metrics(SparkEvaluate.evaluate(spark, csvIn.toString(), "auto", run.toString(), "cpu", 4, Map.of())));

        // other column names through the data options, as kiln evaluate --set data.text_field=...
        List<String> renamed = new ArrayList<>();
        for (String l : jsonl) renamed.add(l.replace("\"review\"", "\"body\"").replace("\"stars\"", "\"rating\""));
        Path other = Files.write(tmp.resolve("cls-other.jsonl"), renamed);
        Map<String, String> opts = Map.of("text_field", "body", "label_field", "rating");
        Map<String, Object> wantOther = Kiln.evaluate(run, other, "cpu", opts);
        assertEquals(metrics(want), metrics(wantOther));
        assertEquals(metrics(wantOther), metrics(SparkEvaluate.evaluate(spark, other.toString(), "auto", run.toString(), "cpu", 2, opts)));

        // a label the model does not know is the task's one-line error, naming the partition and row
        Path bad = Files.write(tmp.resolve("cls-bad.jsonl"), List.of("{\"review\": \"fine\", \"stars\": \"3\"}"));
        String e = assertThrows(IllegalArgumentException.class, () -> SparkEvaluate.evaluate(spark, bad.toString(), "auto",
                run.toString(), "cpu", 0, Map.of())).getMessage();
        assertTrue(e.startsWith("partition 0 of " + bad + ":1: ") && e.contains("\"3\"") && !e.contains("\n"), e);
    }

    @Test
    void nerMetricsEqualKilnEvaluateOnParquetOverPartitions() throws IOException {
        String[][] sentences = {
                {"Anna", "lives", "in", "Oslo"}, {"Bob", "met", "Anna", "in", "Paris", "today"}, {"Oslo", "is", "cold"},
                {"Paris", "and", "Oslo", "are", "far", "apart"}, {"Carl", "Smith", "visited", "Rome"}};
        String[][] tags = {
                {"B-PER", "O", "O", "B-LOC"}, {"B-PER", "O", "B-PER", "O", "B-LOC", "O"}, {"B-LOC", "O", "O"},
                {"B-LOC", "O", "B-LOC", "O", "O", "O"}, {"B-PER", "I-PER", "O", "B-LOC"}};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            int k = i % sentences.length;
            lines.add("{\"id\": " + i + ", \"tokens\": [\"" + String.join("\", \"", sentences[k]) + "\"], \"tags\": [\""
                    + String.join("\", \"", tags[k]) + "\"]}");
        }
        Path data = Files.write(tmp.resolve("ner.jsonl"), lines);
        Path run = train("ner", "ner", data, ", \"format\": \"jsonl\"");
        Map<String, Object> want = Kiln.evaluate(run, data, "cpu", Map.of());
        assertEquals(30, want.get("sentences"));
        assertEquals(60, want.get("entities")); // 10 gold entities in every 5 sentences

        String pq = tmp.resolve("ner.parquet").toString();
        spark.read().json(data.toString()).write().parquet(pq);
        Map<String, Object> got = SparkEvaluate.evaluate(spark, pq, "auto", run.toString(), "cpu", 3, Map.of());
        assertEquals(3, got.get("partitions"));
        assertEquals(metrics(want), metrics(got));
    }

    @Test
    void qaMetricsEqualKilnEvaluateOnTheSquadQuestionsAsRows() throws IOException {
        String[] contexts = {"Anna lives in Oslo and works at the old harbour near the station.",
                "The river runs through Paris before it reaches the sea in the north.",
                "Carl Smith visited Rome in the spring and wrote a long book about it."};
        String[][] qas = {{"Where does Anna live?", "Oslo", "in Oslo"}, {"Where does Anna work?", "at the old harbour", "old harbour"},
                {"What runs through Paris?", "The river", "river"}, {"Where does the river reach the sea?", "in the north", "north"},
                {"Who visited Rome?", "Carl Smith", "Smith"}, {"What did Carl write?", "a long book about it", "a long book"}};
        com.google.gson.JsonArray paragraphs = new com.google.gson.JsonArray();
        List<String> rows = new ArrayList<>();
        for (int c = 0; c < contexts.length; c++) {
            com.google.gson.JsonArray questions = new com.google.gson.JsonArray();
            for (int q = 2 * c; q < 2 * c + 2; q++) {
                com.google.gson.JsonArray answers = new com.google.gson.JsonArray();
                com.google.gson.JsonArray texts = new com.google.gson.JsonArray(), starts = new com.google.gson.JsonArray();
                for (int a = 1; a < 3; a++) {
                    JsonObject ans = new JsonObject();
                    ans.addProperty("text", qas[q][a]);
                    ans.addProperty("answer_start", contexts[c].indexOf(qas[q][a]));
                    answers.add(ans);
                    texts.add(qas[q][a]);
                    starts.add(contexts[c].indexOf(qas[q][a]));
                }
                JsonObject qo = new JsonObject();
                qo.addProperty("id", "q" + q);
                qo.addProperty("question", qas[q][0]);
                qo.add("answers", answers);
                questions.add(qo);
                JsonObject row = new JsonObject(), hf = new JsonObject(); // HF's squad dataset layout
                hf.add("text", texts);
                hf.add("answer_start", starts);
                row.addProperty("id", "q" + q);
                row.addProperty("question", qas[q][0]);
                row.addProperty("context", contexts[c]);
                row.add("answers", hf);
                rows.add(row.toString());
            }
            JsonObject p = new JsonObject();
            p.addProperty("context", contexts[c]);
            p.add("qas", questions);
            paragraphs.add(p);
        }
        String squad = "{\"version\": \"1.1\", \"data\": [{\"title\": \"t\", \"paragraphs\": " + paragraphs + "}]}";
        Path data = Files.writeString(tmp.resolve("squad.json"), squad);
        Path run = train("qa", "qa", ", \"doc_stride\": 8, \"max_question_length\": 8", data, ""); // several windows per context
        Map<String, Object> want = Kiln.evaluate(run, data, "cpu", Map.of());
        assertEquals(6L, ((Number) want.get("questions")).longValue());
        // some predicted span overlaps a gold answer (F1 23.3 on this machine), so gold answers read wrongly would show
        assertTrue((double) want.get("f1") > 0, want.toString());

        Path in = Files.write(tmp.resolve("squad-rows.jsonl"), rows);
        Map<String, Object> got = SparkEvaluate.evaluate(spark, in.toString(), "auto", run.toString(), "cpu", 3, Map.of());
        assertEquals(6L, ((Number) got.get("questions")).longValue());
        // sums of per-question scores, added in partition order: equal up to float summation order
        for (String k : List.of("exact_match", "f1")) assertEquals((double) want.get(k), (double) got.get(k), 1e-9, k);
    }

    /**
     * Summarization: summaries made where the rows are, ROUGE once on the driver, equal to kiln evaluate (title lines
     * removed the same way), for the three tasks. For bert2bert and summarize-gpt, whose 2-step models write no words
     * of the references, half the rows get
     * the model's own summary as reference, so ROUGE lies strictly between 0 and 1 and a row scored against another
     * row's reference would show.
     */
    @Test
    void summarizationRougeEqualsKilnEvaluateOverPartitions() throws IOException {
        Path data = dev.kiln.tasks.summarization.BbcSubset.write(tmp.resolve("bbc.jsonl"), 8);
        String title = ", \"title_field\": \"title\"";
        Path ext = train("sum-ext", "summarize-extractive", ", \"top_k\": 2", data, title);
        Path b2b = train("sum-b2b", "summarize-bert2bert", ", \"max_summary_tokens\": 8, \"generation\": {\"num_beams\": 1, "
                + "\"min_new_tokens\": 3, \"max_new_tokens\": 8}", data, title);
        // summarize-gpt goes through the same code as bert2bert (AbstractiveProvider); its tiny GPT-2 needs the BPE files
        Path gpt = TinyModels.gpt2(tmp.resolve("gpt2"), 1, 32, 5);
        Path gptRun = train("sum-gpt", gpt, "summarize-gpt", ", \"max_summary_tokens\": 8, \"generation\": {\"num_beams\": 1, "
                + "\"min_new_tokens\": 3, \"max_new_tokens\": 8}", data, title, 48);
        List<Path[]> cases = new ArrayList<>();
        cases.add(new Path[] {ext, data});
        for (Path run : List.of(b2b, gptRun)) cases.add(new Path[] {run, withOwnSummaries(run, data)});
        for (Path[] c : cases) {
            Map<String, Object> want = Kiln.evaluate(c[0], c[1], "cpu", Map.of());
            assertEquals("all: 8", want.remove("examples"));
            double r1 = (double) want.get("rouge1");
            assertTrue(r1 > 0 && r1 < 1, want.toString());
            Map<String, Object> got = SparkEvaluate.evaluate(spark, c[1].toString(), "auto", c[0].toString(), "cpu", 2, Map.of());
            assertEquals(2, got.get("partitions"));
            Map<String, Object> w = metrics(want), g = metrics(got);
            assertEquals(w.keySet(), g.keySet());
            // means over rows that the partitions hold in another order: equal up to float summation order
            for (String k : w.keySet()) {
                if (w.get(k) instanceof Double d) assertEquals(d, (double) g.get(k), 1e-12, c[0] + " " + k);
                else assertEquals(w.get(k), g.get(k), k);
            }
        }
        String e = assertThrows(IllegalArgumentException.class, () -> SparkEvaluate.evaluate(spark, data.toString(), "auto",
                ext.toString(), "cpu", 2, Map.of("article_field", "text"))).getMessage();
        assertEquals("the summarize-extractive task reads the run's article and summary fields and takes no data options "
                + "(got data.article_field)", e);
    }

    /** {@code data} with the even rows' summaries replaced by what {@code run} predicts for them. */
    static Path withOwnSummaries(Path run, Path data) throws IOException {
        List<String> rows = Files.readAllLines(data);
        List<String> own = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            JsonObject o = com.google.gson.JsonParser.parseString(rows.get(i)).getAsJsonObject();
            if (i % 2 == 0) o.addProperty("summary", Kiln.predict(run, List.of(rows.get(i))).get(0).get("summary").getAsString());
            own.add(o.toString());
        }
        return Files.write(tmp.resolve(run.getFileName() + "-own.jsonl"), own);
    }

    @Test
    void aTaskWithoutSplitEvaluationIsOneLineNamingTheSupportedOnes() throws IOException {
        Path gpt = Files.createDirectories(tmp.resolve("gpt-model"));
        Files.writeString(gpt.resolve("kiln_task.json"), "{\"task\": \"pretrain-gpt\"}");
        Path in = Files.write(tmp.resolve("lm.jsonl"), List.of("{\"text\": \"q\"}"));
        String e = assertThrows(IllegalArgumentException.class, () -> SparkEvaluate.evaluate(spark, in.toString(), "auto",
                gpt.toString(), "cpu", 0, Map.of())).getMessage();
        assertEquals(gpt + " holds a 'pretrain-gpt' model; the Spark evaluate job takes classification, ner, qa, "
                + "summarize-gpt, summarize-extractive, summarize-bert2bert models (use kiln evaluate for pretrain-gpt)", e);
    }

    @Test
    void theEvaluateCommandLineParses() {
        picocli.CommandLine cl = new picocli.CommandLine(new SparkJobs());
        picocli.CommandLine.ParseResult r = cl.parseArgs("evaluate", "runs/x", "--input", "dev.parquet", "--partitions", "8",
                "--set", "data.label_field=stars");
        SparkJobs.Evaluate ev = (SparkJobs.Evaluate) r.subcommand().commandSpec().userObject();
        assertEquals(8, ev.partitions);
        assertEquals(Map.of("label_field", "stars"), SparkJobs.dataOptions(ev.sets));
        assertEquals("dev.parquet", ev.input);
        assertThrows(IllegalArgumentException.class, () -> SparkJobs.dataOptions(List.of("label_field=stars")));
    }
}
