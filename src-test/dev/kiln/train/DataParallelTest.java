package dev.kiln.train;

import dev.kiln.log.Progress;
import dev.kiln.config.RunConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data parallelism over N replicas on the CPU device (the production code path; only the device differs on GPUs):
 * N replicas trained on shards of each batch end where one replica trained on the whole batch ends, up to the order
 * of fp32 additions. The reference is the single-replica trainer, itself checked against one big batch in
 * {@link TrainerTest}.
 */
@ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class DataParallelTest {
    /**
     * fp32 tolerance on weights after 6 SGD steps at lr 0.1 (weights ~0.2): the gradients differ only in the order
     * of fp32 additions (~1e-7 relative). SGD, as in TrainerTest's accumulation test: Adam would scale the rounding
     * noise of gradients that are zero in exact arithmetic (BERT's key bias: softmax ignores it) up to lr-sized steps.
     */
    static final float TOL = 1e-6f; // measured: max 6e-8

    @TempDir
    Path tmp;

    private static TrainerOptions options() {
        TrainerOptions o = new TrainerOptions();
        o.maxSteps = 6;
        o.batchSize = 8;
        o.optimizer.type = "sgd";
        o.optimizer.lr = 0.1;
        o.optimizer.weightDecay = 0.01;
        o.schedule.type = RunConfig.ScheduleType.CONSTANT;
        o.evalEachEpoch = false;
        o.tensorboard = false;
        o.plot = false;
        o.progress = Progress.Mode.QUIET;
        o.seed = 5;
        return o;
    }

    /** Trains a Synthetic task on {@code n} replicas; returns replica 0's weights, checking the others equal them. */
    private static Map<String, float[]> train(int n, TrainerOptions o, List<Double> norms) throws IOException {
        List<TrainerTest.Synthetic> all = new ArrayList<>();
        try {
            for (int r = 0; r < n; r++) all.add(new TrainerTest.Synthetic());
            Trainer t = new Trainer(all.get(0), o).replicas(new ArrayList<>(all.subList(1, n)));
            t.addListener(new Trainer.Listener() {
                @Override public void onStep(long step, int epoch, Trainer.StepStats s) { norms.add(s.gradNorm()); }
            });
            t.train();
            Map<String, float[]> w = all.get(0).weights();
            for (int r = 1; r < n; r++) {
                assertEquals(all.get(0).bert.params.all().values().iterator().next().getDataType(),
                        all.get(r).bert.params.all().values().iterator().next().getDataType(), "replica " + r + " compute type");
                Map<String, float[]> wr = all.get(r).weights();
                for (String k : w.keySet()) assertArrayEquals(w.get(k), wr.get(k), 0f, "replica " + r + " " + k);
            }
            return w;
        } finally {
            for (TrainerTest.Synthetic s : all) s.close();
        }
    }

    private static TrainerOptions adamW(TrainerOptions o) {
        o.optimizer.type = "adamw";
        o.optimizer.lr = 1e-2;
        return o;
    }

    private static void assertClose(Map<String, float[]> a, Map<String, float[]> b, float tol) {
        assertEquals(a.keySet(), b.keySet());
        double max = 0;
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k), b.get(k), tol, k);
            for (int i = 0; i < a.get(k).length; i++) max = Math.max(max, Math.abs(a.get(k)[i] - b.get(k)[i]));
        }
        System.out.printf("data parallel: max |weight difference| %.2e (tolerance %.0e)%n", max, tol);
    }

    @Test
    void splitIsContiguousAndEven() {
        int[] idx = {9, 4, 7, 1, 3, 8, 2, 0};
        int[][] s = DataParallel.split(idx, 3);
        assertArrayEquals(new int[] {9, 4, 7}, s[0]);
        assertArrayEquals(new int[] {1, 3, 8}, s[1]);
        assertArrayEquals(new int[] {2, 0}, s[2]);
        int[][] few = DataParallel.split(new int[] {5}, 2);
        assertArrayEquals(new int[] {5}, few[0]);
        assertEquals(0, few[1].length);
    }

    @Test
    void twoAndThreeReplicasEqualOneOnTheWholeBatch() throws IOException {
        List<Double> n1 = new ArrayList<>(), n2 = new ArrayList<>(), n3 = new ArrayList<>();
        Map<String, float[]> one = train(1, options(), n1);
        Map<String, float[]> two = train(2, options(), n2);
        Map<String, float[]> three = train(3, options(), n3); // 8 examples: shards of 3, 3 and 2
        assertClose(one, two, TOL);
        assertClose(one, three, TOL);
        // the reported norm is that of the reduced gradient, i.e. the whole batch's
        for (int i = 0; i < n1.size(); i++) {
            assertEquals(n1.get(i), n2.get(i), 1e-5 * n1.get(i));
            assertEquals(n1.get(i), n3.get(i), 1e-5 * n1.get(i));
        }
    }

    @Test
    void withAccumulationAndClippingToo() throws IOException {
        TrainerOptions o = options();
        o.batchSize = 5; // 5 examples per micro-batch over 3 replicas: 2, 2, 1
        o.gradientAccumulationSteps = 2;
        o.maxGradNorm = 0.05f;
        List<Double> n1 = new ArrayList<>(), n3 = new ArrayList<>();
        Map<String, float[]> one = train(1, o, n1);
        Map<String, float[]> three = train(3, o, n3);
        assertTrue(n1.stream().allMatch(x -> x > 0.05), "clipping active on every step: " + n1);
        assertClose(one, three, TOL);
    }

    @Test
    void aKilledTwoReplicaRunResumesToTheUninterruptedWeights() throws IOException {
        TrainerOptions o = adamW(options()); // optimizer moments are part of what must resume
        TrainerOptions k = adamW(options());
        o.checkpointEverySteps = 2;
        o.outputDir = tmp.resolve("whole");
        Map<String, float[]> whole = train(2, o, new ArrayList<>());
        k.checkpointEverySteps = 2;
        k.outputDir = tmp.resolve("killed");
        try (TrainerTest.Synthetic a = new TrainerTest.Synthetic(); TrainerTest.Synthetic b = new TrainerTest.Synthetic()) {
            Trainer tr = new Trainer(a, k).replicas(List.of(b));
            tr.addListener(new Trainer.Listener() {
                @Override public void onStep(long step, int epoch, Trainer.StepStats s) {
                    if (step == 3) throw new IllegalStateException("killed");
                }
            });
            assertThrows(IllegalStateException.class, tr::train);
        }
        // a fresh process: new replicas, the other one starting from its own (untrained) weights
        Map<String, float[]> resumed = train(2, k, new ArrayList<>());
        assertClose(whole, resumed, 0f);
    }

    @Test
    void fp16MixedReplicasComputeInFp16AndStayInStep() throws IOException {
        // fp16 kernels run on the CPU too (slowly): the replica mechanics are device-independent
        TrainerOptions o = options();
        o.precision.mode = RunConfig.PrecisionMode.FP16_MIXED;
        o.maxSteps = 3;
        List<Double> n1 = new ArrayList<>(), n2 = new ArrayList<>();
        Map<String, float[]> one = train(1, o, n1);
        Map<String, float[]> two = train(2, o, n2);
        // fp16 gradients carry ~3 significant digits and the shards sum them in other groupings than the whole batch:
        // the runs agree to 2 fp16 ulps of the weight plus 2% of the largest move in its tensor (a small gradient built
        // from cancellation, like a query bias's, keeps fewer of its own digits)
        Map<String, float[]> init;
        try (TrainerTest.Synthetic t = new TrainerTest.Synthetic()) {
            init = t.weights();
        }
        double worst = 0;
        for (String k : one.keySet()) {
            if (k.endsWith("attention.self.key.bias")) continue; // its gradient is 0 in exact arithmetic: rounding noise only
            float[] a = one.get(k), b = two.get(k), w0 = init.get(k);
            double moved = 0;
            for (int i = 0; i < a.length; i++) moved = Math.max(moved, Math.abs(a[i] - w0[i]));
            for (int i = 0; i < a.length; i++) {
                double ulp16 = Math.ulp(Math.max(Math.abs(a[i]), 6.1e-5f)) * (1 << 13); // fp32 ulp·2^13 = fp16 ulp
                double tol = 2 * ulp16 + 0.02 * moved;
                worst = Math.max(worst, Math.abs(a[i] - b[i]) / tol);
                assertTrue(Math.abs(a[i] - b[i]) <= tol, k + "[" + i + "]: " + a[i] + " vs " + b[i] + " (from " + w0[i] + ")");
            }
        }
        System.out.printf("fp16-mixed, 2 replicas: worst difference %.2f of the tolerance%n", worst);
        assertEquals(n1.size(), n2.size());
    }

    @Test
    void aTwoReplicaCheckpointResumesOnOneReplica() throws IOException {
        TrainerOptions o = options();
        o.checkpointEverySteps = 2;
        o.outputDir = tmp.resolve("whole");
        Map<String, float[]> whole = train(1, o, new ArrayList<>());
        TrainerOptions k = options();
        k.checkpointEverySteps = 2;
        k.outputDir = tmp.resolve("moved");
        k.maxSteps = 4;
        train(2, k, new ArrayList<>()); // checkpoints at 2 and 4 on two replicas
        k.maxSteps = 6;
        Map<String, float[]> resumed = train(1, k, new ArrayList<>()); // steps 5 and 6 on one
        assertClose(whole, resumed, TOL);
    }
}
