package dev.kiln.train;

import dev.kiln.config.NameRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.config.Suggest;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The optimizers a run config can name, built from its {@code optimizer} section. A new optimizer is its
 * class and one {@link #register} line here: the name is what {@code optimizer.type} accepts, since the config
 * validates that key against the names published through {@link Names} (with any new hyperparameter a field of
 * {@link RunConfig.Optimizer}).
 */
public final class Optimizers {
    private Optimizers() {}

    /** Builds an optimizer; {@code noDecay} names the parameters weight decay skips. */
    @FunctionalInterface
    public interface Factory {
        Optimizer create(RunConfig.Optimizer config, Predicate<String> noDecay);
    }

    /** A registered optimizer: how it is built and how many fp32 state tensors it keeps per weight (for disk checks). */
    public record Entry(Factory factory, int statesPerWeight) {}

    private static final Map<String, Entry> REGISTRY = new LinkedHashMap<>();

    static {
        // hyperparameters pass through float, as the trainer has always stepped with them
        register("adamw", 2, (c, noDecay) -> new AdamW((float) c.betas[0], (float) c.betas[1],
                (float) c.eps, (float) c.weightDecay, noDecay));
        register("sgd", 1, (c, noDecay) -> new Sgd((float) c.momentum, 0, c.nesterov,
                (float) c.weightDecay, noDecay));
    }

    /** Registers (or replaces) the optimizer {@code optimizer.type} names {@code name}. */
    public static synchronized void register(String name, int statesPerWeight, Factory factory) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("optimizer name must be non-empty");
        REGISTRY.put(name, new Entry(factory, statesPerWeight));
    }

    /** Removes a registration (for tests that register their own). */
    static synchronized void unregister(String name) {
        REGISTRY.remove(name);
    }

    /** The registered names, in registration order. */
    public static synchronized List<String> names() {
        return List.copyOf(REGISTRY.keySet());
    }

    public static synchronized Entry get(String name) {
        Entry e = REGISTRY.get(name);
        if (e == null) {
            // the config refuses such a name; this is for a RunConfig.Optimizer built in code
            throw new IllegalArgumentException("optimizer \"" + name + "\" is not registered in " + Optimizers.class.getName()
                    + Suggest.didYouMean(Suggest.similar(name, REGISTRY.keySet())) + "; registered: "
                    + Suggest.quotedList(names(), ", "));
        }
        return e;
    }

    public static Optimizer create(RunConfig.Optimizer config, Predicate<String> noDecay) {
        return get(config.type).factory().create(config, noDecay);
    }

    /** Publishes the registered names to the config, which validates {@code optimizer.type} against them. */
    public static final class Names implements NameRegistry {
        @Override public String kind() { return "optimizer"; }

        @Override public List<String> names() { return Optimizers.names(); }
    }
}
