package dev.kiln.train;

import dev.kiln.models.Backbone;
import dev.kiln.nn.Module;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Which parameters train, by strategy, read off the model's module tree (the model names its parts, so no
 * parameter name is matched): {@code none}; {@code embeddings} (the {@link Backbone#embeddingModules()});
 * {@code bottom:N} (embeddings plus the lowest N of {@link Backbone#layerModules()});
 * {@code all-but-head} (the whole {@link Backbone#body()}: everything but the heads beside it).
 */
public final class Freeze {
    public static final String ALLOWED = "none, embeddings, bottom:N (0 <= N <= number of layers), all-but-head";

    private Freeze() {}

    /** True for parameters that train under {@code strategy}. */
    public static Predicate<String> trainable(String strategy, Backbone model) {
        Set<String> frozen = frozen(strategy, model);
        return name -> !frozen.contains(name);
    }

    /** The keys of the parameters that {@code strategy} freezes, in the model's order. */
    public static Set<String> frozen(String strategy, Backbone model) {
        Set<String> out = new LinkedHashSet<>();
        for (Module m : frozenModules(strategy, model)) out.addAll(m.parameterKeys());
        return out;
    }

    /** The subtrees {@code strategy} freezes. */
    public static List<Module> frozenModules(String strategy, Backbone model) {
        String s = strategy == null ? "" : strategy.trim().toLowerCase(Locale.ROOT);
        if (s.equals("none")) return List.of();
        if (s.equals("embeddings")) return List.copyOf(model.embeddingModules());
        if (s.equals("all-but-head")) return List.of(model.body());
        if (s.startsWith("bottom:")) {
            int n;
            try {
                n = Integer.parseInt(s.substring("bottom:".length()).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("freeze strategy '" + strategy + "': N in bottom:N must be an integer (allowed: " + ALLOWED + ")");
            }
            List<? extends Module> layers = model.layerModules();
            if (n < 0 || n > layers.size()) {
                throw new IllegalArgumentException("freeze strategy '" + strategy + "': the model has " + layers.size()
                        + " layers, so N must be in 0.." + layers.size());
            }
            List<Module> out = new java.util.ArrayList<>(model.embeddingModules());
            out.addAll(layers.subList(0, n));
            return out;
        }
        throw new IllegalArgumentException("unknown freeze strategy '" + strategy + "' (allowed: " + ALLOWED + ")");
    }

    /**
     * Fails when nothing would train, naming the strategy (e.g. all-but-head on a GPT-2 LM, whose
     * head is tied to {@code transformer.wte}).
     */
    public static void requireTrainable(Collection<String> names, Predicate<String> trainable, String strategy) {
        for (String n : names) if (trainable.test(n)) return;
        throw new IllegalArgumentException("freeze strategy '" + strategy + "' leaves no trainable parameters among "
                + names.size() + " (a tied LM head, like GPT-2's, is the embedding matrix itself)");
    }
}
