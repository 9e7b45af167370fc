package dev.kiln.train;

import java.util.Collection;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which parameters train, by strategy, on HF names (Kiln keeps the {@code bert.}/{@code transformer.}
 * prefixes even when a checkpoint lacks them):
 * {@code none}; {@code embeddings} (names with {@code embeddings.}, {@code wte}, {@code wpe});
 * {@code bottom:N} (embeddings plus layers {@code encoder.layer.K.} / {@code h.K.} with K &lt; N);
 * {@code all-but-head} (everything under {@code bert.} / {@code transformer.}).
 */
public final class Freeze {
    public static final String ALLOWED = "none, embeddings, bottom:N (0 <= N <= number of layers), all-but-head";
    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:encoder\\.layer|h)\\.(\\d+)\\.");

    private Freeze() {}

    /** True for parameters that train under {@code strategy}. */
    public static Predicate<String> trainable(String strategy, int numLayers) {
        return frozen(strategy, numLayers).negate();
    }

    /** True for parameters that {@code strategy} freezes. */
    public static Predicate<String> frozen(String strategy, int numLayers) {
        String s = strategy == null ? "" : strategy.trim().toLowerCase(Locale.ROOT);
        if (s.equals("none")) return n -> false;
        if (s.equals("embeddings")) return Freeze::isEmbedding;
        if (s.equals("all-but-head")) return n -> n.startsWith("bert.") || n.startsWith("transformer.");
        if (s.startsWith("bottom:")) {
            int n;
            try {
                n = Integer.parseInt(s.substring("bottom:".length()).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("freeze strategy '" + strategy + "': N in bottom:N must be an integer (allowed: " + ALLOWED + ")");
            }
            if (n < 0 || n > numLayers) {
                throw new IllegalArgumentException("freeze strategy '" + strategy + "': the model has " + numLayers
                        + " layers, so N must be in 0.." + numLayers);
            }
            return name -> {
                if (isEmbedding(name)) return true;
                int k = layerIndex(name);
                return k >= 0 && k < n;
            };
        }
        throw new IllegalArgumentException("unknown freeze strategy '" + strategy + "' (allowed: " + ALLOWED + ")");
    }

    public static boolean isEmbedding(String name) {
        if (name.contains("embeddings.")) return true;
        for (String seg : name.split("\\.")) if (seg.equals("wte") || seg.equals("wpe")) return true;
        return false;
    }

    /** K of {@code encoder.layer.K.} or {@code h.K.}, or -1. */
    public static int layerIndex(String name) {
        Matcher m = LAYER.matcher(name);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
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
