package dev.kiln.tasks.summarization;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;
import dev.kiln.tasks.summarization.ArticleSummary;
import dev.kiln.train.Runs;
import dev.kiln.train.Tasks;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * summarize-extractive end to end on real BBC articles with all-MiniLM-L6-v2: the scorer learns (its dev loss
 * falls well below ln 2 and below the loss of the label prior, which is where the old recipe stayed), and
 * {@code predict} reads articles as {@code evaluate} does, so its summaries are the ones evaluate scored.
 * ROUGE against lead-3 is scripts/bench-summarize's job (a longer run on the full split, docs/benchmarks.md).
 */
@ExtendWith(OneThreadWhenBusy.class)
class ExtractiveSummarizationTest {
    @TempDir
    Path dir;

    @Test
    void scorerLearnsAndPredictMatchesEvaluate() throws IOException {
        Path minilm = TinyModels.miniLmFolder();
        Path data = BbcSubset.write(dir.resolve("bbc.jsonl"), 120);
        Tasks.all();
        String json = """
                {
                  "model": {"name": "%s"},
                  "task": {"type": "summarize-extractive", "top_k": 3, "labels": "oracle", "sentence_vector": "mean"},
                  "data": {"train": "%s", "title_field": "title", "dev_fraction": 0.2, "test_fraction": 0.15, "max_length": 128},
                  "training": {"max_steps": 48, "batch_size": 4, "freeze": "bottom:4", "eval_on_start": true, "eval_each_epoch": false, "eval_every_steps": 48, "log_every_steps": 16},
                  "optimizer": {"lr": 5e-4},
                  "schedule": {"type": "linear", "warmup_ratio": 0.1},
                  "logging": {"tensorboard": false, "plot": false, "progress": "off"},
                  "output": {"dir": "%s"}
                }""".formatted(minilm, data, dir.resolve("run"));
        RunConfig cfg = RunConfig.parse(json, "extractive-test.json", dir, List.of());
        long t0 = System.nanoTime();
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        System.err.printf("summarize-extractive: train %.1f s%n", (System.nanoTime() - t0) / 1e9);
        Map<String, Double> end = o.result().lastEval;
        double prior = end.get("prior_loss");
        List<JsonObject> log = new ArrayList<>();
        for (String l : Files.readAllLines(o.runDir().resolve("metrics.jsonl"))) log.add(JsonParser.parseString(l).getAsJsonObject());
        List<Double> train = new ArrayList<>();
        double devStart = Double.NaN;
        for (JsonObject r : log) {
            if (r.has("loss")) train.add(r.get("loss").getAsDouble());
            if (r.has("eval_loss") && r.get("step").getAsLong() == 0) devStart = r.get("eval_loss").getAsDouble();
        }
        System.err.printf("summarize-extractive: training loss by 16 steps %s, label prior %.4f, dev loss %.4f -> %.4f; dev %s%n",
                train, prior, devStart, end.get("loss"), end);
        double last = train.get(train.size() - 1);
        // The old recipe stayed at ln 2 (0.691 at step 1, 0.716 at step 120: match labels, half of them positive, and
        // [CLS] vectors). At 128 tokens an article shows ~6 sentences, 3 of them oracle-positive, so the label prior
        // alone is worth little (0.683). Measured here: 0.679, 0.641, 0.622 by 16 steps; dev 0.688 -> 0.632.
        assertTrue(last < Math.log(2) - 0.05, "training loss " + train + " vs ln 2");
        assertTrue(last < prior - 0.03, "training loss " + train + " vs the label prior's " + prior);
        assertTrue(end.get("loss") < Math.min(prior, devStart) - 0.02, "dev loss " + devStart + " -> " + end.get("loss") + ", prior " + prior);

        // predict on the held-out test lines == what evaluate scored
        Map<String, Object> m = new ExtractiveProvider().evaluate(o.runDir(), "cpu", data);
        System.err.println("summarize-extractive test: " + m);
        String[] part = new String[1];
        List<ArticleSummary> test = SummaryDataSet.of(cfg).evaluationExamples(data, part);
        assertEquals("test (held out of the training file): " + test.size(), m.get("examples"));
        Map<String, String> lineById = new HashMap<>();
        for (String l : Files.readAllLines(data)) lineById.put(JsonParser.parseString(l).getAsJsonObject().get("id").getAsString(), l);
        StringBuilder in = new StringBuilder();
        for (ArticleSummary a : test) in.append(lineById.get(a.id())).append('\n');
        List<JsonObject> out = predict(o.runDir(), in.toString());
        assertEquals(test.size(), out.size());
        List<String> lines = new ArrayList<>();
        List<String> refs = new ArrayList<>();
        for (int i = 0; i < test.size(); i++) {
            JsonObject p = out.get(i);
            assertEquals(test.get(i).id(), p.get("id").getAsString());
            List<String> sents = new ArrayList<>();
            p.getAsJsonArray("sentences").forEach(x -> sents.add(x.getAsString()));
            String title = JsonParser.parseString(lineById.get(test.get(i).id())).getAsJsonObject().get("title").getAsString();
            assertFalse(sents.contains(title.strip()), "the title came back as a sentence: " + title);
            lines.add(String.join("\n", sents));
            refs.add(test.get(i).summary());
        }
        Map<String, Double> again = SummaryScores.metrics(SummaryScores.score(lines, refs, true), "");
        for (String k : List.of("rouge1", "rouge2", "rougeL", "rougeLsum")) assertEquals((Double) m.get(k), again.get(k), 1e-12, k);

        // keep_title: the headline is sentence 0 again
        JsonObject raw = JsonParser.parseString(lineById.get(test.get(0).id())).getAsJsonObject();
        raw.addProperty("keep_title", true);
        raw.addProperty("k", 20);
        JsonObject kept = predict(o.runDir(), raw + "\n").get(0);
        assertEquals(0, kept.getAsJsonArray("sentence_indexes").get(0).getAsInt());
        assertEquals(raw.get("title").getAsString().strip(), kept.getAsJsonArray("sentences").get(0).getAsString());
        raw.addProperty("keep_title", "yes");
        IllegalArgumentException bad = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> predict(o.runDir(), raw + "\n"));
        assertEquals("input line 1: \"keep_title\" is \"yes\"; use true or false", bad.getMessage());

        try (ExtractiveSummarizer s = ExtractiveSummarizer.load(o.runDir(), "cpu")) {
            ExtractiveSummarizer.Extract e = s.extract(test.get(0).article(), 2);
            assertEquals(2, e.selected().length);
            assertTrue(e.selected()[0] < e.selected()[1], "document order");
            assertEquals(String.join(" ", e.summarySentences()), s.summarize(test.get(0).article(), 2));
            assertTrue(e.scores().length > 2 && e.scores().length <= e.sentences().size());
            // the facade's typed lookup opens the same folder through the provider's typed()
            try (ExtractiveSummarizer t = dev.kiln.Kiln.predictor(o.runDir(), ExtractiveSummarizer.class, "cpu")) {
                assertEquals(s.modelDir(), t.modelDir());
                assertEquals(s.summarize(test.get(0).article(), 2), t.summarize(test.get(0).article(), 2));
            }
        }
        JsonObject one = new JsonObject();
        one.addProperty("article", "Shares rose. Profits fell sharply. The chief executive resigned. Analysts were surprised.");
        one.addProperty("k", 1);
        List<JsonObject> two = predict(o.runDir(), one + "\nOne sentence only.\n");
        assertEquals(2, two.size());
        assertEquals(1, two.get(0).getAsJsonArray("sentences").size());
        assertEquals("One sentence only.", two.get(1).get("summary").getAsString());
        assertNotEquals(JsonArray.class, two.get(0).get("summary").getClass());
    }

    private static List<JsonObject> predict(Path run, String input) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        new ExtractiveProvider().predict(run, "cpu", new BufferedReader(new StringReader(input)),
                new PrintStream(buf, true, StandardCharsets.UTF_8));
        List<JsonObject> out = new ArrayList<>();
        for (String l : buf.toString(StandardCharsets.UTF_8).trim().split("\n")) out.add(JsonParser.parseString(l).getAsJsonObject());
        return out;
    }

}
