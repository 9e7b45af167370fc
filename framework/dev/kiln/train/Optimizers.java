package dev.kiln.train;

import dev.kiln.config.RunConfig;

import java.util.EnumMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The optimizers a run config can name, built from its {@code optimizer} section. A new optimizer is its
 * class, a {@link RunConfig.OptimizerType} constant (with any new hyperparameter in {@link RunConfig.Optimizer})
 * and one {@link #register} line here.
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

    private static final Map<RunConfig.OptimizerType, Entry> REGISTRY = new EnumMap<>(RunConfig.OptimizerType.class);

    static {
        // hyperparameters pass through float, as the trainer has always stepped with them
        register(RunConfig.OptimizerType.ADAMW, 2, (c, noDecay) -> new AdamW((float) c.betas[0], (float) c.betas[1],
                (float) c.eps, (float) c.weightDecay, noDecay));
        register(RunConfig.OptimizerType.SGD, 1, (c, noDecay) -> new Sgd((float) c.momentum, 0, c.nesterov,
                (float) c.weightDecay, noDecay));
    }

    public static void register(RunConfig.OptimizerType type, int statesPerWeight, Factory factory) {
        REGISTRY.put(type, new Entry(factory, statesPerWeight));
    }

    public static Entry get(RunConfig.OptimizerType type) {
        Entry e = REGISTRY.get(type);
        if (e == null) throw new IllegalArgumentException("optimizer " + type + " is not registered in " + Optimizers.class.getName());
        return e;
    }

    public static Optimizer create(RunConfig.Optimizer config, Predicate<String> noDecay) {
        return get(config.type).factory().create(config, noDecay);
    }
}
