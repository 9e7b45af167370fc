package dev.kiln.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.Gson;
import dev.kiln.Kiln;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;
import dev.kiln.tasks.ner.ConllReader;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Generator;
import dev.kiln.io.SafeTensors;
import dev.kiln.models.Backbone;
import dev.kiln.nn.HostTensor;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.Tasks;
import dev.kiln.train.TrainableTask;
import dev.kiln.train.Trainer;
import dev.kiln.train.TrainerOptions;
import dev.kiln.train.Runs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA on the other tasks (NER, QA, continued MLM and causal-LM pretraining), three steps each on tiny models:
 * only LoRA and head parameters change (the base weights are bit-identical), the saved folder is the adapter and
 * head in HF PEFT's layout, and the folder reloaded (base + adapter, as predictors and {@code kiln evaluate} load
 * it) computes what the trained model in memory computed.
 */
@ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class PeftTasksTest {
    private static final Gson GSON = new Gson();

    @TempDir
    Path dir;

    @BeforeAll
    static void tasks() {
        Tasks.all();
    }

    private static String q(Path p) {
        return GSON.toJson(p.toAbsolutePath().toString());
    }

    private RunConfig config(String json) {
        return RunConfig.parse(json, "peft-task.json", dir, List.of());
    }

    private static final String COMMON = " \"training\": {\"max_steps\": 3, \"batch_size\": 4, \"eval_each_epoch\": false},"
            + " \"optimizer\": {\"lr\": 1e-2}, \"peft\": {\"method\": \"lora\", \"lora\": {\"r\": 4}},"
            + " \"logging\": {\"tensorboard\": false, \"plot\": false, \"progress\": \"off\"}, \"seed\": 42}";

    private static LinkedHashMap<String, byte[]> snapshot(TrainableTask t) {
        LinkedHashMap<String, byte[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : t.parameters().stateDict().entrySet()) {
            var b = e.getValue().bytes().duplicate();
            byte[] a = new byte[b.remaining()];
            b.get(a);
            out.put(e.getKey(), a);
        }
        return out;
    }

    private static float[] hidden(Backbone b, NDManager m) {
        try (NDManager s = m.newSubManager()) {
            long[][] ids = {{101, 2023, 2003, 1037, 2204, 3185, 102}, {101, 1996, 4435, 2003, 102, 0, 0}};
            long[][] mask = {{1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0, 0}};
            NDArray am = s.create(mask);
            return b.hiddenStates(s.create(ids), s.zeros(am.getShape(), DataType.INT64), am, false).toFloatArray();
        }
    }

    /**
     * Trains {@code cfg} in memory, checks what changed, saves, reloads, and compares: hidden states exactly, and
     * {@code kiln evaluate} on {@code evalData} with the in-memory evaluation when {@code sameEval} (the task's dev
     * set is that file). Returns the folder.
     */
    private Path trainSaveReload(RunConfig cfg, Path evalData, boolean sameEval) throws IOException {
        Path folder = dir.resolve("saved-" + cfg.task.type);
        try (NDManager m = NDManager.newBaseManager();
             TrainableTask task = PeftTask.wrap(cfg, Tasks.get(cfg.task.type).create(cfg, m))) {
            PeftModel pm = ((PeftTask) task).peftModel();
            LinkedHashMap<String, byte[]> before = snapshot(task);
            TrainerOptions o = Runs.options(cfg);
            o.outputDir = null;
            o.progress = dev.kiln.log.Progress.Mode.QUIET;
            new Trainer(task, o).train();
            LinkedHashMap<String, byte[]> after = snapshot(task);
            Set<String> body = Set.copyOf(task.backbone().body().parameterKeys());
            int changedLora = 0;
            for (String k : before.keySet()) {
                boolean same = Arrays.equals(before.get(k), after.get(k));
                if (body.contains(k) && !pm.added.contains(k)) assertTrue(same, cfg.task.type + ": base weight " + k + " changed");
                if (pm.added.contains(k) && !same) changedLora++;
            }
            assertTrue(changedLora > 0, cfg.task.type + ": no LoRA parameter trained");
            Map<String, Double> inMemory = task.evaluate(m);
            float[] hMem = hidden(task.backbone(), m);
            task.save(folder);

            // the folder: adapter and head only, under PEFT's keys
            try (var files = Files.list(folder)) {
                Set<String> names = files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
                assertTrue(names.contains(PeftFolder.CONFIG_FILE) && names.contains(PeftFolder.WEIGHTS_FILE), names.toString());
                assertFalse(names.stream().anyMatch(n -> n.startsWith("model") || n.equals(TaskFolder.HEAD_FILE)), "no base weights: " + names);
            }
            Map<String, HostTensor> saved = SafeTensors.read(folder.resolve(PeftFolder.WEIGHTS_FILE));
            for (String k : saved.keySet()) {
                assertTrue(k.startsWith(PeftModel.KEY_PREFIX), k);
                String key = k.substring(PeftModel.KEY_PREFIX.length());
                assertTrue(key.contains(".lora_A.") || key.contains(".lora_B.") || !body.contains(key), cfg.task.type + ": saved " + k);
            }
            boolean hasHead = after.keySet().stream().anyMatch(k -> !body.contains(k)); // GPT-2's LM head is wte itself
            if (hasHead) {
                assertTrue(saved.keySet().stream().anyMatch(k -> !body.contains(k.substring(PeftModel.KEY_PREFIX.length())) && !k.contains("lora_")),
                        cfg.task.type + ": the head is saved: " + saved.keySet());
            }

            // reloaded: base + adapter computes what the trained model computed
            try (NDManager r = NDManager.newBaseManager()) {
                float[] hDisk = hidden(TaskFolder.loadBackbone(folder, r), r);
                assertEquals(0f, TestSupport.maxAbsDiff(hMem, hDisk), cfg.task.type + ": reloaded hidden states");
            }
            Map<String, Object> ev = Kiln.evaluate(folder, evalData);
            System.out.println(cfg.task.type + " + LoRA: in memory " + inMemory + "; kiln evaluate " + ev);
            if (sameEval) {
                int compared = 0;
                for (Map.Entry<String, Double> e : inMemory.entrySet()) {
                    Object v = ev.get(e.getKey());
                    if (!(v instanceof Number n)) continue;
                    assertEquals(e.getValue(), n.doubleValue(), 1e-5 * Math.max(1, Math.abs(e.getValue())), cfg.task.type + " " + e.getKey());
                    compared++;
                }
                assertTrue(compared > 0, "no metric in common: " + inMemory.keySet() + " vs " + ev.keySet());
            }
        }
        return folder;
    }

    @Test
    void ner() throws IOException {
        Path tiny = TinyModels.bert(dir.resolve("tiny"), 2, 64, 1);
        Path train = conll("datasets/conll2003/train.txt", 24, "train.txt");
        Path dev = conll("datasets/conll2003/valid.txt", 16, "dev.txt");
        RunConfig cfg = config("{\"model\": {\"name\": " + q(tiny) + ", \"device\": \"cpu\"}, \"task\": {\"type\": \"ner\"},"
                + " \"data\": {\"train\": " + q(train) + ", \"dev\": " + q(dev) + ", \"format\": \"conll\", \"max_length\": 48}," + COMMON);
        trainSaveReload(cfg, dev, true);
    }

    private Path conll(String shared, int n, String name) throws IOException {
        List<ConllReader.Sentence> s = ConllReader.readConll(TestSupport.shared(shared), new ConllReader.Options()).sentences();
        StringBuilder sb = new StringBuilder();
        for (ConllReader.Sentence x : s.subList(0, n)) {
            for (int i = 0; i < x.length(); i++) sb.append(x.tokens().get(i)).append(' ').append(x.tags().get(i)).append('\n');
            sb.append('\n');
        }
        Path p = dir.resolve(name);
        Files.writeString(p, sb.toString());
        return p;
    }

    @Test
    void qa() throws IOException {
        Path squad = TestSupport.shared("datasets/squad_v1.1/dev-v1.1-part-a.json");
        Path tiny = TinyModels.bert(dir.resolve("tiny"), 2, 64, 1);
        Path first = dir.resolve("one-article.json");
        var root = com.google.gson.JsonParser.parseString(Files.readString(squad)).getAsJsonObject();
        var data = root.getAsJsonArray("data");
        var one = new com.google.gson.JsonArray();
        var article = data.get(0).getAsJsonObject().deepCopy();
        var paragraphs = new com.google.gson.JsonArray();
        paragraphs.add(article.getAsJsonArray("paragraphs").get(0));
        article.add("paragraphs", paragraphs);
        one.add(article);
        root.add("data", one);
        Files.writeString(first, root.toString());
        RunConfig cfg = config("{\"model\": {\"name\": " + q(tiny) + ", \"device\": \"cpu\"},"
                + " \"task\": {\"type\": \"qa\", \"doc_stride\": 32, \"max_question_length\": 32},"
                + " \"data\": {\"train\": " + q(squad) + ", \"dev\": " + q(first) + ", \"max_length\": 96, \"max_train_questions\": 12}," + COMMON);
        trainSaveReload(cfg, first, true);
    }

    private Path text(String shared, int chars, String name) throws IOException {
        String s = Files.readString(TestSupport.shared(shared), StandardCharsets.UTF_8);
        Path p = dir.resolve(name);
        Files.writeString(p, s.substring(0, s.indexOf('\n', chars) + 1));
        return p;
    }

    @Test
    void continuedMlmPretraining() throws IOException {
        Path tiny = TinyModels.bert(dir.resolve("tiny"), 2, 64, 1);
        Path train = text("datasets/wikitext2_raw/wiki.valid.raw", 20_000, "train.txt");
        Path dev = text("datasets/wikitext2_raw/wiki.test.raw", 6_000, "dev.txt");
        RunConfig cfg = config("{\"model\": {\"name\": " + q(tiny) + ", \"device\": \"cpu\"}, \"task\": {\"type\": \"pretrain-bert\"},"
                + " \"data\": {\"train\": " + q(train) + ", \"dev\": " + q(dev) + ", \"max_length\": 32, \"cache_dir\": " + q(dir.resolve("cache")) + "},"
                + COMMON);
        trainSaveReload(cfg, dev, true);
    }

    @Test
    void continuedCausalLmPretraining() throws IOException {
        Path gpt = TinyModels.gpt2(dir.resolve("gpt2"), 2, 64, 3);
        Path train = text("datasets/wikitext2_raw/wiki.valid.raw", 20_000, "train.txt");
        Path dev = text("datasets/wikitext2_raw/wiki.test.raw", 2_000, "dev.txt");
        RunConfig cfg = config("{\"model\": {\"name\": " + q(gpt) + ", \"device\": \"cpu\"}, \"task\": {\"type\": \"pretrain-gpt\"},"
                + " \"data\": {\"train\": " + q(train) + ", \"dev\": " + q(dev) + ", \"max_length\": 32, \"cache_dir\": " + q(dir.resolve("cache")) + "},"
                + COMMON);
        Path folder = trainSaveReload(cfg, dev, true);
        // the generator loads base + adapter too: greedy continuations equal the merged export's
        Path merged = Kiln.export(folder, dir.resolve("merged-gpt"), true);
        try (Generator a = Generator.load(folder.toString(), "cpu");
             Generator b = Generator.load(merged.toString(), "cpu")) {
            GenerationOptions o = a.defaults();
            o.maxNewTokens = 8;
            assertEquals(b.generate("The history of", o), a.generate("The history of", o));
        }
        PeftRunTest.assertHfPeftReadsIt(folder, merged, dir); // Conv1D: fan_in_fan_out
    }
}
