package dev.kiln.spark;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The models an executor JVM has open, one per (kind, folder, device, options), loaded by the first task that
 * asks and kept for every later task and stage in that JVM: a job ships a folder path, never a model, and an
 * executor reads the weights once. Tasks running side by side in one executor take turns on a model
 * ({@link #use}): predictors are not thread-safe, and libtorch already spreads one batch over the cores.
 * The models are closed when the JVM exits.
 */
final class ExecutorModels {
    private ExecutorModels() {}

    /** Opens a model; runs on the executor, once per key per JVM. */
    interface Opener<T extends AutoCloseable> {
        T open() throws Exception;
    }

    /** Work with an open model. */
    interface Use<T, R> {
        R apply(T model) throws Exception;
    }

    private static final Map<String, AutoCloseable> OPEN = new ConcurrentHashMap<>();
    /** How many times this JVM loaded a model: what the one-load-per-executor test reads. */
    static final java.util.concurrent.atomic.AtomicInteger LOADS = new java.util.concurrent.atomic.AtomicInteger();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "kiln-executor-models"));
    }

    @SuppressWarnings("unchecked")
    static <T extends AutoCloseable, R> R use(String key, Opener<T> opener, Use<T, R> use) throws Exception {
        AutoCloseable m = OPEN.get(key);
        if (m == null) {
            synchronized (OPEN) {
                m = OPEN.get(key);
                if (m == null) {
                    m = opener.open();
                    LOADS.incrementAndGet();
                    OPEN.put(key, m);
                }
            }
        }
        synchronized (m) {
            return use.apply((T) m);
        }
    }

    /** Closes every open model (the shutdown hook; tests that want a fresh JVM state). */
    static void closeAll() {
        synchronized (OPEN) {
            for (AutoCloseable m : OPEN.values()) {
                try {
                    m.close();
                } catch (Exception ignored) {
                    // the JVM is going away; nothing else holds the model
                }
            }
            OPEN.clear();
        }
    }
}
