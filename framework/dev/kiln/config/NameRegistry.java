package dev.kiln.config;

import java.util.List;

/**
 * A registry above this package that publishes the names a config key may take, so a new entry is one
 * registration there and the config still validates it with did-you-mean ({@link Rules.Registered}). Found
 * with {@link java.util.ServiceLoader} ({@code META-INF/services/dev.kiln.config.NameRegistry}); the
 * framework's one implementation is the trainer's optimizers ({@code dev.kiln.train.Optimizers}), which this
 * package, below the trainer, cannot name.
 */
public interface NameRegistry {
    /** What the names are of, as a {@link Rules.Registered} field names it (e.g. "optimizer"). */
    String kind();

    /** The registered names, in registration order (the order the error lists them). */
    List<String> names();
}
