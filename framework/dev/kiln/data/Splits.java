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
