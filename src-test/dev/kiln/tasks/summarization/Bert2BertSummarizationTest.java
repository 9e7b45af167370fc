package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.Kiln;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;


import dev.kiln.models.encdec.EncoderDecoderLm;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.io.SafeTensors;
import dev.kiln.models.encdec.EncoderDecoderModel;
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
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * summarize-bert2bert end to end on a tiny warm-started encoder-decoder: it learns three BBC article/summary pairs
 * until greedy decoding reproduces each (cut) summary exactly, the run's folder is HF's EncoderDecoderModel, and
 * predict (article with its title line) equals what evaluate decodes (title removed).
 */
@ExtendWith(OneThreadWhenBusy.class)
class Bert2BertSummarizationTest {
    @TempDir
    Path dir;

    @Test
    void shippedConfigLoadsAndSplitsAsTheOtherSummarizationConfigs() throws IOException {
        BbcSubset.file();
        Tasks.all();
        RunConfig c = RunConfig.load(java.nio.file.Paths.get("configs/summarize-bert2bert-minilm.json"));
        Bert2BertOptions o = c.taskOptions(Bert2BertOptions.class);
        assertEquals(4, o.generation.numBeams);
        assertTrue(o.generation.inputVocabularyOnly, "the benchmark's dev-chosen decoding ships with the config");
        assertTrue(o.generation.toOptions(2).inputVocabularyOnly);
        // saved with the model (kiln_task.json) and read back by the predictor; folders saved before the key read false
        com.google.gson.JsonObject saved = o.generation.toJson();
        assertTrue(AbstractiveOptions.Generation.fromJson(saved).inputVocabularyOnly);
        saved.remove("input_vocabulary_only");
        assertEquals(false, AbstractiveOptions.Generation.fromJson(saved).inputVocabularyOnly);
        assertEquals(false, o.shareEncoderDecoder);
        assertEquals("rougeL", c.checkpointing.metric);
        // the same file, seed and fractions as the extractive config: the benchmarks score the same test articles
        RunConfig ext = RunConfig.load(java.nio.file.Paths.get("configs/summarize-bert-extractive-minilm.json"));
        assertEquals(ext.data.train, c.data.train);
        assertEquals(ext.seed, c.seed);
        assertEquals(ext.data.devFraction, c.data.devFraction);
        assertEquals(ext.dataOptions(SummaryData.class).testFraction, c.dataOptions(SummaryData.class).testFraction);
        assertEquals("title", c.dataOptions(SummaryData.class).titleField);
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.kiln.config.ConfigException.class, () -> RunConfig.load(
                java.nio.file.Paths.get("configs/summarize-bert2bert-minilm.json"), List.of("task.prompt_template=x")));
        assertTrue(e.getMessage().contains("\"task.prompt_template\""), e.getMessage());
    }

    @Test
    void aTinyWarmStartedModelLearnsThreePairsExactly() throws IOException {
        Path data = BbcSubset.write(dir.resolve("bbc.jsonl"), 3);
        Path bert = TinyModels.bert(dir.resolve("bert"), 2, 64, 5);
        Tasks.all();
        String json = """
                {
                  "model": {"name": "%s", "dropout": 0.0},
                  "task": {"type": "summarize-bert2bert", "max_summary_tokens": 10,
                           "generation": {"num_beams": 1, "max_new_tokens": 16}},
                  "data": {"train": "%s", "title_field": "title", "max_length": 48},
                  "training": {"max_steps": 60, "batch_size": 3, "eval_each_epoch": false, "log_every_steps": 10},
                  "optimizer": {"lr": 5e-3, "weight_decay": 0.0},
                  "schedule": {"type": "constant"},
                  "logging": {"tensorboard": false, "plot": false, "progress": "off"},
                  "output": {"dir": "%s"}
                }""".formatted(bert, data, dir.resolve("run"));
        RunConfig cfg = RunConfig.parse(json, "bert2bert-test.json", dir, List.of());
        long t0 = System.nanoTime();
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        System.err.printf("summarize-bert2bert: 60 steps in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        Path model = o.runDir().resolve("final");

        // the folder is HF's EncoderDecoderModel with the tokenizer beside it
        JsonObject config = JsonParser.parseString(Files.readString(model.resolve("config.json"))).getAsJsonObject();
        assertEquals("encoder-decoder", config.get("model_type").getAsString());
        assertTrue(SafeTensors.readCheckpoint(model).containsKey("decoder.bert.encoder.layer.1.crossattention.self.value.weight"));
        assertTrue(Files.isRegularFile(model.resolve("tokenizer.json")));

        List<ArticleSummary> pairs = SummaryRecords.read(data, StandardCharsets.UTF_8,
                new SummaryRecords.Fields("article", "summary", "title", "id"));
        try (Bert2BertSummarizer s = Kiln.predictor(o.runDir(), Bert2BertSummarizer.class, "cpu")) { // through the provider's typed()
            EncoderDecoderModel m = s.model();
            GenerationOptions greedy = s.defaults();
            for (ArticleSummary p : pairs) {
                long[] want = s.tokenizer().encode(p.summary(), false).ids();
                want = Arrays.copyOf(want, 10);
                long[] got = EncoderDecoderLm.generate(m, Bert2BertTask.source(m, s.tokenizer(), p.article(), 48), greedy, true);
                assertArrayEquals(want, got, "summary of " + p.id() + ": " + s.tokenizer().decode(got, true));
            }

            // predict reads the article as users have it (title line included) and removes the title as training did
            String raw = JsonParser.parseString(Files.readAllLines(data).get(0)).getAsJsonObject().get("article").getAsString();
            String title = JsonParser.parseString(Files.readAllLines(data).get(0)).getAsJsonObject().get("title").getAsString();
            JsonObject in = new JsonObject();
            in.addProperty("id", "x1");
            in.addProperty("title", title);
            in.addProperty("article", raw);
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            new Bert2BertProvider().predict(o.runDir(), "cpu", new BufferedReader(new StringReader(in + "\n")),
                    new PrintStream(buf, true, StandardCharsets.UTF_8));
            JsonObject p = JsonParser.parseString(buf.toString(StandardCharsets.UTF_8).trim()).getAsJsonObject();
            assertEquals("x1", p.get("id").getAsString());
            assertEquals(s.summarize(pairs.get(0).article()), p.get("summary").getAsString());
            assertEquals(s.tokenizer().decode(Arrays.copyOf(s.tokenizer().encode(pairs.get(0).summary(), false).ids(), 10), true),
                    p.get("summary").getAsString());
        }

        // evaluate: the three cut summaries against the full references (each a prefix: precision 1)
        Map<String, Object> ev = Kiln.evaluate(o.runDir(), data);
        assertEquals("all: 3", ev.get("examples"));
        assertEquals(10.0, (Double) ev.get("gen_len"), 1e-9);
        assertTrue((Double) ev.get("rouge1") > 0.05, ev.toString());

        // the benchmark's scorer on this run: greedy on all, beam on the first 2, lead-3, the loss curve
        Path res = dir.resolve("results.json");
        Bert2BertBench.main(new String[] {o.runDir().toString(), data.toString(), "2", res.toString()});
        JsonObject r = JsonParser.parseString(Files.readString(res)).getAsJsonObject();
        assertEquals(3, r.getAsJsonObject("all_test").getAsJsonObject("greedy").get("examples").getAsInt());
        assertEquals(2, r.getAsJsonObject("first_test").getAsJsonObject("beam").get("examples").getAsInt());
        assertEquals(((Double) ev.get("rouge1")) * 100, r.getAsJsonObject("all_test").getAsJsonObject("greedy").get("rouge1").getAsDouble(), 1e-6,
                "greedy = the saved settings here (1 beam)");
        assertEquals(2, r.getAsJsonArray("samples").size());
        assertEquals(6, r.getAsJsonArray("loss_curve").size()); // logged every 10 of 60 steps
    }

    /**
     * bert2bert-share through the task: a config with {@code task.share_encoder_decoder: true} trains (the loss falls),
     * saves HF's tied layout (the decoder's BERT weights stored once, under the encoder's names; config
     * {@code tie_encoder_decoder}), loads strictly through the predictor with every key used, predicts what evaluate
     * scores, and continues training from its own folder.
     */
    @Test
    void sharedEncoderDecoderTrainsSavesAndLoadsEndToEnd() throws IOException {
        Path data = BbcSubset.write(dir.resolve("bbc.jsonl"), 3);
        Path bert = TinyModels.bert(dir.resolve("bert"), 2, 32, 5);
        Tasks.all();
        String json = """
                {
                  "model": {"name": "%s", "dropout": 0.0},
                  "task": {"type": "summarize-bert2bert", "share_encoder_decoder": true, "max_summary_tokens": 10,
                           "generation": {"num_beams": 1, "max_new_tokens": 10}},
                  "data": {"train": "%s", "title_field": "title", "max_length": 48},
                  "training": {"max_steps": 8, "batch_size": 3, "eval_each_epoch": false, "log_every_steps": 1},
                  "optimizer": {"lr": 5e-3, "weight_decay": 0.0},
                  "schedule": {"type": "constant"},
                  "logging": {"tensorboard": false, "plot": false, "progress": "off"},
                  "output": {"dir": "%s"}
                }""";
        Runs.Outcome o = Runs.train(RunConfig.parse(json.formatted(bert, data, dir.resolve("run")), "share.json", dir, List.of()),
                System.err, true);
        List<Double> loss = new java.util.ArrayList<>();
        for (String l : Files.readAllLines(o.runDir().resolve("metrics.jsonl"))) {
            JsonObject r = JsonParser.parseString(l).getAsJsonObject();
            if (r.has("loss")) loss.add(r.get("loss").getAsDouble());
        }
        assertEquals(8, loss.size());
        assertTrue(loss.get(7) < loss.get(0) - 1, "training loss " + loss);

        Path model = o.runDir().resolve("final");
        JsonObject config = JsonParser.parseString(Files.readString(model.resolve("config.json"))).getAsJsonObject();
        assertTrue(config.get("tie_encoder_decoder").getAsBoolean(), config.toString());
        var keys = SafeTensors.readCheckpoint(model).keySet();
        assertTrue(keys.contains("decoder.bert.encoder.layer.1.crossattention.self.query.weight"), keys.toString());
        assertTrue(keys.contains("encoder.encoder.layer.1.attention.self.query.weight"), keys.toString());
        assertTrue(keys.stream().noneMatch(k -> k.startsWith("decoder.bert.") && !k.contains(".crossattention.")), keys.toString());

        List<ArticleSummary> pairs = SummaryRecords.read(data, StandardCharsets.UTF_8,
                new SummaryRecords.Fields("article", "summary", "title", "id"));
        List<String> lines = new java.util.ArrayList<>();
        try (Bert2BertSummarizer s = Bert2BertSummarizer.load(o.runDir(), "cpu")) {
            assertTrue(s.model().config.tieEncoderDecoder);
            assertTrue(s.model().loadReport.complete(), s.model().loadReport.toString());
            // the decoder runs on the encoder's (trained) weights: one tensor, not a copy
            assertTrue(s.model().decoderLayers.get(0).base == s.model().encoderLayers.get(0));
            for (ArticleSummary p : pairs) lines.add(SummaryScores.lines(s.summarize(p.article())));
        }
        Map<String, Object> ev = Kiln.evaluate(o.runDir(), data);
        List<String> refs = AbstractiveTask.references(pairs);
        assertEquals(SummaryScores.metrics(SummaryScores.score(lines, refs, true), "").get("rouge1"), (Double) ev.get("rouge1"), 1e-12);

        // continued from its own folder, still shared
        Runs.Outcome more = Runs.train(RunConfig.parse(json.formatted(model, data, dir.resolve("run2")).replace("\"max_steps\": 8",
                "\"max_steps\": 1"), "share2.json", dir, List.of()), System.err, true);
        assertTrue(JsonParser.parseString(Files.readString(more.runDir().resolve("final/config.json"))).getAsJsonObject()
                .get("tie_encoder_decoder").getAsBoolean());
    }
}

