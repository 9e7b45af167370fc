package dev.kiln.tasks.classification;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.cli.KilnCli;
import dev.kiln.config.RunConfig;
import dev.kiln.data.DataException;
import dev.kiln.io.SafeTensors;
import dev.kiln.train.Runs;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end on real data: config → {@link Runs#train} → run folder → {@link TextClassifier} and the CLI's
 * {@code evaluate}/{@code predict}. Each test is kept to about a minute on 2 CPU cores (small subsets,
 * max_length 64, one or two epochs); full-data quality runs are in scripts/bench-classification.
 */
@org.junit.jupiter.api.extension.ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class ClassificationE2ETest {
    private static final Gson GSON = new Gson();

    @TempDir
    Path dir;

    @BeforeAll
    static void registerTasks() throws IOException {
        Tasks.all();
    }

    /** A JSON string literal for a path. */
    private static String q(Path p) {
        return GSON.toJson(p.toAbsolutePath().toString());
    }

    private RunConfig config(String json) {
        return RunConfig.parse(json, "e2e.json", dir, List.of());
    }

    private static Map<String, Object> cli(String... args) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            assertEquals(0, KilnCli.run(args, out));
        }
        String s = buf.toString(StandardCharsets.UTF_8).trim();
        @SuppressWarnings("unchecked")
        Map<String, Object> m = GSON.fromJson(s, Map.class);
        return m;
    }

    // ---- SST-2 with all-MiniLM-L6-v2 ----

    @Test
    void sst2MiniLmSubsetLearnsAndTheRunFolderPredictsAndEvaluates() throws IOException {
        Path sst2 = TestSupport.shared("datasets/sst2");
        TinyModels.miniLmFolder();
        Path devFile = sst2.resolve("stsa.binary.dev");
        // The first 2,000 training sentences (959 negative, 1,041 positive), the full 872-sentence dev set.
        List<String> lines = Files.readAllLines(sst2.resolve("stsa.binary.train"), StandardCharsets.UTF_8);
        Path train = Files.write(dir.resolve("sst2-2k.train"), lines.subList(0, 2000), StandardCharsets.UTF_8);
        Path runDir = dir.resolve("run-sst2");
        RunConfig cfg = config("""
                {"model": {"name": "all-MiniLM-L6-v2"},
                 "task": {"type": "classification", "pooling": "mean"},
                 "data": {"train": %s, "dev": %s, "format": "label-first", "max_length": 64},
                 "training": {"epochs": 1, "batch_size": 32, "log_every_steps": 10},
                 "optimizer": {"lr": 1e-4},
                 "schedule": {"warmup_ratio": 0.1},
                 "logging": {"tensorboard": false, "plot": false},
                 "output": {"dir": %s}}
                """.formatted(q(train), q(devFile), q(runDir)));

        Runs.Outcome o = Runs.train(cfg, System.err, true);
        double acc = o.result().bestEval.get("accuracy");
        System.out.println("SST-2 2k/1 epoch MiniLM dev accuracy " + acc + " in " + o.result().trainSeconds + " s");
        // Measured (CPU, this recipe): 0.8268 with seed 42; 0.8257 / 0.8360 / 0.8372 with seeds 1 / 2 / 3.
        // The threshold leaves over 3 points for numerics and thread-count differences; chance is 0.51.
        assertTrue(acc > 0.79, "dev accuracy " + acc);
        for (String f : List.of("config.json", "manifest.json", "metrics.jsonl", "summary.json", "final/kiln_task.json",
                "best/model.safetensors")) {
            assertTrue(Files.isRegularFile(runDir.resolve(f)), f + " missing in the run folder");
        }

        try (TextClassifier c = TextClassifier.load(runDir)) {
            assertEquals(List.of("0", "1"), c.labels());
            assertEquals(runDir.resolve("best"), c.modelDir());
            for (String pos : List.of("a gorgeous , witty and deeply moving film .",
                    "one of the best films of the year , a delight from start to finish .")) {
                TextClassifier.Prediction p = c.predict(pos);
                assertEquals("1", p.label(), pos + " → " + p);
                assertEquals(1.0, p.probabilities().values().stream().mapToDouble(Float::doubleValue).sum(), 1e-4);
            }
            for (String neg : List.of("a dull , tedious and painfully unfunny mess .",
                    "the worst movie i have seen in years ; a complete waste of time .")) {
                TextClassifier.Prediction p = c.predict(neg);
                assertEquals("0", p.label(), neg + " → " + p);
            }
        }

        // The CLI's evaluate reads the dev file with the run's saved data settings (label-first) and scores
        // best/, which is the model the trainer's evaluation measured.
        Map<String, Object> ev = cli("evaluate", runDir.toString(), "--data", devFile.toString());
        assertEquals(acc, ((Number) ev.get("accuracy")).doubleValue(), 1e-9, "kiln evaluate: " + ev);
    }

    // ---- GPT-2 backbone ----

    @Test
    void gpt2BackboneWithLastTokenPoolingTrainsAndSavesAnHfClassifier() throws IOException {
        Path sst2 = TestSupport.shared("datasets/sst2");
        Path gpt2 = TinyModels.gpt2(dir.resolve("gpt2-tiny"), 2, 64, 11);
        List<String> lines = Files.readAllLines(sst2.resolve("stsa.binary.train"), StandardCharsets.UTF_8);
        Path train = Files.write(dir.resolve("sst2-256.train"), lines.subList(0, 256), StandardCharsets.UTF_8);
        Path runDir = dir.resolve("run-gpt2");
        RunConfig cfg = config("""
                {"model": {"name": %s},
                 "task": {"type": "classification", "pooling": "last"},
                 "data": {"train": %s, "format": "label-first", "max_length": 64},
                 "training": {"epochs": 4, "batch_size": 16, "log_every_steps": 8},
                 "optimizer": {"lr": 1e-3},
                 "schedule": {"warmup_ratio": 0.1},
                 "logging": {"tensorboard": false, "plot": false},
                 "output": {"dir": %s}}
                """.formatted(q(gpt2), q(train), q(runDir)));
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        assertEquals(64, o.result().steps);

        List<Double> losses = new ArrayList<>();
        for (String l : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            JsonObject r = JsonParser.parseString(l).getAsJsonObject();
            if (r.has("loss") && r.get("epoch").getAsInt() >= 0) losses.add(r.get("loss").getAsDouble());
        }
        System.out.println("GPT-2 tiny classification window losses " + losses);
        assertEquals(8, losses.size(), "one loss row per 8 steps");
        double first = (losses.get(0) + losses.get(1)) / 2;
        double last = (losses.get(6) + losses.get(7)) / 2;
        // Measured (CPU): window losses 0.684 0.706 0.662 0.635 0.379 0.258 0.165 0.201, so first two 0.695,
        // last two 0.183. Memorising 256 sentences must bring the loss clearly below the first windows'.
        assertTrue(last < first - 0.1, "loss did not decrease: " + losses);

        Path fin = runDir.resolve("final");
        JsonObject hf = JsonParser.parseString(Files.readString(fin.resolve("config.json"))).getAsJsonObject();
        assertEquals("GPT2ForSequenceClassification", hf.getAsJsonArray("architectures").get(0).getAsString());
        assertEquals("0", hf.getAsJsonObject("id2label").get("0").getAsString());
        assertEquals("1", hf.getAsJsonObject("id2label").get("1").getAsString());
        assertEquals(1, hf.getAsJsonObject("label2id").get("1").getAsInt());
        assertTrue(hf.has("pad_token_id"), "GPT-2 classifiers need pad_token_id to find the last token");
        var tensors = SafeTensors.readCheckpoint(fin);
        assertTrue(tensors.containsKey("score.weight"), "score.weight missing: " + tensors.keySet());
        assertFalse(tensors.containsKey("score.bias"), "HF's GPT-2 score head has no bias");

        // MFU counts matmul parameters only: the looked-up wte (50257 × 64) and wpe (128 × 64) tables are left out.
        JsonObject summary = JsonParser.parseString(Files.readString(runDir.resolve("summary.json"))).getAsJsonObject();
        assertEquals(summary.get("parameters").getAsLong() - 50257L * 64 - 128L * 64, summary.get("flop_parameters").getAsLong());

        try (TextClassifier c = TextClassifier.load(runDir)) {
            TextClassifier.Prediction p = c.predict("a stirring , funny and finally transporting film .");
            assertTrue(c.labels().contains(p.label()));
        }
    }

    // ---- sentence pairs ----

    @Test
    void sentencePairTaskFromJsonlLearnsAboveChanceAndPredictsPairs() throws IOException {
        Path sst2 = TestSupport.shared("datasets/sst2");
        TinyModels.miniLmFolder();
        // Real sentences, a synthetic pair task: is text_pair the same sentence as text, or another one?
        List<String> sentences = new ArrayList<>();
        for (String l : Files.readAllLines(sst2.resolve("stsa.binary.train"), StandardCharsets.UTF_8).subList(3000, 6920)) {
            String s = l.substring(2).strip();
            int words = s.split(" ").length;
            if (words >= 6 && words <= 20) sentences.add(s);
        }
        Random rnd = new Random(5);
        List<String> pairs = new ArrayList<>();
        for (int i = 0; i < 800; i++) {
            String a = sentences.get(i);
            boolean same = i % 2 == 0;
            String b = same ? a : sentences.get(800 + rnd.nextInt(sentences.size() - 800));
            JsonObject o = new JsonObject();
            o.addProperty("text", a);
            o.addProperty("text_pair", b);
            o.addProperty("label", same ? "same" : "different");
            pairs.add(o.toString());
        }
        Path train = Files.write(dir.resolve("pairs-train.jsonl"), pairs.subList(0, 600), StandardCharsets.UTF_8);
        Path dev = Files.write(dir.resolve("pairs-dev.jsonl"), pairs.subList(600, 800), StandardCharsets.UTF_8);
        Path runDir = dir.resolve("run-pairs");
        RunConfig cfg = config("""
                {"model": {"name": "all-MiniLM-L6-v2"},
                 "task": {"type": "classification", "pooling": "mean"},
                 "data": {"train": %s, "dev": %s, "text_pair_field": "text_pair", "max_length": 64},
                 "training": {"epochs": 1, "batch_size": 16, "log_every_steps": 10},
                 "optimizer": {"lr": 1e-4},
                 "schedule": {"warmup_ratio": 0.1},
                 "logging": {"tensorboard": false, "plot": false},
                 "output": {"dir": %s}}
                """.formatted(q(train), q(dev), q(runDir)));
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        double acc = o.result().bestEval.get("accuracy");
        System.out.println("same-sentence pair task dev accuracy " + acc + " in " + o.result().trainSeconds + " s");
        // Measured (CPU): 1.0 after this one epoch (38 steps), also 1.0 with two. Chance is 0.5.
        assertTrue(acc > 0.8, "pair dev accuracy " + acc);

        String s1 = "the performances are uniformly excellent and the script is sharp .";
        String s2 = "a sloppy , overlong thriller with nothing new to say .";
        try (TextClassifier c = TextClassifier.load(runDir)) {
            assertEquals(List.of("different", "same"), c.labels());
            assertEquals("same", c.predict(s1, s1).label());
            assertEquals("different", c.predict(s1, s2).label());
        }

        // The CLI's predict takes JSON lines with text_pair, and evaluate scores pair files the same way.
        Path in = Files.write(dir.resolve("in.jsonl"), List.of(
                GSON.toJson(Map.of("text", s2, "text_pair", s2)), GSON.toJson(Map.of("text", s2, "text_pair", s1))));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            assertEquals(0, KilnCli.run(new String[] {"predict", runDir.toString(), "--input", in.toString()}, out));
        }
        String[] outLines = buf.toString(StandardCharsets.UTF_8).trim().split("\n");
        assertEquals(2, outLines.length);
        JsonObject r0 = JsonParser.parseString(outLines[0]).getAsJsonObject();
        assertEquals(s2, r0.get("text_pair").getAsString());
        assertEquals("same", r0.get("label").getAsString());
        assertEquals("different", JsonParser.parseString(outLines[1]).getAsJsonObject().get("label").getAsString());
        Map<String, Object> ev = cli("evaluate", runDir.toString(), "--data", dev.toString());
        assertEquals(acc, ((Number) ev.get("accuracy")).doubleValue(), 1e-9, "kiln evaluate: " + ev);
    }

    // ---- bad data ----

    /** Trains on files with one bad line; returns the error, after checking nothing was written. */
    private String badData(String name, List<String> trainLines, List<String> devLines) throws IOException {
        Path model = dir.resolve("bert-tiny");
        if (!Files.isDirectory(model)) TinyModels.bert(model, 2, 64, 3);
        Path data = Files.createDirectories(dir.resolve(name));
        Path train = Files.write(data.resolve("train.jsonl"), trainLines, StandardCharsets.UTF_8);
        Path dev = Files.write(data.resolve("dev.jsonl"), devLines, StandardCharsets.UTF_8);
        Path runDir = dir.resolve("run-" + name);
        RunConfig cfg = config("""
                {"model": {"name": %s}, "task": {"type": "classification"},
                 "data": {"train": %s, "dev": %s, "max_length": 32},
                 "training": {"epochs": 1, "batch_size": 4},
                 "output": {"dir": %s}}
                """.formatted(q(model), q(train), q(dev), q(runDir)));
        DataException e = assertThrows(DataException.class, () -> Runs.train(cfg, System.err, true));
        String m = e.getMessage();
        assertFalse(m.contains("\n"), "not one line: " + m);
        assertFalse(Files.exists(runDir), "the run folder was created for bad data: " + m);
        return m;
    }

    private static final List<String> GOOD = List.of(
            "{\"text\": \"a warm and generous film .\", \"label\": \"pos\"}",
            "{\"text\": \"flat , lifeless and dull .\", \"label\": \"neg\"}",
            "{\"text\": \"funny and touching .\", \"label\": \"pos\"}",
            "{\"text\": \"a tiresome mess .\", \"label\": \"neg\"}");

    private static List<String> with(int line, String bad) {
        List<String> l = new ArrayList<>(GOOD);
        l.set(line - 1, bad);
        return l;
    }

    @Test
    void badDataFailsWithOneLineNamingFileAndLineBeforeAnythingIsWritten() throws IOException {
        TinyModels.miniLmFolder();
        Path base = dir.toAbsolutePath();

        String m = badData("nolabel", with(3, "{\"text\": \"funny and touching .\", \"sentiment\": \"pos\"}"), GOOD);
        assertTrue(m.startsWith(base.resolve("nolabel/train.jsonl") + ":3: no field \"label\""), m);
        assertTrue(m.contains("data.label_field"), m);

        m = badData("emptytext", with(2, "{\"text\": \"  \", \"label\": \"neg\"}"), GOOD);
        assertTrue(m.startsWith(base.resolve("emptytext/train.jsonl") + ":2: empty text in field \"text\""), m);

        m = badData("badjson", with(4, "{\"text\": \"a tiresome mess .\", \"label\": neg}"), GOOD);
        assertTrue(m.startsWith(base.resolve("badjson/train.jsonl") + ":4: malformed JSON"), m);

        m = badData("devlabel", GOOD, with(2, "{\"text\": \"it is a film .\", \"label\": \"neutral\"}"));
        assertTrue(m.startsWith(base.resolve("devlabel/dev.jsonl") + ":2: label \"neutral\" is not among the training labels (neg, pos)"), m);
    }

    /** The CLI prints the same one line (prefixed "kiln: ") and exits 2; here: the exception it reports. */
    @Test
    void cliTrainRejectsBadDataWithTheSameMessage() throws IOException {
        Path data = Files.createDirectories(dir.resolve("cli"));
        Path train = Files.write(data.resolve("train.jsonl"), with(1, "{\"label\": \"pos\"}"), StandardCharsets.UTF_8);
        Path cfgFile = Files.writeString(data.resolve("bad.json"), """
                {"model": {"name": "all-MiniLM-L6-v2"}, "task": {"type": "classification"},
                 "data": {"train": "train.jsonl"}, "output": {"dir": %s}}
                """.formatted(q(dir.resolve("run-cli"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KilnCli.run(new String[] {"train", cfgFile.toString(), "--quiet"}, System.out));
        assertTrue(e.getMessage().startsWith(train.toAbsolutePath() + ":1: no field \"text\""), e.getMessage());
        assertFalse(Files.exists(dir.resolve("run-cli")));
    }
}
