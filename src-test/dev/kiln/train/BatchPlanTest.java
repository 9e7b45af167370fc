package dev.kiln.train;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batch plans against HF's LengthGroupedSampler and fairseq's batch_by_size semantics. */
class BatchPlanTest {
    static final int N = 1000;

    /** Lengths like real sentences: mostly short, a long tail (5..120). */
    static int[] lengths(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] l = new int[N];
        for (int i = 0; i < N; i++) l[i] = 5 + (int) Math.min(115, -Math.log(1 - r.nextDouble()) * 20);
        return l;
    }

    static int[] flatten(List<int[]> batches) {
        return batches.stream().flatMapToInt(Arrays::stream).toArray();
    }

    static long padded(List<int[]> batches, int[] len) {
        long p = 0;
        for (int[] b : batches) p += (long) b.length * Arrays.stream(b).map(i -> len[i]).max().orElse(0);
        return p;
    }

    static void assertPartition(List<int[]> batches) {
        int[] all = flatten(batches);
        Arrays.sort(all);
        int[] want = new int[N];
        for (int i = 0; i < N; i++) want[i] = i;
        assertArrayEquals(want, all, "every example exactly once per epoch");
    }

    @Test
    void groupedOrderIsHfsMegaBatchesSortedLongestFirst() {
        int[] len = lengths(3);
        int bs = 4, acc = 2; // HF groups by train_batch_size × accumulation
        BatchPlan plan = new BatchPlan(9, N, bs, acc, true, 0, len);
        List<int[]> e1 = plan.epoch(1);
        assertPartition(e1);
        assertEquals(250, e1.size());
        assertEquals(125, plan.stepsPerEpoch());
        // HF: mega = min(1000 // (8·4), 50) · 8 = 31 · 8 = 248 examples, from the same random permutation
        int[] perm = Trainer.epochOrder(9, 1, N);
        List<List<Integer>> megas = new ArrayList<>();
        for (int from = 0; from < N; from += 248) {
            List<Integer> m = new ArrayList<>();
            for (int i = from; i < Math.min(N, from + 248); i++) m.add(perm[i]);
            m.sort(Comparator.comparingInt((Integer i) -> len[i]).reversed());
            megas.add(m);
        }
        int argmax = 0;
        for (int k = 1; k < megas.size(); k++) if (len[megas.get(k).get(0)] > len[megas.get(argmax).get(0)]) argmax = k;
        Integer first = megas.get(0).get(0);
        megas.get(0).set(0, megas.get(argmax).get(0));
        megas.get(argmax).set(0, first);
        int[] want = megas.stream().flatMap(List::stream).mapToInt(Integer::intValue).toArray();
        assertArrayEquals(want, flatten(e1));
        assertEquals(Arrays.stream(len).max().getAsInt(), len[e1.get(0)[0]], "the longest example is in step 1");
        // a pure function of (seed, epoch); another epoch is another order
        assertArrayEquals(want, flatten(new BatchPlan(9, N, bs, acc, true, 0, len).epoch(1)));
        assertFalse(Arrays.equals(want, flatten(plan.epoch(2))));
    }

    @Test
    void groupingCutsPaddingOnRealisticLengths() {
        int[] len = lengths(5);
        long plain = padded(new BatchPlan(1, N, 32, 1, false, 0, len).epoch(0), len);
        long grouped = padded(new BatchPlan(1, N, 32, 1, true, 0, len).epoch(0), len);
        long real = Arrays.stream(len).sum();
        // random batches of 32 pad to about the longest of 32 draws (3.5x the real tokens here); sorted mega-batches
        // of 7 batches to 1.4x (the long tail still shares the first batch of each mega-batch)
        assertTrue(grouped < 0.6 * plain, "grouped " + grouped + " vs plain " + plain);
        assertTrue(grouped < 1.5 * real, "grouped " + grouped + " vs real " + real);
        System.out.println("padded tokens per real token: plain " + plain / (double) real + ", grouped " + grouped / (double) real);
    }

    @Test
    void tokenBudgetBatchesStayUnderTheBudgetWithAFixedCount() {
        int[] len = lengths(7);
        int budget = 1024;
        BatchPlan plan = new BatchPlan(4, N, 32, 3, false, budget, len);
        List<int[]> e0 = plan.epoch(0), e1 = plan.epoch(1);
        for (List<int[]> e : List.of(e0, e1)) {
            assertPartition(e);
            assertEquals(plan.microBatchesPerEpoch(), e.size(), "the same count every epoch: the schedule's total holds");
            for (int[] b : e) {
                int longest = Arrays.stream(b).map(i -> len[i]).max().getAsInt();
                assertTrue((long) longest * b.length <= budget, "batch of " + b.length + " × " + longest);
            }
            long first = padded(e.subList(0, 1), len);
            for (int[] b : e) assertTrue(padded(List.of(b), len) <= first, "the biggest batch runs first");
        }
        assertEquals((plan.microBatchesPerEpoch() + 2) / 3, plan.stepsPerEpoch());
        assertFalse(Arrays.equals(flatten(e0), flatten(e1)), "batches are reshuffled each epoch");
        // greedy packing of sorted lengths fills the budget well: padding is small, batches are large
        assertTrue(padded(e0, len) < 1.1 * Arrays.stream(len).sum());
        assertTrue(plan.microBatchesPerEpoch() < 1.15 * Arrays.stream(len).sum() / budget + 5);
        // the last step of the epoch holds the remainder of the micro-batches
        long last = plan.stepsPerEpoch() - 1;
        assertEquals(plan.microBatchesPerEpoch() - 3 * last, plan.step(e0, last).size());
    }

    @Test
    void anExampleOverTheBudgetAndConflictingSettingsAreRefusedByName() {
        int[] len = lengths(7);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BatchPlan(1, N, 8, 1, false, 64, len));
        assertTrue(e.getMessage().contains("training.max_tokens_per_batch") && e.getMessage().contains("tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new BatchPlan(1, N, 8, 1, true, 4096, len));
        assertTrue(e.getMessage().contains("training.group_by_length") && e.getMessage().contains("training.max_tokens_per_batch"));
    }

    @Test
    void plainBatchesAreConsecutiveSlicesOfTheEpochPermutation() {
        BatchPlan plan = new BatchPlan(2, N, 32, 4, false, 0, null);
        assertEquals(32, plan.microBatchesPerEpoch());
        assertEquals(8, plan.stepsPerEpoch());
        assertArrayEquals(Trainer.epochOrder(2, 3, N), flatten(plan.epoch(3)));
        assertEquals(1000 - 31 * 32, plan.epoch(0).get(31).length);
    }
}
