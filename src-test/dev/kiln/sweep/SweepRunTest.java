package dev.kiln.sweep;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real sweep, end to end: three trials of the classic MLP classifier (no download) on a small synthetic
 * sentiment set, a few steps each. The trial folders must be ordinary runs (their config holds the trial's
 * parameters; evaluate reproduces the recorded metric), and a sweep killed inside a trial must resume that trial
 * from its checkpoint and end with the results of an uninterrupted sweep.
 */
@org.junit.jupiter.api.extension.ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class SweepRunTest {
    @TempDir
    Path dir;

    private Path setUp() throws IOException {
        return setUp(dir);
    }

    /** The tiny sentiment set, base.json (the classic MLP, 12 steps, an evaluation every 4) and a 3-trial sweep.json in {@code dir}. */
    static Path setUp(Path dir) throws IOException {
        SplittableRandom r = new SplittableRandom(5);
        String[] pos = {"great", "lovely", "superb", "warm", "fine", "moving"}, neg = {"dull", "awful", "flat", "tired", "weak", "bland"};
        String[] filler = {"a", "film", "the", "story", "was", "very", "and", "plot"};
        List<String> train = new ArrayList<>(), dev = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            boolean p = r.nextBoolean();
            String w = (p ? pos : neg)[r.nextInt(6)];
            String text = filler[r.nextInt(8)] + " " + w + " " + filler[r.nextInt(8)] + " " + filler[r.nextInt(8)];
            (i < 90 ? train : dev).add("{\"text\": \"" + text + "\", \"label\": \"" + (p ? "pos" : "neg") + "\"}");
        }
        Files.write(dir.resolve("train.jsonl"), train, StandardCharsets.UTF_8);
        Files.write(dir.resolve("dev.jsonl"), dev, StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("base.json"), """
                {"model": {"name": "mlp", "device": "cpu", "classic": {"embedding_dim": 16, "hidden_size": 16}},
                 "task": {"type": "classification"},
                 "data": {"train": "train.jsonl", "dev": "dev.jsonl", "max_length": 16},
                 "training": {"max_steps": 12, "batch_size": 15, "eval_every_steps": 4, "eval_each_epoch": false, "log_every_steps": 4},
                 "schedule": {"type": "constant"},
                 "logging": {"tensorboard": false, "plot": false}}
                """);
        return Files.writeString(dir.resolve("sweep.json"), """
                {"base": "base.json", "method": "random", "trials": 3, "seed": 4,
                 "parameters": {"optimizer.lr": {"type": "loguniform", "low": 1e-3, "high": 3e-1},
                                "model.classic.hidden_size": {"type": "choice", "values": [8, 32]}}}
                """);
    }

    @Test
    void trialFoldersAreRealRunsAndAKilledSweepResumesToTheSameResults() throws IOException {
        Path file = setUp();
        SweepSpec spec = SweepSpec.load(file);
        assertEquals("accuracy", spec.metric, "the task's main metric by default");
        Path whole = dir.resolve("whole");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertEquals(0, dev.kiln.cli.KilnCli.run(new String[] {"sweep", file.toString(), "--output", whole.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8)));
        assertEquals(whole.resolve("summary.json").toString(), out.toString(StandardCharsets.UTF_8).trim());
        List<JsonObject> results = lines(whole.resolve("results.jsonl"));
        assertEquals(3, results.size());
        for (JsonObject t : results) {
            Path run = whole.resolve("trials").resolve(String.format("%03d", t.get("trial").getAsInt()));
            JsonObject cfg = JsonParser.parseString(Files.readString(run.resolve("config.json"))).getAsJsonObject();
            JsonObject params = t.getAsJsonObject("params");
            assertEquals(params.get("optimizer.lr").getAsDouble(), cfg.getAsJsonObject("optimizer").get("lr").getAsDouble(), 0);
            assertEquals(params.get("model.classic.hidden_size").getAsInt(),
                    cfg.getAsJsonObject("model").getAsJsonObject("classic").get("hidden_size").getAsInt());
            assertEquals("complete", t.get("state").getAsString());
            assertEquals(12, t.get("steps").getAsLong());
            // an ordinary run: its best/ model, evaluated by the CLI's code path, scores the metric the sweep recorded
            Map<String, Object> m = dev.kiln.Kiln.evaluate(run.resolve("best"), dir.resolve("dev.jsonl"));
            assertEquals(t.get("metric").getAsDouble(), ((Number) m.get("accuracy")).doubleValue(), 1e-9, run + ": " + m);
        }
        int bestTrial = JsonParser.parseString(Files.readString(whole.resolve("summary.json"))).getAsJsonObject().get("best_trial").getAsInt();
        assertTrue(Files.isRegularFile(whole.resolve("best/final/config.json")), "best links to the best trial's run");
        assertEquals(Path.of("trials", String.format("%03d", bestTrial)), Files.readSymbolicLink(whole.resolve("best")));

        // killed inside trial 001 at its second evaluation (step 8), before that step's checkpoint was written
        Path killed = dir.resolve("killed");
        RunTrials real = new RunTrials(spec);
        Sweep.TrialRunner dying = (trial, d, reporter) -> real.run(trial, d, (step, v) -> {
            boolean stop = reporter.report(step, v);
            if (trial.number == 1 && step == 8) throw new SweepTest.Killed();
            return stop;
        });
        assertThrows(SweepTest.Killed.class, () -> new Sweep(spec, killed, quiet()).run(dying));
        assertTrue(Files.isDirectory(killed.resolve("trials/001/checkpoints/step-4")));
        assertFalse(Files.exists(killed.resolve("trials/001/checkpoints/step-8")));
        assertFalse(Files.exists(killed.resolve("trials/001/final")));
        List<String> beforeKill = Files.readAllLines(killed.resolve("trials/001/metrics.jsonl")).stream()
                .filter(l -> l.startsWith("{\"step\":4,")).toList();
        assertEquals(2, beforeKill.size(), "step 4's training and evaluation lines");
        new Sweep(SweepSpec.load(file), killed, quiet()).run(new RunTrials(spec));
        List<JsonObject> again = lines(killed.resolve("results.jsonl"));
        assertEquals(strip(results), strip(again));
        // trial 001 went on from its step-4 checkpoint: step 4's lines (with their measured throughput) are the first
        // session's, not a rerun's
        List<String> after = Files.readAllLines(killed.resolve("trials/001/metrics.jsonl"));
        assertTrue(after.containsAll(beforeKill), after.toString());
        assertEquals(3, after.stream().filter(l -> l.contains("eval_accuracy")).count(), "evaluations at steps 4, 8, 12 once each");
    }

    @Test
    void withoutADeviceListMaxParallelOnCpuRunsOneAtATimeAndSaysSo() throws IOException {
        setUp();
        SweepSpec spec = SweepSpec.parse(Files.readString(dir.resolve("sweep.json")).replace("\"seed\": 4,", "\"seed\": 4, \"max_parallel\": 2,"), "sweep.json", dir);
        org.junit.jupiter.api.Assumptions.assumeTrue(ai.djl.engine.Engine.getInstance().getGpuCount() == 0, "a machine without GPUs");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertEquals(java.util.Collections.singletonList(null), SweepCommand.devices(spec, new PrintStream(b, true, StandardCharsets.UTF_8)));
        assertTrue(b.toString(StandardCharsets.UTF_8).contains("trials run one at a time")
                && b.toString(StandardCharsets.UTF_8).contains("\"devices\": [\"cpu\", \"cpu\"]"), b.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aPrunedTrialStopsItsRunEarlyAndLeavesAFinishedRunFolder() throws IOException {
        Path file = setUp();
        String json = Files.readString(file).replace("\"seed\": 4,", "\"seed\": 4, \"pruner\": {\"type\": \"asha\", \"reduction_factor\": 2},");
        SweepSpec spec = SweepSpec.parse(json, "asha.json", dir);
        Sweep.Result r = new Sweep(spec, dir.resolve("asha"), quiet()).run(new RunTrials(spec));
        List<Trial> pruned = r.trials().stream().filter(t -> t.state == Trial.State.PRUNED).toList();
        assertFalse(pruned.isEmpty(), "with eta 2 a trial must be the best at a rung while fewer than 2 others reached it");
        for (Trial t : pruned) {
            Path run = r.dir().resolve("trials").resolve(t.folder());
            assertTrue(t.steps < 12, t.folder() + " ran " + t.steps + " steps");
            assertEquals(t.curve.get(t.curve.size() - 1).step(), t.steps, "stopped right after the evaluation that pruned it");
            JsonObject summary = JsonParser.parseString(Files.readString(run.resolve("summary.json"))).getAsJsonObject();
            assertEquals(t.steps, summary.get("steps").getAsLong(), summary.toString());
            assertTrue(Files.isRegularFile(run.resolve("final/config.json")));
        }
    }

    @Test
    void dryRunPrintsThePlannedTrialsAndAnEstimateAndWritesNothing() throws IOException {
        Path file = setUp();
        Path out = dir.resolve("planned");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        assertEquals(0, dev.kiln.cli.KilnCli.run(new String[] {"sweep", file.toString(), "--output", out.toString(), "--dry-run"},
                new PrintStream(b, true, StandardCharsets.UTF_8)));
        String text = b.toString(StandardCharsets.UTF_8);
        SweepSpec spec = SweepSpec.load(file);
        for (int n = 0; n < 3; n++) {
            Trial t = new Trial(n, Sampler.of(spec).suggest(n, List.of()));
            assertTrue(text.contains("trial " + t.folder() + "  " + Sweep.params(t)), text);
        }
        assertTrue(text.contains("estimate: 12 steps a trial"), text);
        assertFalse(Files.exists(out));
    }

    static List<JsonObject> lines(Path f) throws IOException {
        List<JsonObject> out = new ArrayList<>();
        for (String l : Files.readAllLines(f)) out.add(JsonParser.parseString(l).getAsJsonObject());
        return out;
    }

    static List<JsonObject> strip(List<JsonObject> xs) {
        List<JsonObject> out = new ArrayList<>();
        for (JsonObject o : xs) {
            JsonObject c = o.deepCopy();
            c.remove("seconds");
            out.add(c);
        }
        return out;
    }

    static PrintStream quiet() {
        return new PrintStream(java.io.OutputStream.nullOutputStream());
    }
}
