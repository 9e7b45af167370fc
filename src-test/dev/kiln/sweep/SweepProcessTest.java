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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parallel trials as on a machine with several GPUs, on ["cpu", "cpu"]: each trial a child JVM (ProcessTrials).
 * Starting six JVMs takes about a minute on busy cores, so scripts/test --quick leaves this class out.
 */
@org.junit.jupiter.api.extension.ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class SweepProcessTest {
    @TempDir
    Path dir;

    /**
     * max_parallel 2 on ["cpu", "cpu"]: each trial a child JVM (the process path a multi-GPU machine uses), pruned
     * through the pipe; then the same sweep killed inside trial 001 (both trial processes killed with it) and resumed
     * must end with the same results, trial 001 going on from its checkpoint.
     */
    @Test
    void parallelTrialsRunInTheirOwnProcessesAndAKilledParallelSweepResumesToTheSameResults() throws IOException {
        SweepRunTest.setUp(dir);
        Path file = Files.writeString(dir.resolve("parallel.json"), """
                {"base": "base.json", "method": "tpe", "trials": 3, "seed": 4, "tpe": {"startup_trials": 1},
                 "pruner": {"type": "asha", "reduction_factor": 2}, "max_parallel": 2, "devices": ["cpu", "cpu"],
                 "parameters": {"optimizer.lr": {"type": "loguniform", "low": 1e-3, "high": 3e-1},
                                "model.classic.hidden_size": {"type": "choice", "values": [8, 32]}}}
                """);
        SweepSpec spec = SweepSpec.load(file);
        Path whole = dir.resolve("whole");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertEquals(0, dev.kiln.cli.KilnCli.run(new String[] {"sweep", file.toString(), "--output", whole.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8)));
        List<JsonObject> results = SweepRunTest.lines(whole.resolve("results.jsonl"));
        assertEquals(3, results.size());
        for (JsonObject t : results) {
            String n = String.format("%03d", t.get("trial").getAsInt());
            Path run = whole.resolve("trials").resolve(n);
            assertEquals("cpu", t.get("device").getAsString());
            String log = Files.readString(whole.resolve("trials").resolve(n + ".log"));
            assertTrue(log.startsWith("kiln sweep: trial " + n + " on cpu"), log);
            JsonObject summary = JsonParser.parseString(Files.readString(run.resolve("summary.json"))).getAsJsonObject();
            assertEquals(t.get("steps").getAsLong(), summary.get("steps").getAsLong());
            List<List<Double>> curve = new ArrayList<>();
            t.getAsJsonArray("curve").forEach(p -> curve.add(List.of(p.getAsJsonArray().get(0).getAsDouble(), p.getAsJsonArray().get(1).getAsDouble())));
            if (t.get("state").getAsString().equals("pruned")) {
                assertTrue(t.get("steps").getAsLong() < 12, n + " pruned yet ran " + t.get("steps"));
                assertEquals(curve.get(curve.size() - 1).get(0), t.get("steps").getAsDouble(), 0, "stopped right after the evaluation that pruned it");
                assertTrue(Files.isRegularFile(run.resolve("final/config.json")), "a pruned trial is a finished run");
            } else {
                assertEquals("complete", t.get("state").getAsString(), t.toString());
            }
            // the child's evaluations are the run's own (metrics.jsonl), reported through the pipe
            List<Double> logged = new ArrayList<>();
            for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) {
                JsonObject m = JsonParser.parseString(l).getAsJsonObject();
                if (m.has("eval_accuracy")) logged.add(m.get("eval_accuracy").getAsDouble());
            }
            assertEquals(curve.stream().map(p -> p.get(1)).toList(), logged, n);
        }
        // trials 0 and 1 saw no result (both started at once), trial 2 was TPE's choice from trial 0 with 1 pending
        Sampler sampler = Sampler.of(spec);
        List<Trial> trials = results.stream().map(Trial::fromJson).toList();
        assertEquals(sampler.suggest(2, trials.subList(0, 1), trials.subList(1, 2)), trials.get(2).params);

        Path killed = dir.resolve("killed");
        try (ProcessTrials real = new ProcessTrials(spec)) {
            class Dying implements Sweep.TrialRunner, AutoCloseable {
                @Override
                public Sweep.RunResult run(Trial trial, Path d, Sweep.Reporter reporter) {
                    throw new UnsupportedOperationException("the sweep gives each trial a device");
                }

                @Override
                public Sweep.RunResult run(Trial trial, Path d, String device, Sweep.Reporter reporter) throws IOException {
                    return real.run(trial, d, device, (step, v) -> {
                        boolean stop = reporter.report(step, v);
                        if (trial.number == 1 && step == 8) throw new SweepTest.Killed();
                        return stop;
                    });
                }

                @Override
                public void close() {
                    real.close();
                }
            }
            assertThrows(SweepTest.Killed.class, () -> new Sweep(spec, killed, SweepRunTest.quiet()).run(new Dying(), List.of("cpu", "cpu")));
        }
        assertTrue(Files.isDirectory(killed.resolve("trials/001/checkpoints/step-4")));
        assertFalse(Files.exists(killed.resolve("trials/001/final")));
        assertTrue(Files.readString(killed.resolve("running.json")).contains("\"trial\":1,"));
        assertEquals(0, SweepCommand.run(List.of(file.toString(), "--output", killed.toString()), SweepRunTest.quiet(), SweepRunTest.quiet()));
        assertEquals(SweepRunTest.strip(results), SweepRunTest.strip(SweepRunTest.lines(killed.resolve("results.jsonl"))));
        assertEquals(3, Files.readAllLines(killed.resolve("trials/001/metrics.jsonl")).stream().filter(l -> l.contains("eval_accuracy")).count(),
                "trial 001 resumed: evaluations at steps 4, 8, 12 once each");
    }
}
