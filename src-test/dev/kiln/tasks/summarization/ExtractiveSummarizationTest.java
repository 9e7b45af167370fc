package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.TinyModels;
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
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * summarize-extractive end to end: all-MiniLM-L6-v2 fine-tuned briefly on a BBC subset, then compared
 * with lead-3 on the same held-out test split by the same scorer (ExtractiveProvider.evaluate reports both).
 * Lead-3 is strong on news and a dozen steps mostly teach the model a lead bias, so the test asks for
 * "close to lead-3", not "better". Measured on these 40 test articles (lead-3 ROUGE-1 F1 0.432): 0.436 with
 * the settings below (12 steps, 128 tokens, bottom 4 layers frozen), 0.423 with 16 steps at 160 tokens,
 * 0.428 with 30 steps at 192. scripts/bench-summarize runs a longer fine-tune on the full BBC split.
 */
class ExtractiveSummarizationTest {
    @TempDir
    Path dir;

    @Test
    void fineTunedMiniLmIsCompetitiveWithLead3() throws IOException {
        Path minilm = TinyModels.miniLmFolder();
        Path data = BbcSubset.write(dir.resolve("bbc.jsonl"), 200);
        Tasks.all();
        String json = """
                {
                  "model": {"name": "%s"},
                  "task": {"type": "summarize-extractive", "top_k": 3, "eval_max_examples": 8},
                  "data": {"train": "%s", "title_field": "title", "dev_fraction": 0.05, "test_fraction": 0.2, "max_length": 128},
                  "training": {"max_steps": 12, "batch_size": 4, "freeze": "bottom:4", "eval_each_epoch": false, "eval_every_steps": 12, "log_every_steps": 4},
                  "optimizer": {"lr": 1e-4},
                  "schedule": {"type": "linear", "warmup_ratio": 0.1},
                  "logging": {"tensorboard": false, "plot": false, "progress": "off"},
                  "output": {"dir": "%s"}
                }""".formatted(minilm, data, dir.resolve("run"));
        RunConfig cfg = RunConfig.parse(json, "extractive-test.json", dir, List.of());
        long t0 = System.nanoTime();
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        double trainS = (System.nanoTime() - t0) / 1e9;
        Map<String, Double> ev = o.result().lastEval;
        assertTrue(ev.containsKey("rougeL") && ev.containsKey("loss"), ev.toString());

        t0 = System.nanoTime();
        Map<String, Object> m = new ExtractiveProvider().evaluate(o.runDir(), "cpu", data);
        System.err.printf("summarize-extractive: train %.1f s, test eval %.1f s: %s%n", trainS, (System.nanoTime() - t0) / 1e9, m);
        assertEquals("test (held out of the training file): 40", m.get("examples"));
        double model = (Double) m.get("rouge1");
        double lead = (Double) m.get("lead3_rouge1");
        assertTrue(lead > 0.2 && lead < 0.8, "lead-3 ROUGE-1 " + lead);
        assertTrue(model >= lead - MARGIN, "model ROUGE-1 " + model + " vs lead-3 " + lead);

        try (ExtractiveSummarizer s = ExtractiveSummarizer.load(o.runDir(), "cpu")) {
            String article = JsonParser.parseString(Files.readAllLines(data).get(0)).getAsJsonObject().get("article").getAsString();
            ExtractiveSummarizer.Extract e = s.extract(article, 2);
            assertEquals(2, e.selected().length);
            assertTrue(e.selected()[0] < e.selected()[1], "document order");
            assertEquals(String.join(" ", e.summarySentences()), s.summarize(article, 2));
            assertTrue(e.scores().length > 2 && e.scores().length <= e.sentences().size());
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        JsonObject in = new JsonObject();
        in.addProperty("article", "Shares rose. Profits fell sharply. The chief executive resigned. Analysts were surprised.");
        in.addProperty("k", 1);
        new ExtractiveProvider().predict(o.runDir(), "cpu", new BufferedReader(new StringReader(in + "\nOne sentence only.\n")),
                new PrintStream(buf, true, StandardCharsets.UTF_8));
        String[] lines = buf.toString(StandardCharsets.UTF_8).trim().split("\n");
        assertEquals(2, lines.length);
        JsonObject p = JsonParser.parseString(lines[0]).getAsJsonObject();
        assertEquals(1, p.getAsJsonArray("sentences").size());
        assertEquals("One sentence only.", JsonParser.parseString(lines[1]).getAsJsonObject().get("summary").getAsString());
    }

    /** ROUGE-1 F1 the short fine-tune may trail lead-3 by (measured: -0.009 to +0.004, see the class comment). */
    static final double MARGIN = 0.03;
}
