package dev.kiln.sweep;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.config.ConfigException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sweep without models: a stub trial runner measures a known function (or replays recorded learning curves),
 * so the samplers, the pruners, the folder and resume are tested exactly and fast. SweepRunTest runs real trials.
 */
class SweepTest {
    @TempDir
    Path dir;
    private Path base;

    @BeforeEach
    void baseConfig() throws IOException {
        Files.writeString(dir.resolve("train.jsonl"), "{\"text\": \"good\", \"label\": \"pos\"}\n{\"text\": \"bad\", \"label\": \"neg\"}\n");
        Files.writeString(dir.resolve("dev.jsonl"), "{\"text\": \"good\", \"label\": \"pos\"}\n");
        base = Files.writeString(dir.resolve("base.json"), """
                {"model": {"name": "mlp"}, "task": {"type": "classification"},
                 "data": {"train": "train.jsonl", "dev": "dev.jsonl"},
                 "training": {"epochs": 1, "batch_size": 2}, "optimizer": {"lr": 1e-3}}
                """);
    }

    private SweepSpec spec(String json) {
        return SweepSpec.parse(json, "sweep.json", dir);
    }

    // ---- TPE against random search ----

    /**
     * A smooth objective with its optimum at lr = 10^-3.5, dropout = 0.12 and batch 32 (value 0): TPE's model of
     * where good trials lie must beat random draws over the same budget.
     */
    private static double objective(Map<String, JsonElement> p) {
        double a = Math.log10(p.get("optimizer.lr").getAsDouble()) + 3.5;
        double b = (p.get("model.dropout").getAsDouble() - 0.12) / 0.3;
        double c = p.get("training.batch_size").getAsInt() == 32 ? 0 : 0.3;
        return -(a * a + 4 * b * b + c);
    }

    private static final String SPACE = """
            "parameters": {
              "optimizer.lr": {"type": "loguniform", "low": 1e-6, "high": 1e-1},
              "model.dropout": {"type": "uniform", "low": 0, "high": 0.6},
              "training.batch_size": {"type": "choice", "values": [8, 16, 32, 64]}
            }""";

    /** The best objective value found in {@code trials} sequential trials (no folder: the sampler alone). */
    private double bestFound(String method, long seed, int trials) {
        SweepSpec s = spec("{\"base\": \"base.json\", \"method\": \"%s\", \"trials\": %d, \"seed\": %d, %s}"
                .formatted(method, trials, seed, SPACE));
        Sampler sampler = Sampler.of(s);
        List<Trial> done = new ArrayList<>();
        double best = Double.NEGATIVE_INFINITY;
        for (int n = 0; n < trials; n++) {
            Trial t = new Trial(n, sampler.suggest(n, done));
            t.metric = objective(t.params);
            t.state = Trial.State.COMPLETE;
            done.add(t);
            best = Math.max(best, t.metric);
        }
        return best;
    }

    @Test
    void tpeGetsCloserToTheOptimumThanRandomSearchWithTheSameBudget() {
        int seeds = 12, wins = 0;
        double[] tpe = new double[seeds], rnd = new double[seeds];
        for (int seed = 0; seed < seeds; seed++) {
            tpe[seed] = bestFound("tpe", seed, 40);
            rnd[seed] = bestFound("random", seed, 40);
            if (tpe[seed] > rnd[seed]) wins++;
        }
        double tpeMedian = median(tpe), rndMedian = median(rnd);
        System.out.printf("40 trials, %d seeds: median regret TPE %.4f, random %.4f; TPE better on %d seeds%n",
                seeds, -tpeMedian, -rndMedian, wins);
        assertTrue(wins >= 9, "TPE beat random search on only " + wins + " of " + seeds + " seeds");
        assertTrue(-tpeMedian < 0.5 * -rndMedian, "median regret TPE " + -tpeMedian + " vs random " + -rndMedian);
    }

    @Test
    void tpeStartsAsRandomSearchForItsStartUpTrials() {
        SweepSpec t = spec("{\"base\": \"base.json\", \"method\": \"tpe\", \"trials\": 12, \"seed\": 3, " + SPACE + "}");
        SweepSpec r = spec("{\"base\": \"base.json\", \"method\": \"random\", \"trials\": 12, \"seed\": 3, " + SPACE + "}");
        List<Trial> done = new ArrayList<>();
        for (int n = 0; n < 10; n++) {
            Map<String, JsonElement> p = Sampler.of(t).suggest(n, done);
            assertEquals(Sampler.of(r).suggest(n, List.of()), p, "trial " + n);
            Trial x = new Trial(n, p);
            x.metric = objective(p);
            x.state = Trial.State.COMPLETE;
            done.add(x);
        }
        assertFalse(Sampler.of(t).suggest(10, done).equals(Sampler.of(r).suggest(10, List.of())), "trial 10 is TPE's own");
    }

    @Test
    void sampledValuesStayInTheirRanges() {
        SweepSpec s = spec("""
                {"base": "base.json", "method": "tpe", "trials": 60, "seed": 1, "tpe": {"startup_trials": 3},
                 "parameters": {"optimizer.lr": {"type": "loguniform", "low": 1e-5, "high": 1e-3},
                                "training.batch_size": {"type": "int", "low": 4, "high": 64, "step": 4},
                                "training.epochs": {"type": "int", "low": 1, "high": 50, "log": true}}}""");
        Sampler sampler = Sampler.of(s);
        List<Trial> done = new ArrayList<>();
        for (int n = 0; n < 60; n++) {
            Trial t = new Trial(n, sampler.suggest(n, done));
            double lr = t.params.get("optimizer.lr").getAsDouble();
            long bs = t.params.get("training.batch_size").getAsLong();
            long ep = t.params.get("training.epochs").getAsLong();
            assertTrue(lr >= 1e-5 && lr <= 1e-3, "lr " + lr);
            assertTrue(bs >= 4 && bs <= 64 && bs % 4 == 0, "batch " + bs);
            assertTrue(ep >= 1 && ep <= 50, "epochs " + ep);
            t.metric = -Math.abs(Math.log(lr) + 9) - Math.abs(bs - 20) / 10.0;
            t.state = Trial.State.COMPLETE;
            done.add(t);
        }
    }

    @Test
    void parzenBandwidthsFollowOptunasNeighbourRule() {
        // observations 0.1 and 0.7 in [0, 1], the prior at 0.5; sorted with the walls: 0 | 0.1 0.5 0.7 | 1.
        // The larger neighbour gap is 0.4 for 0.1 and 0.2 for 0.7, but the outermost points take their inner gap
        // (0.4 and 0.2); the floor is 1 / min(100, 2 observations + 2) = 0.25, so 0.7 gets 0.25; the prior gets 1.
        TpeSampler.Gaussians g = new TpeSampler.Gaussians(new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0}, new double[] {0.1, 0.7}, 0, 1);
        assertEquals(0.4, g.sigma[0], 1e-12);
        assertEquals(0.25, g.sigma[1], 1e-12);
        assertEquals(1.0, g.sigma[2], 1e-12);
        // the density is a mixture of truncated normals: it integrates to 1 over the range
        double sum = 0;
        int n = 20_000;
        for (int i = 0; i < n; i++) sum += Math.exp(g.logPdf((i + 0.5) / n)) / n;
        assertEquals(1.0, sum, 1e-6);
        // the normal CDF against known values (Abramowitz and Stegun table 26.1)
        assertEquals(0.841344746, TpeSampler.phi(1), 2e-7);
        assertEquals(0.022750132, TpeSampler.phi(-2), 2e-7);
        // 30 observations: the 5 oldest ramp up from 1/30 (Optuna's default_weights), the newest 25 weigh 1
        double[] w = TpeSampler.weights(30);
        assertEquals(1 / 30.0, w[0], 1e-12);
        assertEquals(1.0, w[4], 1e-12);
        assertEquals(1.0, w[29], 1e-12);
        assertTrue(w[1] > w[0] && w[2] > w[1]);
    }

    // ---- grid ----

    @Test
    void gridCoversTheProductExactlyOnce() throws IOException {
        SweepSpec s = spec("""
                {"base": "base.json", "method": "grid",
                 "parameters": {"training.batch_size": {"type": "choice", "values": [8, 16, 32]},
                                "training.epochs": {"type": "int", "low": 2, "high": 6, "step": 4},
                                "optimizer.lr": {"type": "loguniform", "low": 1e-5, "high": 1e-3, "points": 3}}}""");
        assertEquals(18, s.trials, "trials default to the grid's size");
        Sweep.Result r = new Sweep(s, dir.resolve("grid"), quiet()).run(stub(p -> 1.0, 1));
        Set<List<String>> seen = new HashSet<>();
        for (Trial t : r.trials()) seen.add(List.of(t.params.get("training.batch_size").toString(),
                t.params.get("training.epochs").toString(), t.params.get("optimizer.lr").toString()));
        Set<List<String>> want = new HashSet<>();
        for (String b : List.of("8", "16", "32")) for (String e : List.of("2", "6")) for (String lr : List.of("1.0E-5", "1.0E-4", "0.001")) {
            want.add(List.of(b, e, lr));
        }
        assertEquals(18, r.trials().size());
        // 1e-4 is exp of the log-midpoint: compare it rounded
        Set<List<String>> rounded = new HashSet<>();
        for (List<String> x : seen) rounded.add(List.of(x.get(0), x.get(1), String.valueOf((float) Double.parseDouble(x.get(2)))));
        Set<List<String>> wantRounded = new HashSet<>();
        for (List<String> x : want) wantRounded.add(List.of(x.get(0), x.get(1), String.valueOf((float) Double.parseDouble(x.get(2)))));
        assertEquals(wantRounded, rounded);
    }

    // ---- pruners on recorded curves ----

    /** A runner that replays trial n's recorded curve (evaluations at steps 10, 20, 30, ...) until told to stop. */
    private static Sweep.TrialRunner replay(double[][] curves) {
        return (trial, d, reporter) -> {
            double[] c = curves[trial.number];
            long step = 0;
            for (int i = 0; i < c.length; i++) {
                step = 10L * (i + 1);
                if (trial.state == Trial.State.PRUNED || reporter.report(step, c[i])) break;
            }
            return new Sweep.RunResult(step, -1);
        };
    }

    private SweepSpec pruned(String pruner, int trials) {
        return spec("{\"base\": \"base.json\", \"method\": \"random\", \"trials\": %d, \"metric\": \"accuracy\", \"pruner\": %s, %s}"
                .formatted(trials, pruner, SPACE));
    }

    @Test
    void medianPrunerStopsATrialWorseThanTheMedianOfCompletedTrialsAtTheSameStep() throws IOException {
        double[][] curves = {
                {0.50, 0.60, 0.70}, {0.55, 0.65, 0.75}, {0.60, 0.70, 0.80}, {0.65, 0.75, 0.85}, {0.70, 0.80, 0.90},
                // startup is over (5 complete): medians are 0.60 / 0.70 / 0.80 at steps 10 / 20 / 30
                {0.62, 0.64, 0.90}, // best-so-far 0.64 < 0.70 at step 20: pruned there
                {0.61, 0.71, 0.79}, // 0.79 < 0.80 at step 30: pruned at the last evaluation
                {0.59, 0.90, 0.95}, // 0.59 < 0.60 at step 10: pruned at once, though it would have become the best
                {0.90, 0.50, 0.50}, // its best so far (0.90) stays above every median: runs to the end
        };
        Sweep.Result r = new Sweep(pruned("\"median\"", 9), dir.resolve("median"), quiet()).run(replay(curves));
        List<String> got = new ArrayList<>();
        for (Trial t : r.trials()) got.add(t.state.name().toLowerCase() + "@" + t.steps);
        assertEquals(List.of("complete@30", "complete@30", "complete@30", "complete@30", "complete@30",
                "pruned@20", "pruned@30", "pruned@10", "complete@30"), got);
        assertEquals(0.64, r.trials().get(5).metric, 0, "a pruned trial's metric is its best before the stop");
    }

    @Test
    void ashaKeepsTheTopOneOverEtaAtEachRung() throws IOException {
        // eta 2, first rung at step 10: rungs at steps 10, 20, 40
        double[][] curves = {
                {0.50, 0.60, 0.70, 0.80}, // the first at every rung: never pruned
                {0.40, 0.70, 0.75, 0.90}, // rung 10: 2 competing, must be the best (0.40 < 0.50): pruned at 10
                {0.55, 0.58, 0.60, 0.65}, // rung 10: [0.55 0.50 0.40] top 1/2 -> idx 0 -> 0.55 is best, kept;
                                          // rung 20: [0.60 0.58] -> must be best: 0.58 < 0.60 pruned at 20
                {0.52, 0.65, 0.66, 0.67}, // rung 10: [0.55 0.52 0.50 0.40] idx 1 -> 0.52 >= 0.52 kept;
                                          // rung 20: [0.65 0.60 0.58] idx 0 -> kept; rung 40: [0.80 0.67]: 0.67 pruned at 40
        };
        Sweep.Result r = new Sweep(pruned("{\"type\": \"asha\", \"reduction_factor\": 2}", 4), dir.resolve("asha"), quiet())
                .run(replay(curves));
        List<String> got = new ArrayList<>();
        for (Trial t : r.trials()) got.add(t.state.name().toLowerCase() + "@" + t.steps);
        assertEquals(List.of("complete@40", "pruned@10", "pruned@20", "pruned@40"), got);
    }

    // ---- the folder, resume ----

    /** Trials of the objective as curves of 4 evaluations approaching it, so pruners have something to cut. */
    private static Sweep.TrialRunner stub(ToDoubleFunction<Map<String, JsonElement>> f, int evals) {
        return (trial, d, reporter) -> {
            double v = f.applyAsDouble(trial.params);
            long step = 0;
            for (int i = 1; i <= evals; i++) {
                step = 5L * i;
                if (trial.state == Trial.State.PRUNED || reporter.report(step, v - 1.0 / i)) break;
            }
            return new Sweep.RunResult(step, -1);
        };
    }

    /** Thrown to simulate a kill: an Error, which the sweep does not treat as a failed trial. */
    static final class Killed extends Error {}

    private static List<JsonObject> results(Path sweepDir) throws IOException {
        List<JsonObject> out = new ArrayList<>();
        for (String l : Files.readAllLines(sweepDir.resolve("results.jsonl"))) {
            JsonObject o = JsonParser.parseString(l).getAsJsonObject();
            o.remove("seconds"); // wall time: the one field that may differ
            out.add(o);
        }
        return out;
    }

    @Test
    void aKilledSweepResumesToTheSameTrialsAsAnUninterruptedOne() throws IOException {
        String json = "{\"base\": \"base.json\", \"method\": \"tpe\", \"trials\": 14, \"seed\": 7, \"tpe\": {\"startup_trials\": 4},"
                + " \"pruner\": {\"type\": \"median\", \"startup_trials\": 2}, \"metric\": \"accuracy\", " + SPACE + "}";
        Sweep.Result whole = new Sweep(spec(json), dir.resolve("whole"), quiet()).run(stub(SweepTest::objective, 4));
        assertTrue(whole.trials().stream().anyMatch(t -> t.state == Trial.State.PRUNED), "the pruner took part");

        Path killed = dir.resolve("killed");
        int[] reports = {0};
        Sweep.TrialRunner dying = (trial, d, reporter) -> stub(SweepTest::objective, 4).run(trial, d, (step, v) -> {
            boolean stop = reporter.report(step, v);
            if (++reports[0] == 30) throw new Killed(); // mid-trial, after its evaluation was recorded
            return stop;
        });
        assertThrows(Killed.class, () -> new Sweep(spec(json), killed, quiet()).run(dying));
        assertTrue(Files.exists(killed.resolve("running.json")), "the trial in progress is on disk");
        int before = results(killed).size();
        assertTrue(before > 4 && before < 14, "killed after the TPE start-up, before the end: " + before);
        // a second kill, at a trial boundary this time, then the same command to the end
        Sweep.TrialRunner dyingAtStart = (trial, d, reporter) -> {
            if (trial.number == before + 1) throw new Killed();
            return stub(SweepTest::objective, 4).run(trial, d, reporter);
        };
        assertThrows(Killed.class, () -> new Sweep(spec(json), killed, quiet()).run(dyingAtStart));
        Sweep.Result resumed = new Sweep(spec(json), killed, quiet()).run(stub(SweepTest::objective, 4));
        assertEquals(results(whole.dir()), results(killed));
        assertEquals(whole.best().number, resumed.best().number);
        assertFalse(Files.exists(killed.resolve("running.json")));
    }

    // ---- parallel trials ----

    /** {@link #stub}, each evaluation taking a random few milliseconds (seeded by {@code timing}); counts trials at once. */
    private static Sweep.TrialRunner slowStub(long timing, int[] atOnce) {
        Sweep.TrialRunner s = stub(SweepTest::objective, 4);
        return (trial, d, reporter) -> {
            synchronized (atOnce) {
                atOnce[1] = Math.max(atOnce[1], ++atOnce[0]);
            }
            try {
                return s.run(trial, d, (step, v) -> {
                    try {
                        Thread.sleep(new java.util.SplittableRandom(timing * 100_000 + trial.number * 100L + step).nextInt(1, 12));
                    } catch (InterruptedException e) {
                        throw new java.io.InterruptedIOException();
                    }
                    return reporter.report(step, v);
                });
            } finally {
                synchronized (atOnce) {
                    atOnce[0]--;
                }
            }
        };
    }

    private static List<JsonObject> withoutDevice(List<JsonObject> rs) {
        rs.forEach(o -> o.remove("device"));
        return rs;
    }

    @Test
    void parallelTrialsFollowOneSequenceWhateverTheirTimingTheDevicesOrAKill() throws IOException {
        String json = "{\"base\": \"base.json\", \"method\": \"tpe\", \"trials\": 14, \"seed\": 3, \"tpe\": {\"startup_trials\": 4},"
                + " \"pruner\": {\"type\": \"median\", \"startup_trials\": 2}, \"metric\": \"accuracy\", \"max_parallel\": 3, " + SPACE + "}";
        List<String> three = List.of("d0", "d1", "d2");
        int[] atOnce = {0, 0};
        Sweep.Result a = new Sweep(spec(json), dir.resolve("a"), quiet()).run(slowStub(1, atOnce), three);
        assertEquals(3, atOnce[1], "three trials ran at once");
        assertTrue(a.trials().stream().anyMatch(t -> t.state == Trial.State.PRUNED), "the pruner took part");
        assertEquals(Set.of("d0", "d1", "d2"), new HashSet<>(a.trials().stream().map(t -> t.device).toList()));
        // other timings, and one device (trials one at a time, in max_parallel 3's order): the same trials
        new Sweep(spec(json), dir.resolve("b"), quiet()).run(slowStub(2, new int[2]), three);
        new Sweep(spec(json), dir.resolve("one"), quiet()).run(stub(SweepTest::objective, 4));
        assertEquals(withoutDevice(results(dir.resolve("a"))), withoutDevice(results(dir.resolve("b"))));
        assertEquals(withoutDevice(results(dir.resolve("a"))), withoutDevice(results(dir.resolve("one"))));
        // trial n was chosen from trials 0 … n-3, with n-2 and n-1 pending
        SweepSpec spec = spec(json);
        Sampler sampler = Sampler.of(spec);
        int differ = 0;
        for (Trial t : a.trials()) {
            int n = t.number;
            List<Trial> window = a.trials().subList(0, Math.max(0, n - 2));
            List<Trial> pending = a.trials().subList(Math.max(0, n - 2), n);
            assertEquals(sampler.suggest(n, window, pending), t.params, "trial " + n);
            if (!sampler.suggest(n, window, List.of()).equals(t.params)) differ++;
        }
        assertTrue(differ > 0, "pending trials changed TPE's proposals");

        // killed mid-trial with three running, then the same command to the end
        Path killed = dir.resolve("killed");
        int[] reports = {0};
        Sweep.TrialRunner slow = slowStub(3, new int[2]);
        Sweep.TrialRunner dying = (trial, d, reporter) -> slow.run(trial, d, (step, v) -> {
            boolean stop = reporter.report(step, v);
            synchronized (reports) {
                if (++reports[0] == 30) throw new Killed();
            }
            return stop;
        });
        assertThrows(Killed.class, () -> new Sweep(spec(json), killed, quiet()).run(dying, three));
        List<String> running = Files.readAllLines(killed.resolve("running.json"));
        assertTrue(running.size() >= 2, "the trials in progress are on disk: " + running);
        new Sweep(spec(json), killed, quiet()).run(slowStub(4, new int[2]), three);
        assertEquals(withoutDevice(results(dir.resolve("a"))), withoutDevice(results(killed)));
        assertFalse(Files.exists(killed.resolve("running.json")));
    }

    @Test
    void tpeKeepsAwayFromPendingTrials() {
        // 30 finished trials of dropout on a grid, best at 0.3; TPE proposes near 0.3, less so with trials pending there
        SweepSpec s = spec("{\"base\": \"base.json\", \"method\": \"tpe\", \"trials\": 100,"
                + " \"parameters\": {\"model.dropout\": {\"type\": \"uniform\", \"low\": 0, \"high\": 0.6}}}");
        List<Trial> finished = new ArrayList<>();
        for (int n = 0; n < 30; n++) {
            double x = 0.6 * n / 29;
            Trial t = new Trial(n, Map.of("model.dropout", new com.google.gson.JsonPrimitive(x)));
            t.state = Trial.State.COMPLETE;
            t.metric = -(x - 0.3) * (x - 0.3);
            finished.add(t);
        }
        List<Trial> pending = new ArrayList<>();
        for (int k = 0; k < 3; k++) pending.add(new Trial(30 + k, Map.of("model.dropout", new com.google.gson.JsonPrimitive(0.3))));
        Sampler tpe = Sampler.of(s);
        double[] alone = new double[60], liar = new double[60];
        for (int i = 0; i < 60; i++) {
            alone[i] = Math.abs(tpe.suggest(33 + i, finished).get("model.dropout").getAsDouble() - 0.3);
            liar[i] = Math.abs(tpe.suggest(33 + i, finished, pending).get("model.dropout").getAsDouble() - 0.3);
        }
        assertTrue(median(liar) > 1.5 * median(alone), "median distance from the pending point: " + median(liar) + " vs " + median(alone));
    }

    @Test
    void theFolderHoldsResultsBestFirstABestLinkASummaryAndAPlot() throws IOException {
        String json = "{\"base\": \"base.json\", \"method\": \"random\", \"trials\": 6, \"seed\": 2, " + SPACE + "}";
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Sweep.Result r = new Sweep(spec(json), dir.resolve("s"), new PrintStream(console, true, StandardCharsets.UTF_8))
                .run(stub(SweepTest::objective, 2));
        Path s = r.dir();
        String[] lines = console.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(7, lines.length, "one line per trial and the closing one");
        assertTrue(lines[0].startsWith("trial 000 (1/6)  lr="), lines[0]);
        assertTrue(lines[5].contains("| best: trial " + r.best().folder()), lines[5]);
        // results.md: best first, the metric column descending (maximised)
        List<Double> md = new ArrayList<>();
        for (String l : Files.readAllLines(s.resolve("results.md"))) {
            if (!l.startsWith("| 0")) continue;
            String[] c = l.split("\\|");
            md.add(Double.parseDouble(c[5].trim()));
        }
        assertEquals(6, md.size());
        for (int i = 1; i < md.size(); i++) assertTrue(md.get(i - 1) >= md.get(i), "not best first: " + md);
        assertEquals(Path.of("trials", r.best().folder()), Files.readSymbolicLink(s.resolve("best")));
        JsonObject summary = JsonParser.parseString(Files.readString(s.resolve("summary.json"))).getAsJsonObject();
        assertEquals(r.best().number, summary.get("best_trial").getAsInt());
        assertEquals(md.get(0), summary.get("best_metric").getAsDouble(), 1e-4);
        assertEquals(6, summary.get("complete").getAsInt());
        assertTrue(Files.size(s.resolve("sweep.png")) > 1000);
        // a different sweep file in the same folder is refused; a non-sweep folder is refused
        String other = json.replace("\"seed\": 2", "\"seed\": 3");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Sweep(spec(other), s, quiet()).run(stub(SweepTest::objective, 2)));
        assertTrue(e.getMessage().contains("first difference: \"seed\""), e.getMessage());
        Path foreign = Files.createDirectories(dir.resolve("mine"));
        Files.writeString(foreign.resolve("notes.txt"), "mine");
        assertThrows(IllegalArgumentException.class, () -> new Sweep(spec(json), foreign, quiet()).run(stub(SweepTest::objective, 2)));
        assertEquals(List.of("notes.txt"), Files.list(foreign).map(p -> p.getFileName().toString()).toList());
    }

    // ---- bad sweep files ----

    private String bad(String json) {
        ConfigException e = assertThrows(ConfigException.class, () -> spec(json));
        assertEquals(1, e.errors().size(), "one problem, one line: " + e.errors());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith("sweep.json: "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void peftKeysAreSearchableAndReachTheTrialsConfig() {
        // the issue's "peft.r": LoRA's rank is peft.lora.r; a PEFT method needs a pretrained model name
        SweepSpec s = spec("{\"base\": \"base.json\", \"method\": \"random\", \"trials\": 6, \"seed\": 1,"
                + " \"set\": {\"model.name\": \"all-MiniLM-L6-v2\", \"peft.method\": \"lora\"},"
                + " \"parameters\": {\"peft.lora.r\": {\"type\": \"int\", \"low\": 2, \"high\": 32, \"log\": true},"
                + " \"peft.lora.alpha\": {\"type\": \"choice\", \"values\": [8, 16]}}}");
        Sampler sampler = Sampler.of(s);
        Set<Integer> ranks = new HashSet<>();
        for (int n = 0; n < 6; n++) {
            Map<String, JsonElement> p = sampler.suggest(n, List.of());
            dev.kiln.config.RunConfig cfg = new RunTrials(s).config(p, null);
            assertEquals(p.get("peft.lora.r").getAsInt(), cfg.peft.lora.r);
            assertEquals(p.get("peft.lora.alpha").getAsDouble(), cfg.peft.lora.alpha, 0);
            assertEquals(dev.kiln.config.RunConfig.PeftMethod.LORA, cfg.peft.method);
            assertTrue(cfg.peft.lora.r >= 2 && cfg.peft.lora.r <= 32);
            ranks.add(cfg.peft.lora.r);
        }
        assertTrue(ranks.size() > 1, "ranks vary: " + ranks);
        assertTrue(bad("{\"base\": \"base.json\", \"trials\": 3, \"set\": {\"model.name\": \"all-MiniLM-L6-v2\"},"
                + " \"parameters\": {\"peft.lora.rank\": {\"type\": \"int\", \"low\": 2, \"high\": 32}}}")
                .contains("\"parameters.peft.lora.rank\": unknown key"), "a PEFT key the schema lacks");
    }

    @Test
    void badSweepFilesGiveOneLineErrorsNamingTheKey() throws IOException {
        String ok = "\"parameters\": {\"optimizer.lr\": {\"type\": \"loguniform\", \"low\": 1e-5, \"high\": 1e-3}}";
        assertTrue(bad("{\"base\": \"base.json\", \"trials\": 3, \"parameters\": {\"optimizer.lrr\": {\"type\": \"uniform\", \"low\": 0, \"high\": 1}}}")
                .endsWith("\"parameters.optimizer.lrr\": unknown key \"optimizer.lrr\" (did you mean \"optimizer.lr\"?)"), "unknown config key");
        assertTrue(bad("{\"base\": \"base.json\", \"trials\": 3, \"metod\": \"tpe\", " + ok + "}")
                .contains("unknown key \"metod\" (did you mean \"method\"?)"));
        assertTrue(bad("{\"base\": \"base.json\", \"trials\": 3, \"method\": \"bayes\", " + ok + "}")
                .contains("\"method\" must be one of \"grid\", \"random\" or \"tpe\""));
        assertTrue(bad("{\"base\": \"base.json\", \"trials\": 3, \"parameters\": {\"optimizer.lr\": {\"type\": \"loguniform\", \"low\": 0, \"high\": 1e-3}}}")
                .contains("\"parameters.optimizer.lr.low\" must be above 0"));
        assertTrue(bad("{\"base\": \"base.json\", \"trials\": 3, \"parameters\": {\"training.epochs\": {\"type\": \"int\", \"low\": 1, \"high\": 4, \"stepp\": 2}}}")
                .contains("unknown key \"parameters.training.epochs.stepp\" (did you mean \"step\"?)"));
        assertTrue(bad("{\"base\": \"base.json\", \"trials\": 3, \"parameters\": {\"training.batch_size\": {\"type\": \"choice\"}}}")
                .contains("\"parameters.training.batch_size.values\" is required"));
        assertTrue(bad("{\"base\": \"base.json\", \"method\": \"grid\", " + ok + "}")
                .contains("\"parameters.optimizer.lr.points\" is required"));
        assertTrue(bad("{\"base\": \"base.json\", " + ok + "}").contains("\"trials\" is required"));
        assertTrue(bad("{\"base\": \"nope.json\", \"trials\": 3, " + ok + "}").contains("\"base\": file not found"));
        // a value the config refuses, found at the range's end
        assertTrue(bad("{\"base\": \"base.json\", \"trials\": 3, \"parameters\": {\"training.batch_size\": {\"type\": \"int\", \"low\": 0, \"high\": 8}}}")
                .startsWith("sweep.json: \"parameters.training.batch_size\": "));
        // the CLI writes nothing for a bad file
        Path file = Files.writeString(dir.resolve("bad-sweep.json"), "{\"base\": \"base.json\", \"trials\": 3, \"parameters\": {\"optimizer.lrr\": {\"type\": \"uniform\", \"low\": 0, \"high\": 1}}}");
        Path out = dir.resolve("never");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dev.kiln.cli.KilnCli.run(new String[] {"sweep", file.toString(), "--output", out.toString()}, quiet()));
        assertTrue(e.getMessage().startsWith("bad-sweep.json: \"parameters.optimizer.lrr\""), e.getMessage());
        assertFalse(Files.exists(out));
    }

    private static PrintStream quiet() {
        return new PrintStream(java.io.OutputStream.nullOutputStream());
    }

    private static double median(double[] x) {
        double[] v = x.clone();
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
