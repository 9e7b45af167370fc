package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.TinyModels;
import dev.kiln.cli.KilnCli;
import dev.kiln.config.RunConfig;
import dev.kiln.train.Runs;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.Test;
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
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * summarize-gpt end to end on a random-init tiny GPT-2 (no pretrained GPT-2 weights exist here, so this
 * checks the mechanics, not quality): train a few dozen steps on BBC articles, the loss falls, evaluation
 * generates and scores ROUGE, the saved folder predicts, evaluates and generates through the CLI.
 */
class AbstractiveSummarizationTest {
    @TempDir
    Path dir;

    @Test
    void trainsGeneratesAndScores() throws IOException {
        Path data = BbcSubset.write(dir.resolve("bbc.jsonl"), 44);
        Path gpt = TinyModels.gpt2(dir.resolve("gpt"), 2, 64, 7);
        Tasks.all();
        String json = """
                {
                  "model": {"name": "%s", "dropout": 0.0},
                  "task": {"type": "summarize-gpt", "max_summary_tokens": 32, "eval_max_examples": 3,
                           "generation": {"num_beams": 2, "max_new_tokens": 12}},
                  "data": {"train": "%s", "title_field": "title", "dev_fraction": 0.1, "test_fraction": 0.1, "max_length": 128},
                  "training": {"max_steps": 24, "batch_size": 4, "eval_each_epoch": false, "eval_every_steps": 24, "log_every_steps": 1},
                  "optimizer": {"lr": 2e-3, "weight_decay": 0.0},
                  "schedule": {"type": "constant"},
                  "logging": {"tensorboard": false, "plot": false, "progress": "off"},
                  "output": {"dir": "%s"}
                }""".formatted(gpt, data, dir.resolve("run"));
        RunConfig cfg = RunConfig.parse(json, "summarize-test.json", dir, List.of());
        long t0 = System.nanoTime();
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        System.err.printf("summarize-gpt: 24 steps + eval in %.1f s; summary %s%n", (System.nanoTime() - t0) / 1e9,
                Files.readString(o.runDir().resolve("summary.json")).replaceAll("\\s+", " "));
        assertEquals(24, o.result().steps);

        List<Double> losses = new ArrayList<>();
        for (String l : Files.readAllLines(o.runDir().resolve("metrics.jsonl"))) {
            JsonObject r = JsonParser.parseString(l).getAsJsonObject();
            if (r.has("loss") && !r.has("eval_loss")) losses.add(r.get("loss").getAsDouble());
        }
        assertEquals(24, losses.size());
        double first = losses.subList(0, 6).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double last = losses.subList(18, 24).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        // random init starts near ln(50257) = 10.8 per token; a few dozen steps must bring it down
        assertTrue(first > 9.5, "initial loss " + first);
        assertTrue(last < first - 1.5, "loss " + first + " -> " + last);

        Map<String, Double> ev = o.result().lastEval;
        for (String k : List.of("rouge1", "rouge2", "rougeL", "rougeLsum", "gen_len", "loss")) assertTrue(ev.containsKey(k), k + " in " + ev);
        assertTrue(ev.get("gen_len") > 0 && ev.get("gen_len") <= 12, "gen_len " + ev.get("gen_len"));
        assertTrue(ev.get("rouge1") >= 0 && ev.get("rouge1") <= 1);

        Path model = o.runDir().resolve("final");
        String article = Files.readAllLines(data).get(0);
        article = JsonParser.parseString(article).getAsJsonObject().get("article").getAsString();
        try (Summarizer s = Summarizer.load(o.runDir(), "cpu")) {
            assertEquals(2, s.defaults().numBeams, "saved generation settings: the run's config");
            String summary = s.summarize(article);
            assertFalse(summary.isBlank(), "a summary");
            // the facade's typed lookup opens the same folder through the provider's typed()
            try (Summarizer t = dev.kiln.Kiln.predictor(o.runDir(), Summarizer.class, "cpu")) {
                assertEquals(s.modelDir(), t.modelDir());
                assertEquals(summary, t.summarize(article));
            }
            var greedy = s.defaults();
            greedy.numBeams = 1;
            greedy.maxNewTokens = 5;
            assertFalse(s.summarize(article, greedy).isEmpty());
        }

        // CLI: predict reads plain or JSON lines; evaluate on the run's own file scores its test split
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        JsonObject in = new JsonObject();
        in.addProperty("id", "x1");
        in.addProperty("article", article);
        new GptSummarizationProvider().predict(model, "cpu", new BufferedReader(new StringReader(in + "\n")),
                new PrintStream(buf, true, StandardCharsets.UTF_8));
        JsonObject p = JsonParser.parseString(buf.toString(StandardCharsets.UTF_8).trim()).getAsJsonObject();
        assertEquals("x1", p.get("id").getAsString());
        assertTrue(p.has("summary"));
        Map<String, Object> m = new GptSummarizationProvider().evaluate(o.runDir(), "cpu", data);
        assertEquals("test (held out of the training file): 4", m.get("examples"));
        assertTrue(m.containsKey("rougeLsum"));

        // the folder is a plain GPT-2 folder: kiln generate loads it
        buf.reset();
        int rc = KilnCli.run(new String[] {"generate", model.toString(), "--prompt", "The economy", "--max-new-tokens", "5",
                "--min-new-tokens", "5", "--do-sample", "--seed", "3", "--device", "cpu"}, new PrintStream(buf, true, StandardCharsets.UTF_8));
        assertEquals(0, rc);
        assertFalse(buf.toString(StandardCharsets.UTF_8).isBlank());
    }
}
