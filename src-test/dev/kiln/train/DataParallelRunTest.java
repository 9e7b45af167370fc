package dev.kiln.train;

import com.google.gson.Gson;
import com.google.gson.JsonParser;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.config.ConfigException;
import dev.kiln.config.RunConfig;
import dev.kiln.io.SafeTensors;
import dev.kiln.nn.HostTensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code model.devices} end to end through real tasks (classification on a tiny BERT, causal-LM pretraining on a tiny
 * GPT-2, LoRA): N replicas on the CPU device write the final weights that one replica on the whole batch writes, within
 * fp32 rounding. The replicas run the production path; on GPUs only the devices differ.
 */
@ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class DataParallelRunTest {
    private static final Gson GSON = new Gson();
    /** Measured max differences are printed; SGD, as in DataParallelTest, so rounding noise is not amplified by Adam. */
    private static final float TOL = 1e-6f;

    @TempDir
    Path dir;

    @BeforeAll
    static void tasks() {
        Tasks.all();
    }

    private static String q(Path p) {
        return GSON.toJson(p.toAbsolutePath().toString());
    }

    private Path sst2(int n) throws IOException {
        List<String> lines = Files.readAllLines(TestSupport.shared("datasets/sst2/stsa.binary.train"), StandardCharsets.UTF_8);
        Path p = dir.resolve("train.txt");
        Files.write(p, lines.subList(0, n), StandardCharsets.UTF_8);
        return p;
    }

    private RunConfig classification(Path model, Path train, String devices, String peft, String training, String out) {
        return RunConfig.parse("{\"model\": {\"name\": " + q(model) + ", \"devices\": " + devices + ", \"dropout\": 0},"
                + " \"task\": {\"type\": \"classification\"},"
                + " \"data\": {\"train\": " + q(train) + ", \"format\": \"label-first\", \"max_length\": 32},"
                + " \"training\": {\"max_steps\": 4, \"eval_each_epoch\": false, " + training + "},"
                + (peft == null ? "" : " \"peft\": " + peft + ",")
                + " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.5},"
                + " \"schedule\": {\"type\": \"constant\"},"
                + " \"logging\": {\"tensorboard\": false, \"plot\": false, \"progress\": \"off\"},"
                + " \"checkpointing\": {\"keep_last\": 1, \"keep_best\": false},"
                + " \"output\": {\"dir\": " + q(dir.resolve(out)) + "}, \"seed\": 5}", "dp.json", dir, List.of());
    }

    /** Every tensor of every safetensors file of the run's final/ folder, by file and key. */
    private static Map<String, float[]> finalWeights(Path run) throws IOException {
        Map<String, float[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(run.resolve("final"))) {
            for (Path f : (Iterable<Path>) s::iterator) {
                if (!f.toString().endsWith(".safetensors")) continue;
                for (Map.Entry<String, HostTensor> e : SafeTensors.read(f).entrySet()) {
                    out.put(f.getFileName() + ":" + e.getKey(), e.getValue().toFloats());
                }
            }
        }
        assertFalse(out.isEmpty(), "no weights in " + run.resolve("final"));
        return out;
    }

    private static void assertClose(String what, Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        double max = 0, moved = 0;
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), TOL, what + " " + k);
            for (int i = 0; i < a.get(k).length; i++) max = Math.max(max, Math.abs(a.get(k)[i] - b.get(k)[i]));
        }
        System.out.printf("%s: max |weight difference| %.2e (tolerance %.0e)%n", what, max, TOL);
    }

    private Map<String, float[]> run(RunConfig c) throws IOException {
        Runs.Outcome o = Runs.train(c, System.err, true);
        assertEquals(0, o.result().skippedSteps);
        return finalWeights(o.runDir());
    }

    @Test
    void bertClassificationOnTwoAndThreeReplicas() throws IOException {
        Path tiny = TinyModels.bert(dir.resolve("tiny"), 2, 64, 1);
        Path train = sst2(64);
        String t = "\"batch_size\": 8";
        Map<String, float[]> one = run(classification(tiny, train, "[\"cpu\"]", null, t, "one"));
        Map<String, float[]> init = floats(SafeTensors.readCheckpoint(tiny));
        assertClose("BERT classification, 2 replicas", one, run(classification(tiny, train, "[\"cpu\", \"cpu\"]", null, t, "two")));
        assertClose("BERT classification, 3 replicas (3+3+2)", one,
                run(classification(tiny, train, "[\"cpu\", \"cpu\", \"cpu\"]", null, t, "three")));
        String moved = "model.safetensors:bert.encoder.layer.0.attention.self.query.weight";
        assertTrue(maxDiff(one.get(moved), init.get(moved.substring(moved.indexOf(':') + 1))) > 1e-4, "training moved the weights");
    }

    @Test
    void loraWithAccumulationAndClippingOnTwoReplicas() throws IOException {
        Path tiny = TinyModels.bert(dir.resolve("tiny"), 2, 64, 1);
        Path train = sst2(48);
        String peft = "{\"method\": \"lora\", \"lora\": {\"r\": 4}}";
        // 5 examples per micro-batch (3 + 2 over the replicas), 2 micro-batches per step, every step clipped
        String t = "\"batch_size\": 5, \"gradient_accumulation_steps\": 2, \"max_grad_norm\": 0.001, \"log_every_steps\": 1";
        Map<String, float[]> one = run(classification(tiny, train, "[\"cpu\"]", peft, t, "one"));
        Path two = dir.resolve("two");
        assertClose("BERT + LoRA, accumulation and clipping, 2 replicas", one,
                run(classification(tiny, train, "[\"cpu\", \"cpu\"]", peft, t, "two")));
        assertTrue(one.keySet().stream().anyMatch(k -> k.contains("lora_A")), "a LoRA folder: " + one.keySet());
        List<String> rows = Files.readAllLines(two.resolve("metrics.jsonl"));
        long clipped = rows.stream().map(r -> JsonParser.parseString(r).getAsJsonObject())
                .filter(r -> r.has("grad_norm") && r.get("grad_norm").getAsDouble() > 0.001).count();
        assertEquals(4, clipped, "every step's reduced gradient norm above max_grad_norm: " + rows);
        String manifest = Files.readString(two.resolve("manifest.json"));
        assertEquals("cpu(), cpu()", JsonParser.parseString(manifest).getAsJsonObject().get("device").getAsString());
    }

    @Test
    void gpt2CausalLmOnThreeReplicas() throws IOException {
        Path tiny = TinyModels.gpt2(dir.resolve("gpt2"), 2, 64, 1);
        String text = Files.readString(TestSupport.shared("datasets/tinyshakespeare/input.txt")).substring(0, 6000);
        Path train = Files.writeString(dir.resolve("shakespeare.txt"), text);
        Map<String, float[]> one = null;
        for (String devices : List.of("[\"cpu\"]", "[\"cpu\", \"cpu\", \"cpu\"]")) {
            RunConfig c = RunConfig.parse("{\"model\": {\"name\": " + q(tiny) + ", \"devices\": " + devices + ", \"dropout\": 0},"
                    + " \"task\": {\"type\": \"pretrain-gpt\"},"
                    + " \"data\": {\"train\": " + q(train) + ", \"max_length\": 32},"
                    + " \"training\": {\"max_steps\": 3, \"batch_size\": 7, \"eval_each_epoch\": false},"
                    + " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.5}, \"schedule\": {\"type\": \"constant\"},"
                    + " \"logging\": {\"tensorboard\": false, \"plot\": false, \"progress\": \"off\"},"
                    + " \"checkpointing\": {\"keep_last\": 1, \"keep_best\": false},"
                    + " \"output\": {\"dir\": " + q(dir.resolve("run" + devices.length())) + "}, \"seed\": 5}", "gpt.json", dir, List.of());
            Map<String, float[]> w = run(c);
            if (one == null) one = w;
            else assertClose("GPT-2 causal LM, 3 replicas (3+2+2)", one, w);
        }
    }

    @Test
    void devicesAreCheckedByName() throws IOException {
        Path tiny = TinyModels.bert(dir.resolve("tiny"), 1, 32, 1);
        Path train = sst2(8);
        ConfigException typo = assertThrows(ConfigException.class,
                () -> classification(tiny, train, "[\"cpu\", \"gpu1\"]", null, "\"batch_size\": 4", "x"));
        assertTrue(typo.getMessage().contains("\"model.devices[1]\" must be one of \"cpu\", \"gpu\" or \"gpu:N\", got \"gpu1\" (did you mean \"gpu\"?)"),
                typo.getMessage());
        ConfigException empty = assertThrows(ConfigException.class,
                () -> classification(tiny, train, "[]", null, "\"batch_size\": 4", "x"));
        assertTrue(empty.getMessage().contains("\"model.devices\" is empty"), empty.getMessage());
        ConfigException both = assertThrows(ConfigException.class, () -> RunConfig.parse("{\"model\": {\"name\": " + q(tiny)
                + ", \"device\": \"cpu\", \"devices\": [\"cpu\"]}, \"task\": {\"type\": \"classification\"}, \"data\": {\"train\": "
                + q(train) + ", \"format\": \"label-first\"}}", "dp.json", dir, List.of()));
        assertTrue(both.getMessage().contains("\"model.device\" and \"model.devices\" are both set"), both.getMessage());
        // a GPU this machine does not have: refused by its field before anything is built or written
        int gpus = ai.djl.engine.Engine.getInstance().getGpuCount();
        RunConfig absent = classification(tiny, train, "[\"cpu\", \"gpu:" + (gpus + 1) + "\"]", null, "\"batch_size\": 4", "absent");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Runs.train(absent, System.err, true));
        assertTrue(e.getMessage().startsWith("dp.json: \"model.devices[1]\" device 'gpu:" + (gpus + 1) + "'"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("absent")));
        // the Java facade's devices(...) and the CLI's --devices are model.devices
        assertEquals(List.of("cpu", "gpu:1"), dev.kiln.Kiln.training(absent.toJson()).devices("cpu", "gpu:1").config().model.devices);
        Path cfg = Files.writeString(dir.resolve("cli.json"), absent.toJson());
        IllegalArgumentException cli = assertThrows(IllegalArgumentException.class, () -> dev.kiln.cli.KilnCli.run(new String[] {
                "train", cfg.toString(), "--devices", "cpu,cpu,gpu:" + (gpus + 3), "--quiet"}, new java.io.PrintStream(
                new java.io.ByteArrayOutputStream())));
        assertTrue(cli.getMessage().contains("\"model.devices[2]\" device 'gpu:" + (gpus + 3) + "'"), cli.getMessage());
    }

    @Test
    void aDryRunStepsTheReplicasAndWritesNothing() throws IOException {
        Path tiny = TinyModels.bert(dir.resolve("tiny"), 1, 32, 1);
        DryRun d = DryRun.run(classification(tiny, sst2(16), "[\"cpu\", \"cpu\"]", null, "\"batch_size\": 4", "dry"), 2);
        assertEquals("cpu(), cpu()", d.device());
        assertEquals(2, d.timedSteps());
        assertTrue(Double.isFinite(d.firstLoss()));
        assertFalse(Files.exists(dir.resolve("dry")));
    }

    @Test
    void aKeyAddedSinceARunStartedDoesNotBlockItsResume() {
        var saved = JsonParser.parseString("{\"model\": {\"name\": \"m\"}, \"seed\": 1}").getAsJsonObject();
        var now = JsonParser.parseString("{\"model\": {\"name\": \"m\", \"devices\": null}, \"seed\": 1}").getAsJsonObject();
        assertEquals(null, Runs.firstDifference("", saved, now));
        var other = JsonParser.parseString("{\"model\": {\"name\": \"n\", \"devices\": null}, \"seed\": 1}").getAsJsonObject();
        assertEquals("model.name", Runs.firstDifference("", saved, other));
    }

    private static Map<String, float[]> floats(Map<String, HostTensor> m) {
        Map<String, float[]> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, v.toFloats()));
        return out;
    }

    private static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
