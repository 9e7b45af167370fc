package dev.kiln.tasks.pretraining;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.config.ConfigException;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.train.Runs;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Short pretraining runs through the CLI's path (config → Runs.train → run folder). */
@org.junit.jupiter.api.extension.ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class PretrainEndToEndTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void tasks() throws IOException {
        Tasks.all(); // registers the task configs
    }

    private RunConfig config(String json) {
        return RunConfig.parse(json, "test.json", dir, List.of());
    }

    private static List<JsonObject> evals(Path run) throws IOException {
        List<JsonObject> out = new ArrayList<>();
        for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonObject o = JsonParser.parseString(l).getAsJsonObject();
            if (o.keySet().stream().anyMatch(k -> k.startsWith("eval_"))) out.add(o);
        }
        return out;
    }

    private String q(Path p) {
        return "\"" + p.toString().replace("\\", "\\\\") + "\"";
    }

    @Test
    void tinyCharGptOnShakespeareLowersHeldOutLoss() throws IOException {
        Path text = TestSupport.shared("datasets/tinyshakespeare/input.txt");
        Path run = dir.resolve("gpt");
        RunConfig c = config("{\"model\": {\"config\": {\"n_layer\": 2, \"n_head\": 2, \"n_embd\": 64, \"resid_pdrop\": 0, "
                + "\"embd_pdrop\": 0, \"attn_pdrop\": 0}, \"tokenizer\": \"char\", \"device\": \"cpu\"},"
                + " \"task\": {\"type\": \"pretrain-gpt\", \"eval_batch_size\": 32, \"eval_max_batches\": 4},"
                + " \"data\": {\"train\": " + q(text) + ", \"dev_fraction\": 0.1, \"max_length\": 32, \"cache_dir\": " + q(dir.resolve("cache")) + "},"
                + " \"training\": {\"max_steps\": 40, \"batch_size\": 16, \"eval_every_steps\": 20, \"eval_each_epoch\": false, \"log_every_steps\": 20},"
                + " \"optimizer\": {\"lr\": 3e-3, \"weight_decay\": 0.1, \"betas\": [0.9, 0.99]},"
                + " \"schedule\": {\"type\": \"constant\", \"warmup_steps\": 5},"
                + " \"logging\": {\"tensorboard\": false, \"plot\": false, \"progress\": \"off\"},"
                + " \"checkpointing\": {\"keep_last\": 1, \"keep_best\": false},"
                + " \"output\": {\"dir\": " + q(run) + "}, \"seed\": 5}");
        Runs.Outcome o = Runs.train(c, System.err, true);
        assertEquals(0, o.result().skippedSteps, "no step skipped");
        List<JsonObject> ev = evals(run);
        assertEquals(2, ev.size());
        double l20 = ev.get(0).get("eval_loss").getAsDouble(), l40 = ev.get(1).get("eval_loss").getAsDouble();
        System.out.printf("char GPT held-out loss: step 20 %.3f, step 40 %.3f (uniform %.3f)%n", l20, l40, Math.log(66));
        assertTrue(l20 < Math.log(66) - 0.5, "well below the uniform guess: " + l20);
        assertTrue(l40 < l20 - 0.1, "held-out loss falls: " + l20 + " -> " + l40);
        assertEquals(Math.exp(l40), ev.get(1).get("eval_perplexity").getAsDouble(), 1e-6);

        // predict: a chunk of lines in length-sorted batches answers as the lines one at a time, in input order
        List<dev.kiln.train.PredictLines.Input> ins = List.of(new dev.kiln.train.PredictLines.Input(1, "First Citizen:"),
                new dev.kiln.train.PredictLines.Input(2, "Before we proceed any further, hear me speak."),
                new dev.kiln.train.PredictLines.Input(3, "All:"), new dev.kiln.train.PredictLines.Input(4, "Speak, speak."));
        try (dev.kiln.train.PredictLines.Predictor p = Tasks.get("pretrain-gpt").predictor(run, "cpu")) {
            List<JsonObject> all = p.predictAll(ins);
            for (int i = 0; i < ins.size(); i++) {
                JsonObject alone = p.predict(ins.get(i)), got = all.get(i);
                assertEquals(ins.get(i).text(), got.get("text").getAsString());
                assertEquals(ins.get(i).text().length(), got.get("tokens").getAsInt(), "one token per character");
                double want = alone.get("perplexity").getAsDouble();
                assertEquals(want, got.get("perplexity").getAsDouble(), 1e-4 * want, "line " + (i + 1));
            }
        }

        Path fin = run.resolve("final");
        JsonObject cfg = HfFolder.readConfig(fin);
        assertEquals("GPT2LMHeadModel", cfg.getAsJsonArray("architectures").get(0).getAsString());
        assertTrue(Files.isRegularFile(fin.resolve("tokenizer.json")) && Files.isRegularFile(fin.resolve("vocab.json")));
        try (var m = ai.djl.ndarray.NDManager.newBaseManager(); var tok = dev.kiln.text.Tokenizer.load(fin)) {
            var g = HfFolder.loadGpt2(fin, m);
            assertTrue(g.loadReport.complete(), g.loadReport.toString());
            assertEquals(tok.vocabSize(), g.config.vocabSize);
        }
    }

    @Test
    void tinyBertLearnsMlmAboveChanceAndItsFolderFineTunesAsAClassifier() throws IOException {
        Path mini = TinyModels.miniLmFolder();
        String valid = Files.readString(TestSupport.shared("datasets/wikitext2_raw/wiki.valid.raw"), StandardCharsets.UTF_8);
        String test = Files.readString(TestSupport.shared("datasets/wikitext2_raw/wiki.test.raw"), StandardCharsets.UTF_8);
        Path train = dir.resolve("train.txt");
        Path dev = dir.resolve("dev.txt");
        Files.writeString(train, valid.substring(0, valid.indexOf('\n', 250_000) + 1));
        Files.writeString(dev, test.substring(0, test.indexOf('\n', 40_000) + 1));
        Path run = dir.resolve("bert");
        RunConfig c = config("{\"model\": {\"config\": {\"num_hidden_layers\": 2, \"hidden_size\": 64, \"num_attention_heads\": 4,"
                + " \"intermediate_size\": 128}, \"tokenizer\": " + q(mini) + ", \"device\": \"cpu\"},"
                + " \"task\": {\"type\": \"pretrain-bert\", \"eval_batch_size\": 32, \"eval_max_batches\": 4},"
                + " \"data\": {\"train\": " + q(train) + ", \"dev\": " + q(dev) + ", \"documents\": \"marker\", \"document_marker\": \"^ = [^=]\","
                + " \"max_length\": 64, \"cache_dir\": " + q(dir.resolve("cache")) + "},"
                + " \"training\": {\"max_steps\": 40, \"batch_size\": 16, \"eval_every_steps\": 40, \"eval_each_epoch\": false, \"log_every_steps\": 10},"
                + " \"optimizer\": {\"lr\": 2e-3},"
                + " \"schedule\": {\"type\": \"constant\", \"warmup_steps\": 5},"
                + " \"logging\": {\"tensorboard\": false, \"plot\": false, \"progress\": \"off\"},"
                + " \"checkpointing\": {\"keep_last\": 1, \"keep_best\": false},"
                + " \"output\": {\"dir\": " + q(run) + "}, \"seed\": 3}");
        Runs.Outcome o = Runs.train(c, System.err, true);
        var last = o.result().lastEval;
        System.out.println("tiny BERT after 40 steps: " + last);
        assertTrue(last.get("mlm_accuracy") > 0.03, "MLM accuracy far above chance (1/30522): " + last);
        assertTrue(last.get("mlm_loss") < Math.log(30522) - 2, "MLM loss well below uniform: " + last);
        assertTrue(last.containsKey("nsp_accuracy") && last.containsKey("perplexity"));
        Path fin = run.resolve("final");
        assertEquals("BertForPreTraining", HfFolder.readConfig(fin).getAsJsonArray("architectures").get(0).getAsString());

        // predict: a chunk of lines in length-sorted batches answers as the lines one at a time, in input order
        List<dev.kiln.train.PredictLines.Input> ins = List.of(new dev.kiln.train.PredictLines.Input(1, "the [MASK] of the city"),
                new dev.kiln.train.PredictLines.Input(2, "in 1996 the band released its first album , which [MASK] well in the united states"),
                new dev.kiln.train.PredictLines.Input(3, "[MASK] ."));
        try (dev.kiln.train.PredictLines.Predictor p = Tasks.get("pretrain-bert").predictor(run, "cpu")) {
            List<JsonObject> all = p.predictAll(ins);
            for (int i = 0; i < ins.size(); i++) {
                JsonObject alone = p.predict(ins.get(i)), got = all.get(i);
                assertEquals(ins.get(i).text(), got.get("text").getAsString());
                var a = alone.getAsJsonArray("candidates");
                var b = got.getAsJsonArray("candidates");
                assertEquals(5, b.size());
                for (int k = 0; k < 5; k++) {
                    JsonObject x = a.get(k).getAsJsonObject(), y = b.get(k).getAsJsonObject();
                    assertEquals(x.get("token"), y.get("token"), "line " + (i + 1) + " rank " + (k + 1));
                    assertEquals(x.get("score").getAsDouble(), y.get("score").getAsDouble(), 1e-5);
                }
            }
        }

        // the pretraining output is a model.name for fine-tuning
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < 48; i++) {
            rows.append(i % 2 == 0 ? "{\"text\":\"a fine and good film number " + i + "\",\"label\":\"pos\"}\n"
                    : "{\"text\":\"a bad and dull film number " + i + "\",\"label\":\"neg\"}\n");
        }
        Files.writeString(dir.resolve("cls.jsonl"), rows);
        Path clsRun = dir.resolve("cls");
        RunConfig fc = config("{\"model\": {\"name\": " + q(fin) + ", \"device\": \"cpu\"}, \"task\": {\"type\": \"classification\"},"
                + " \"data\": {\"train\": \"cls.jsonl\", \"dev_fraction\": 0.25, \"max_length\": 32},"
                + " \"training\": {\"max_steps\": 3, \"batch_size\": 8},"
                + " \"logging\": {\"tensorboard\": false, \"plot\": false, \"progress\": \"off\"},"
                + " \"output\": {\"dir\": " + q(clsRun) + "}}");
        Runs.Outcome f = Runs.train(fc, System.err, true);
        assertEquals(3, f.result().steps);
        assertTrue(f.result().lastEval.containsKey("accuracy"));
        assertEquals("classification", TaskFolder.meta(clsRun.resolve("final")).get("task").getAsString());
    }

    @Test
    void aResumedBertRunEndsWithTheUninterruptedRunsWeights() throws IOException {
        Path mini = TinyModels.miniLmFolder();
        String valid = Files.readString(TestSupport.shared("datasets/wikitext2_raw/wiki.valid.raw"), StandardCharsets.UTF_8);
        Path train = dir.resolve("small.txt");
        Files.writeString(train, valid.substring(0, valid.indexOf('\n', 12_000) + 1)); // a few epochs in 8 steps
        java.util.function.Function<Path, RunConfig> cfg = out -> config("{\"model\": {\"config\": {\"num_hidden_layers\": 1,"
                + " \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64}, \"tokenizer\": " + q(mini) + ", \"device\": \"cpu\"},"
                + " \"task\": {\"type\": \"pretrain-bert\", \"whole_word_masking\": true},"
                + " \"data\": {\"train\": " + q(train) + ", \"documents\": \"blank_line\", \"max_length\": 32, \"cache_dir\": " + q(dir.resolve("cache")) + "},"
                + " \"training\": {\"max_steps\": 8, \"batch_size\": 8, \"eval_each_epoch\": false},"
                + " \"optimizer\": {\"lr\": 1e-3}, \"schedule\": {\"type\": \"linear\", \"warmup_steps\": 2},"
                + " \"logging\": {\"tensorboard\": false, \"plot\": false, \"progress\": \"lines\"},"
                + " \"checkpointing\": {\"every_steps\": 4, \"keep_last\": 2, \"keep_best\": false},"
                + " \"output\": {\"dir\": " + q(out) + "}, \"seed\": 11}");
        Path a = dir.resolve("a"), b = dir.resolve("b");
        Runs.Outcome ra = Runs.train(cfg.apply(a), System.err, true);
        assertTrue(ra.result().steps == 8);
        Runs.train(cfg.apply(b), System.err, true);
        // "kill" b after its step-4 checkpoint: what a crash during steps 5..8 leaves behind
        HfFolder.deleteTree(b.resolve("checkpoints/step-8"));
        HfFolder.deleteTree(b.resolve("final"));
        java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
        Runs.train(cfg.apply(b), new java.io.PrintStream(console, true, StandardCharsets.UTF_8), false);
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("resumed at step 4 of 8"), console.toString(StandardCharsets.UTF_8));
        var wa = dev.kiln.io.SafeTensors.readCheckpoint(a.resolve("final"));
        var wb = dev.kiln.io.SafeTensors.readCheckpoint(b.resolve("final"));
        assertEquals(wa.keySet(), wb.keySet());
        for (String k : wa.keySet()) assertEquals(wa.get(k).bytes(), wb.get(k).bytes(), k);
    }

    @Test
    void newModelConfigIsCheckedByTheTask() throws IOException {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "some text\n");
        RunConfig c = config("{\"model\": {\"config\": {\"n_layers\": 2}, \"tokenizer\": \"char\"}, \"task\": {\"type\": \"pretrain-gpt\"},"
                + " \"data\": {\"train\": \"t.txt\", \"cache_dir\": " + q(dir.resolve("cache")) + "}, \"output\": {\"dir\": " + q(dir.resolve("r")) + "}}");
        ConfigException e = assertThrows(ConfigException.class, () -> Runs.train(c, System.err, true));
        assertEquals("test.json: \"model.config.n_layers\" is not a GPT-2 config.json field (did you mean \"n_layer\"?)", e.getMessage());
        RunConfig set = RunConfig.parse("{\"model\": {\"config\": {\"n_layer\": 2}, \"tokenizer\": \"char\"}, \"task\": {\"type\": \"pretrain-gpt\"},"
                + " \"data\": {\"train\": \"t.txt\"}}", "test.json", dir, List.of("model.config.n_embd=48", "model.config.n_layer=3"));
        assertEquals(3, set.model.config.get("n_layer").getAsInt());
        assertEquals(48, set.model.config.get("n_embd").getAsInt());
        assertEquals(set.model.config, RunConfig.parse(set.toJson(), "test.json", dir, List.of()).model.config, "round trip");
        ConfigException both = assertThrows(ConfigException.class, () -> config("{\"model\": {\"config\": {}, \"name\": \"x\"},"
                + " \"task\": {\"type\": \"pretrain-gpt\"}, \"data\": {\"train\": \"t.txt\"}}"));
        assertTrue(both.getMessage().contains("are both set"), both.getMessage());
        ConfigException cls = assertThrows(ConfigException.class, () -> config("{\"model\": {\"config\": {}},"
                + " \"task\": {\"type\": \"classification\"}, \"data\": {\"train\": \"t.txt\"}}"));
        assertTrue(cls.getMessage().contains("\"model.config\" is for tasks that build a new model"), cls.getMessage());
    }

    /** Continued pretraining names its checkpoint through Pretrained.load: the architecture and the name are checked as for every task. */
    @Test
    void aNamedCheckpointIsCheckedAsInEveryTask() throws IOException {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "some text\n");
        String rest = ", \"data\": {\"train\": \"t.txt\", \"cache_dir\": " + q(dir.resolve("cache")) + "}, \"output\": {\"dir\": " + q(dir.resolve("r")) + "}}";
        RunConfig unknown = config("{\"model\": {\"name\": \"all-MiniLM-L6\"}, \"task\": {\"type\": \"pretrain-bert\"}" + rest);
        ConfigException e = assertThrows(ConfigException.class, () -> Runs.train(unknown, System.err, true));
        assertTrue(e.getMessage().startsWith("test.json: \"model.name\" is \"all-MiniLM-L6\": not a folder with config.json, a zoo model or a classic model"
                + " (did you mean \"all-MiniLM-L6-v2\"?)"), e.getMessage());
        String bert = dev.kiln.TinyModels.miniLmFolder().toString().replace("\\", "\\\\");
        RunConfig wrong = config("{\"model\": {\"name\": \"" + bert + "\"}, \"task\": {\"type\": \"pretrain-gpt\"}" + rest);
        ConfigException w = assertThrows(ConfigException.class, () -> Runs.train(wrong, System.err, true));
        assertEquals("test.json: \"model.name\" is a BERT model; pretrain-gpt needs a GPT-2 checkpoint (or model.config for a new model)",
                w.getMessage());
    }
}
