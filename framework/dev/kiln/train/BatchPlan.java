package dev.kiln.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Which examples form each micro-batch of an epoch: a pure function of (seed, epoch, example lengths), so a
 * resumed run rebuilds the exact batches of the step it stopped at.
 *
 * <ul>
 * <li>plain: consecutive slices of {@code batchSize} from the epoch's permutation;</li>
 * <li>{@code group_by_length}: HF's {@code LengthGroupedSampler} (get_length_grouped_indices): the permutation
 * cut into mega-batches of {@code min(n / (4·perStep), 50)·perStep} examples (perStep = batch size times
 * accumulation steps), each sorted longest first, and the longest example of all swapped to the front so an
 * out-of-memory shows at step 1; then consecutive slices as plain;</li>
 * <li>{@code max_tokens_per_batch}: fairseq's batch_by_size: examples sorted by length (ties in the epoch's
 * random order), packed greedily while {@code count·longest <= budget}, the batches shuffled by (seed, epoch)
 * and the one with the most padded tokens put first. The batch count depends on the lengths only, so every
 * epoch has the same number of steps and the LR schedule counts the batches actually made.</li>
 * </ul>
 */
public final class BatchPlan {
    private final long seed;
    private final int n;
    private final int batchSize;
    private final int accumulation;
    private final boolean groupByLength;
    private final int maxTokens;
    private final int[] lengths;
    private final int microPerEpoch;

    /**
     * {@code lengths}: each training example's length in tokens; needed (not null) only for grouping or a token
     * budget. {@code maxTokens} 0: fixed batches of {@code batchSize}.
     */
    public BatchPlan(long seed, int n, int batchSize, int accumulation, boolean groupByLength, int maxTokens, int[] lengths) {
        if (batchSize < 1 || accumulation < 1) throw new IllegalArgumentException("batch size and accumulation steps must be at least 1");
        if ((groupByLength || maxTokens > 0) && (lengths == null || lengths.length != n)) {
            throw new IllegalArgumentException("grouping by length needs the length of each of the " + n + " examples");
        }
        if (groupByLength && maxTokens > 0) {
            throw new IllegalArgumentException("\"training.group_by_length\" and \"training.max_tokens_per_batch\" are both set; "
                    + "use one (a token budget already batches examples of similar length)");
        }
        this.seed = seed;
        this.n = n;
        this.batchSize = batchSize;
        this.accumulation = accumulation;
        this.groupByLength = groupByLength;
        this.maxTokens = maxTokens;
        this.lengths = lengths;
        if (maxTokens > 0) {
            for (int i = 0; i < n; i++) {
                if (lengths[i] > maxTokens) {
                    throw new IllegalArgumentException("\"training.max_tokens_per_batch\" is " + maxTokens + " but training example "
                            + i + " has " + lengths[i] + " tokens; raise the budget to at least the longest example (or lower data.max_length)");
                }
            }
            this.microPerEpoch = pack(sortedByLength(Trainer.epochOrder(seed, 0, n))).size();
        } else {
            this.microPerEpoch = (n + batchSize - 1) / batchSize;
        }
    }

    /** Micro-batches per epoch (at least 1 for a non-empty set). */
    public int microBatchesPerEpoch() {
        return microPerEpoch;
    }

    /** Optimizer steps per epoch: the micro-batches made, {@code accumulation} to a step, the last step possibly short. */
    public long stepsPerEpoch() {
        return Math.max(1, (microPerEpoch + accumulation - 1) / accumulation);
    }

    /** The micro-batches of {@code epoch}, in training order. */
    public List<int[]> epoch(int epoch) {
        int[] perm = Trainer.epochOrder(seed, epoch, n);
        if (maxTokens > 0) {
            List<int[]> batches = pack(sortedByLength(perm));
            shuffle(batches, new SplittableRandom((seed * 1_000_003L + epoch) ^ 0x5DEECE66DL));
            int big = 0;
            for (int b = 1; b < batches.size(); b++) if (padded(batches.get(b)) > padded(batches.get(big))) big = b;
            if (big != 0) batches.set(0, batches.set(big, batches.get(0)));
            return batches;
        }
        int[] order = groupByLength ? lengthGrouped(perm, lengths, batchSize * accumulation) : perm;
        List<int[]> out = new ArrayList<>(microPerEpoch);
        for (int i = 0; i < n; i += batchSize) out.add(Arrays.copyOfRange(order, i, Math.min(n, i + batchSize)));
        return out;
    }

    /** The micro-batches of step {@code stepInEpoch} (0-based) of the epoch whose batches are {@code epochBatches}. */
    public List<int[]> step(List<int[]> epochBatches, long stepInEpoch) {
        int from = (int) (stepInEpoch * accumulation);
        return epochBatches.subList(Math.min(from, epochBatches.size()), Math.min(epochBatches.size(), from + accumulation));
    }

    /** HF's get_length_grouped_indices over the permutation {@code perm}, with {@code perStep} examples to an optimizer step. */
    public static int[] lengthGrouped(int[] perm, int[] lengths, int perStep) {
        int n = perm.length;
        int mult = Math.min(n / (perStep * 4), 50);
        int mega = Math.max(1, mult) * perStep;
        Integer[] boxed = new Integer[n];
        for (int i = 0; i < n; i++) boxed[i] = perm[i];
        int best = 0; // start of the mega-batch whose longest example is the longest of all
        for (int from = 0; from < n; from += mega) {
            int to = Math.min(n, from + mega);
            // stable: equal lengths keep their random order (Python's sorted is stable too)
            Arrays.sort(boxed, from, to, (a, b) -> Integer.compare(lengths[b], lengths[a]));
            if (lengths[boxed[from]] > lengths[boxed[best]]) best = from;
        }
        Integer t = boxed[0];
        boxed[0] = boxed[best];
        boxed[best] = t;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = boxed[i];
        return out;
    }

    private int[] sortedByLength(int[] perm) {
        Integer[] boxed = new Integer[perm.length];
        for (int i = 0; i < perm.length; i++) boxed[i] = perm[i];
        Arrays.sort(boxed, (a, b) -> Integer.compare(lengths[a], lengths[b]));
        int[] out = new int[perm.length];
        for (int i = 0; i < out.length; i++) out[i] = boxed[i];
        return out;
    }

    /** Greedy packing of length-sorted examples under the padded-token budget (fairseq's batch_by_size). */
    private List<int[]> pack(int[] sorted) {
        List<int[]> out = new ArrayList<>();
        int start = 0, longest = 0;
        for (int i = 0; i < sorted.length; i++) {
            int len = lengths[sorted[i]];
            int count = i - start + 1;
            if (count > 1 && (long) Math.max(longest, len) * count > maxTokens) {
                out.add(Arrays.copyOfRange(sorted, start, i));
                start = i;
                longest = 0;
            }
            longest = Math.max(longest, len);
        }
        if (start < sorted.length) out.add(Arrays.copyOfRange(sorted, start, sorted.length));
        return out;
    }

    private long padded(int[] batch) {
        int longest = 0;
        for (int i : batch) longest = Math.max(longest, lengths[i]);
        return (long) longest * batch.length;
    }

    private static void shuffle(List<int[]> xs, SplittableRandom r) {
        for (int i = xs.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            xs.set(i, xs.set(j, xs.get(i)));
        }
    }
}
