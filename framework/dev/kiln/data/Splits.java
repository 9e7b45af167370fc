package dev.kiln.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;

/** Deterministic, stratified train/dev splits, for datasets that ship without a dev set (MR, TREC). */
public final class Splits {
    private Splits() {}

    /** Both parts keep the input order, so the result does not depend on how strata are iterated. */
    public record Split<T>(List<T> train, List<T> dev) {}

    /** Holds out about {@code fraction} of each label for dev. The same input, fraction and seed give the same split. */
    public static Split<LabelledText> devSplit(List<LabelledText> examples, double fraction, long seed) {
        return stratified(examples, LabelledText::label, fraction, seed);
    }

    /** A three-way split; each part keeps the input order. */
    public record Split3<T>(List<T> train, List<T> dev, List<T> test) {}

    /**
     * Splits examples (not strata: summarization and language data have no labels) into train, dev and
     * test: a seeded shuffle puts {@code round(n * testFraction)} items in test, the next
     * {@code round(n * devFraction)} in dev and the rest in train. A fraction of 0 leaves that part empty.
     * The same items, fractions and seed give the same split on any JVM ({@link Random} is specified).
     */
    public static <T> Split3<T> byExample(List<T> items, double devFraction, double testFraction, long seed) {
        if (devFraction < 0 || testFraction < 0 || devFraction + testFraction >= 1) {
            throw new IllegalArgumentException("dev and test fractions must be >= 0 and leave training data (got "
                    + devFraction + " and " + testFraction + ")");
        }
        int n = items.size();
        int nTest = (int) Math.round(n * testFraction);
        int nDev = (int) Math.round(n * devFraction);
        if (nTest + nDev >= n) throw new IllegalArgumentException(n + " examples are too few for a " + devFraction
                + " dev and " + testFraction + " test split");
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + 0x5851F42D4C957F2DL);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        byte[] part = new byte[n]; // 0 train, 1 dev, 2 test
        for (int i = 0; i < nTest; i++) part[order[i]] = 2;
        for (int i = nTest; i < nTest + nDev; i++) part[order[i]] = 1;
        List<T> train = new ArrayList<>();
        List<T> dev = new ArrayList<>();
        List<T> test = new ArrayList<>();
        for (int i = 0; i < n; i++) (part[i] == 0 ? train : part[i] == 1 ? dev : test).add(items.get(i));
        return new Split3<>(train, dev, test);
    }

    /**
     * Holds out {@code round(n * fraction)} items of each stratum (n = its size), chosen by a seeded shuffle.
     * A stratum always keeps at least one item in train, so every dev label is also a training label.
     * {@link Random} is used because its sequence is fixed by its specification, so splits agree across JVMs;
     * each stratum gets its own generator so adding a class does not reshuffle the others.
     */
    public static <T> Split<T> stratified(List<T> items, Function<? super T, String> stratum, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("dev fraction must be between 0 and 1 (exclusive), got " + fraction
                    + "; set data.dev_fraction");
        }
        Map<String, List<Integer>> groups = new TreeMap<>();
        for (int i = 0; i < items.size(); i++) {
            groups.computeIfAbsent(stratum.apply(items.get(i)), k -> new ArrayList<>()).add(i);
        }
        boolean[] dev = new boolean[items.size()];
        for (Map.Entry<String, List<Integer>> g : groups.entrySet()) {
            List<Integer> idx = g.getValue();
            int n = idx.size();
            int k = (int) Math.min(Math.round(n * fraction), n - 1);
            Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + g.getKey().hashCode());
            // Partial Fisher-Yates: the first k slots become a uniform sample.
            for (int i = 0; i < k; i++) {
                int j = i + rnd.nextInt(n - i);
                Integer t = idx.get(i);
                idx.set(i, idx.get(j));
                idx.set(j, t);
                dev[idx.get(i)] = true;
            }
        }
        List<T> train = new ArrayList<>();
        List<T> held = new ArrayList<>();
        for (int i = 0; i < dev.length; i++) (dev[i] ? held : train).add(items.get(i));
        return new Split<>(train, held);
    }
}
