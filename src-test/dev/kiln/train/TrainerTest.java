package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.log.Progress;
import dev.kiln.io.SafeTensors;
import dev.kiln.models.Backbone;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Losses;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer on its own, over a synthetic task that needs no downloads (as HF tests its Trainer on a
 * RegressionModel): a 1-layer random BERT without dropout, mean-pooled into a 2-way head, learning whether a
 * sequence of token ids starts in the upper half of a 20-token vocabulary. Evaluation can be scripted, so
 * early stopping and best/ are tested against known metric sequences.
 */
class TrainerTest {
    @TempDir
    Path tmp;

    /** The synthetic task. {@code scripted}: metrics returned by successive evaluations (null: real accuracy). */
    static final class Synthetic implements TrainableTask {
        static final int N = 48, T = 6, VOCAB = 20;
        final NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu());
        final BertModel bert;
        final Linear head;
        final long[][] ids = new long[N][T];
        final long[] labels = new long[N];
        final double[] scripted;
        int evals;

        Synthetic(double... scripted) {
            BertConfig c = new BertConfig();
            c.vocabSize = VOCAB;
            c.numHiddenLayers = 1;
            c.hiddenSize = 16;
            c.numAttentionHeads = 2;
            c.intermediateSize = 32;
            c.maxPositionEmbeddings = 8;
            c.hiddenDropoutProb = 0; // so micro-batch splits and resumes are comparable to the bit
            c.attentionProbsDropoutProb = 0;
            bert = new BertModel(c, new Parameters(manager, 7, 0.2f), BertModel.Heads.encoderOnly());
            head = new Linear(bert, "classifier", 16, 2, true);
            SplittableRandom r = new SplittableRandom(11);
            for (int i = 0; i < N; i++) {
                for (int t = 0; t < T; t++) ids[i][t] = r.nextInt(VOCAB);
                labels[i] = ids[i][0] >= VOCAB / 2 ? 1 : 0;
            }
            this.scripted = scripted.length == 0 ? null : scripted;
        }

        record B(int[] idx) implements Batch {
            public int size() { return idx.length; }
            public long targets() { return idx.length; }
            public long tokens() { return (long) idx.length * T; }
        }

        @Override public Parameters parameters() { return bert.params; }
        @Override public Backbone backbone() { return bert; }
        @Override public int trainSize() { return N; }
        @Override public Batch collate(int[] indexes) { collated.add(indexes); return new B(indexes); }
        /** A declared length (1..T) for the batch plans; the batches themselves are not padded. */
        @Override public int exampleLength(int index) { return 1 + (int) (ids[index][1] % T); }
        final List<int[]> collated = new ArrayList<>();
        @Override public String mainMetric() { return "accuracy"; }
        @Override public boolean higherIsBetter(String metric) { return true; }

        private NDArray logits(int[] idx, NDManager m, boolean training) {
            long[] flat = new long[idx.length * T];
            for (int i = 0; i < idx.length; i++) System.arraycopy(ids[idx[i]], 0, flat, i * T, T);
            NDArray x = m.create(flat, new Shape(idx.length, T));
            return head.forward(bert.hiddenStates(x, null, null, training).mean(new int[] {1}));
        }

        @Override
        public Loss loss(Batch batch, NDManager step, boolean training) {
            int[] idx = ((B) batch).idx;
            long[] y = new long[idx.length];
            for (int i = 0; i < idx.length; i++) y[i] = labels[idx[i]];
            return new Loss(Losses.crossEntropySum(logits(idx, step, training), step.create(y), 0f));
        }

        @Override
        public Map<String, Double> evaluate(NDManager parent) {
            if (scripted != null) return Map.of("accuracy", scripted[Math.min(evals++, scripted.length - 1)]);
            try (NDManager m = parent.newSubManager()) {
                int[] all = new int[N];
                for (int i = 0; i < N; i++) all[i] = i;
                long[] pred = logits(all, m, false).argMax(1).toLongArray();
                int ok = 0;
                for (int i = 0; i < N; i++) if (pred[i] == labels[i]) ok++;
                return Map.of("accuracy", ok / (double) N);
            }
        }

        @Override
        public void save(Path dir) throws IOException {
            HfFolder.writeFolder(dir, bert.config.toJson(), bert.params.stateDict(), null);
        }

        Map<String, float[]> weights() {
            Map<String, float[]> out = new LinkedHashMap<>();
            bert.params.all().forEach((k, v) -> out.put(k, v.toFloatArray()));
            return out;
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    private static TrainerOptions options() {
        TrainerOptions o = new TrainerOptions();
        o.maxSteps = 6;
        o.batchSize = 8;
        o.optimizer.lr = 1e-2;
        o.optimizer.weightDecay = 0.01;
        o.schedule.type = RunConfig.ScheduleType.CONSTANT;
        o.evalEachEpoch = false;
        o.tensorboard = false;
        o.plot = false;
        o.progress = Progress.Mode.QUIET;
        o.seed = 5;
        return o;
    }

    private static void assertSameWeights(Map<String, float[]> a, Map<String, float[]> b, float tol) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            if (tol == 0) assertArrayEquals(a.get(k), b.get(k), k);
            else assertArrayEquals(a.get(k), b.get(k), tol, k);
        }
    }

    @Test
    void learnsTheSyntheticTask() throws IOException {
        TrainerOptions o = options();
        o.maxSteps = 60;
        o.evalEverySteps = 60;
        try (Synthetic task = new Synthetic()) {
            double before = task.evaluate(task.manager).get("accuracy");
            Trainer.Result r = new Trainer(task, o).train();
            assertEquals(60, r.steps);
            assertTrue(r.lastEval.get("accuracy") >= 0.9 && r.lastEval.get("accuracy") > before + 0.2,
                    "accuracy " + before + " -> " + r.lastEval);
        }
    }

    @Test
    void accumulationEqualsOneBigBatch() throws IOException {
        // SGD: Adam would scale the rounding noise of gradients that are zero in exact arithmetic (the key
        // bias: softmax ignores it) up to lr-sized steps, hiding what is compared here
        TrainerOptions big = options();
        big.optimizer.type = "sgd";
        big.optimizer.lr = 0.1;
        TrainerOptions acc = options();
        acc.optimizer.type = "sgd";
        acc.optimizer.lr = 0.1;
        acc.batchSize = 2;
        acc.gradientAccumulationSteps = 4;
        Map<String, float[]> a, b;
        try (Synthetic t = new Synthetic()) {
            new Trainer(t, big).train();
            a = t.weights();
        }
        try (Synthetic t = new Synthetic()) {
            new Trainer(t, acc).train();
            b = t.weights();
        }
        // the same 8 examples per optimizer step, the loss normalised over all of them: fp32 rounding only
        assertSameWeights(a, b, 2e-5f);
    }

    @Test
    void clippingBoundsTheGlobalNormOfTheUpdate() throws IOException {
        TrainerOptions o = options();
        o.optimizer.type = "sgd";
        o.optimizer.momentum = 0;
        o.optimizer.weightDecay = 0;
        o.optimizer.lr = 1;
        o.maxGradNorm = 1e-3f;
        o.maxSteps = 1;
        List<Double> norms = new ArrayList<>();
        try (Synthetic t = new Synthetic()) {
            Map<String, float[]> before = t.weights();
            Trainer tr = new Trainer(t, o);
            tr.addListener(new Trainer.Listener() {
                @Override public void onStep(long step, int epoch, Trainer.StepStats s) { norms.add(s.gradNorm()); }
            });
            tr.train();
            Map<String, float[]> after = t.weights();
            double sq = 0;
            for (String k : before.keySet()) {
                float[] x = before.get(k), y = after.get(k);
                for (int i = 0; i < x.length; i++) sq += (double) (y[i] - x[i]) * (y[i] - x[i]);
            }
            // plain SGD with lr 1: the update is the clipped gradient, whose global norm is max_grad_norm
            assertTrue(norms.get(0) > 1e-2, "the raw norm is reported, and it is well above the threshold: " + norms);
            assertEquals(1e-3, Math.sqrt(sq), 1e-5);
        }
    }

    @Test
    void earlyStoppingAndBestFollowTheDevMetric() throws IOException {
        TrainerOptions o = options();
        o.maxSteps = 20;
        o.evalEverySteps = 2;
        o.earlyStoppingMetric = "accuracy";
        o.earlyStoppingPatience = 2;
        o.outputDir = tmp.resolve("run");
        o.keepLast = 2;
        o.checkpointEverySteps = 2;
        // evals at steps 2, 4, 6, 8: 0.6 at step 4 is the best; two evals without improvement stop the run at step 8
        Map<Long, Map<String, float[]>> atEval = new LinkedHashMap<>();
        try (Synthetic t = new Synthetic(0.5, 0.6, 0.55, 0.58, 0.9)) {
            Trainer tr = new Trainer(t, o);
            tr.addListener(new Trainer.Listener() {
                @Override public void onEval(long step, int epoch, Map<String, Double> metrics) { atEval.put(step, t.weights()); }
            });
            Trainer.Result r = tr.train();
            assertTrue(r.earlyStopped);
            assertEquals(8, r.steps);
            assertEquals(4, r.bestStep);
            assertEquals(0.6, r.bestEval.get("accuracy"), 0);
        }
        // best/ holds the weights of step 4; the last two checkpoints are kept, older ones rotated out
        Map<String, HostTensor> best = SafeTensors.readCheckpoint(o.outputDir.resolve("best"));
        for (var e : atEval.get(4L).entrySet()) assertArrayEquals(e.getValue(), best.get(e.getKey()).toFloats(), e.getKey());
        assertEquals(List.of("step-6", "step-8"), stepDirs(o.outputDir));
    }

    @Test
    void aRunKilledMidwayResumesToTheSameWeights() throws IOException {
        TrainerOptions o = options();
        o.checkpointEverySteps = 2;
        o.outputDir = tmp.resolve("whole");
        Map<String, float[]> whole;
        try (Synthetic t = new Synthetic()) {
            new Trainer(t, o).train();
            whole = t.weights();
        }
        TrainerOptions k = options();
        k.checkpointEverySteps = 2;
        k.outputDir = tmp.resolve("killed");
        try (Synthetic t = new Synthetic()) {
            Trainer tr = new Trainer(t, k);
            tr.addListener(new Trainer.Listener() {
                @Override public void onStep(long step, int epoch, Trainer.StepStats s) {
                    if (step == 3) throw new IllegalStateException("killed"); // after checkpoint 2, mid-way to 4
                }
            });
            assertThrows(IllegalStateException.class, tr::train);
        }
        assertEquals(List.of("step-2"), stepDirs(k.outputDir));
        try (Synthetic t = new Synthetic()) {
            Trainer.Result r = new Trainer(t, k).train(); // a fresh process: new task, new trainer
            assertEquals(6, r.steps);
            assertSameWeights(whole, t.weights(), 0);
        }
        assertFalse(Files.exists(k.outputDir.resolve("checkpoints/step-3")));
    }

    @Test
    void aListenerCanAskForAnEvaluationACheckpointAndAStop() throws IOException {
        TrainerOptions o = options();
        o.maxSteps = 12;
        o.outputDir = tmp.resolve("steered");
        o.checkpointEverySteps = 100; // no scheduled checkpoint, no scheduled evaluation
        List<Long> evalSteps = new ArrayList<>();
        // scripted dev accuracy: the evaluation asked for at step 2 is the best, so best/ must come from it
        try (Synthetic t = new Synthetic(0.7, 0.4)) {
            Trainer tr = new Trainer(t, o);
            Map<String, float[]>[] atTwo = new Map[1];
            tr.addListener(new Trainer.Listener() {
                Trainer.Control control;
                @Override public void bind(Trainer.Control c) { control = c; }
                @Override public void onStep(long step, int epoch, Trainer.StepStats s) {
                    if (step == 2) {
                        control.requestEvaluate();
                        atTwo[0] = t.weights();
                    }
                    if (step == 3) control.requestSave();
                    if (step == 5) control.requestEvaluate();
                }
                @Override public void onEval(long step, int epoch, Map<String, Double> metrics) {
                    evalSteps.add(step);
                    if (metrics.get("accuracy") < 0.5) control.requestStop("pruned at step " + step); // as a pruner does
                }
            });
            Trainer.Result r = tr.train();
            assertEquals(List.of(2L, 5L), evalSteps);
            assertEquals(5, r.steps, "the stop asked for in onEval at step 5 ends the run after that step");
            assertEquals("pruned at step 5", r.stoppedBy);
            assertFalse(r.earlyStopped);
            assertEquals(2, r.bestStep);
            Map<String, HostTensor> best = SafeTensors.readCheckpoint(o.outputDir.resolve("best"));
            for (var e : atTwo[0].entrySet()) assertArrayEquals(e.getValue(), best.get(e.getKey()).toFloats(), e.getKey());
        }
        // step 3: asked for; step 5: the stop checkpoints, so a stopped run ends as an early-stopped one does
        assertEquals(List.of("step-3", "step-5"), stepDirs(o.outputDir));
    }

    @Test
    void groupedAndTokenBudgetRunsResumeExactlyAcrossAnEpochBoundary() throws IOException {
        TrainerOptions grouped = options();
        grouped.groupByLength = true;
        TrainerOptions budget = options();
        budget.maxTokensPerBatch = 24; // 4..24 examples per micro-batch by declared length
        budget.gradientAccumulationSteps = 2;
        for (TrainerOptions o : List.of(grouped, budget)) {
            long spe = new Trainer(new Synthetic(), o).stepsPerEpoch();
            o.maxSteps = spe + 3; // into the second epoch
            o.checkpointEverySteps = spe + 1;
            o.outputDir = tmp.resolve("whole-" + o.maxTokensPerBatch);
            Map<String, float[]> whole;
            try (Synthetic t = new Synthetic()) {
                new Trainer(t, o).train();
                whole = t.weights();
            }
            o.outputDir = tmp.resolve("killed-" + o.maxTokensPerBatch);
            try (Synthetic t = new Synthetic()) {
                Trainer tr = new Trainer(t, o);
                tr.addListener(new Trainer.Listener() {
                    @Override public void onStep(long step, int epoch, Trainer.StepStats s) {
                        if (step == spe + 2) throw new IllegalStateException("killed");
                    }
                });
                assertThrows(IllegalStateException.class, tr::train);
            }
            try (Synthetic t = new Synthetic()) {
                Trainer.Result r = new Trainer(t, o).train();
                assertEquals(spe + 3, r.steps);
                assertSameWeights(whole, t.weights(), 0);
            }
        }
    }

    @Test
    void theScheduleCountsTheTokenBudgetBatchesActuallyMade() throws IOException {
        TrainerOptions o = options();
        o.maxSteps = -1;
        o.epochs = 2;
        o.maxTokensPerBatch = 18;
        o.gradientAccumulationSteps = 2;
        o.schedule.type = RunConfig.ScheduleType.LINEAR;
        List<Double> lrs = new ArrayList<>();
        try (Synthetic t = new Synthetic()) {
            Trainer tr = new Trainer(t, o);
            tr.addListener(new Trainer.Listener() {
                @Override public void onStep(long step, int epoch, Trainer.StepStats s) { lrs.add(s.lr()); }
            });
            Trainer.Result r = tr.train();
            // the micro-batches made, two to a step; with a budget they are not N / batch_size
            int micro = tr.plan().microBatchesPerEpoch();
            assertTrue(micro != (Synthetic.N + o.batchSize - 1) / o.batchSize, "budget batches differ from fixed ones");
            assertEquals(2L * ((micro + 1) / 2), r.steps);
            assertEquals(2 * micro, t.collated.size());
            int[] seen = new int[Synthetic.N];
            for (int[] b : t.collated) {
                int longest = 0;
                for (int i : b) { seen[i]++; longest = Math.max(longest, t.exampleLength(i)); }
                assertTrue(longest * b.length <= 18);
            }
            for (int c : seen) assertEquals(2, c, "each example once per epoch");
            // linear decay reaches its last value at the last step made: lr·(total−s)/total
            assertEquals(o.optimizer.lr / r.steps, lrs.get(lrs.size() - 1), 1e-9);
        }
    }

    private static List<String> stepDirs(Path run) throws IOException {
        List<String> out = new ArrayList<>();
        try (var s = Files.list(run.resolve("checkpoints"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.matches("step-\\d+")).sorted().forEach(out::add);
        }
        return out;
    }
}
