package dev.kiln.inference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * Inference batching shared by the predictors: inputs sorted by length (longest first, so an out-of-memory
 * shows on the first batch) and cut into batches, so each batch pads to nearly its own rows' length; results
 * come back in input order. Padding does not change a row's result (masked attention), only its cost: on
 * sentences of mixed length random batches compute 2-3 times the real tokens.
 */
public final class LengthBatches {
    private LengthBatches() {}

    /** The default inference batch size. */
    public static final int DEFAULT_SIZE = 32;

    private static final ThreadLocal<Integer> OVERRIDE = new ThreadLocal<>();

    /**
     * The batch size a predictor uses on this thread: the one {@link #withSize} set (the CLI's {@code --batch-size}),
     * else {@code dflt} (the predictor's own, e.g. the run's eval batch size). Predictions do not depend on it.
     */
    public static int size(int dflt) {
        Integer n = OVERRIDE.get();
        return n != null ? n : dflt;
    }

    /** Sets {@link #size}'s answer on this thread until the scope closes (scopes nest). */
    public static Scope withSize(int n) {
        if (n < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + n);
        Integer before = OVERRIDE.get();
        OVERRIDE.set(n);
        return () -> {
            if (before == null) OVERRIDE.remove();
            else OVERRIDE.set(before);
        };
    }

    /** A {@link #withSize} scope; closing it throws nothing. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /** Input positions ordered longest first; equal lengths keep input order. */
    public static int[] order(int[] lengths) {
        Integer[] boxed = new Integer[lengths.length];
        for (int i = 0; i < boxed.length; i++) boxed[i] = i;
        Arrays.sort(boxed, Comparator.comparingInt((Integer i) -> -lengths[i]));
        int[] out = new int[boxed.length];
        for (int i = 0; i < out.length; i++) out[i] = boxed[i];
        return out;
    }

    /** Batches of input positions: {@link #order} cut into runs of at most {@code batchSize} (unsorted when {@code sort} is false). */
    public static List<int[]> batches(int[] lengths, int batchSize, boolean sort) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        int n = lengths.length;
        int[] order = sort ? order(lengths) : java.util.stream.IntStream.range(0, n).toArray();
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i += batchSize) out.add(Arrays.copyOfRange(order, i, Math.min(n, i + batchSize)));
        return out;
    }

    /**
     * {@code fn} over length-sorted batches of {@code items}; {@code fn} returns one result per item of its batch,
     * in the batch's order. The results come back in input order.
     */
    public static <T, R> List<R> map(List<T> items, int[] lengths, int batchSize, Function<List<T>, List<R>> fn) {
        if (lengths.length != items.size()) throw new IllegalArgumentException(items.size() + " items but " + lengths.length + " lengths");
        List<R> out = new ArrayList<>(java.util.Collections.nCopies(items.size(), (R) null));
        for (int[] b : batches(lengths, batchSize, true)) {
            List<T> batch = new ArrayList<>(b.length);
            for (int i : b) batch.add(items.get(i));
            List<R> got = fn.apply(batch);
            if (got.size() != b.length) throw new IllegalStateException("a batch of " + b.length + " gave " + got.size() + " results");
            for (int k = 0; k < b.length; k++) out.set(b[k], got.get(k));
        }
        return out;
    }
}
