package dev.kiln.config;

/**
 * Registers the task types a config may name ({@link ConfigRegistry#registerTask}); found with
 * {@link java.util.ServiceLoader} ({@code META-INF/services/dev.kiln.config.TaskDiscovery}) the first time the
 * registry is read, so nobody calls a discovery method before loading a config. The framework's one
 * implementation registers every {@code TaskProvider} (which this package, below the trainer, cannot name).
 */
public interface TaskDiscovery {
    void discover();
}
