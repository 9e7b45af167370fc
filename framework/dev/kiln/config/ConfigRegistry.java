package dev.kiln.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Task types known to the config: each task registers the classes of its own {@code task} and
 * {@code data} keys, which are validated like the common ones. The tasks on the class path register themselves
 * the first time the registry is read ({@link TaskDiscovery}); a test may register more.
 */
public final class ConfigRegistry {
    private ConfigRegistry() {}

    private static final Map<String, TaskSpec> TASKS = new TreeMap<>();

    /** Guards discovery only (not the registry), so a registration from another thread never waits on it. */
    private static final Object DISCOVERY = new Object();
    private static volatile boolean discovered;

    /** Runs the {@link TaskDiscovery} services once; re-entry from a registering task returns at once. */
    private static void discover() {
        if (discovered) return;
        synchronized (DISCOVERY) {
            if (discovered) return;
            discovered = true;
            for (TaskDiscovery d : java.util.ServiceLoader.load(TaskDiscovery.class)) d.discover();
        }
    }

    /**
     * Registers (or replaces) a task type. Either class may be null when the task adds no keys to
     * that section. The classes need a no-argument constructor; their field defaults are the
     * defaults of the keys. A key that the common section already has is refused.
     */
    public static synchronized TaskSpec registerTask(String type, Class<?> taskOptionsClass, Class<?> dataOptionsClass) {
        if (type == null || type.isBlank()) throw new IllegalArgumentException("task type must be a non-empty name");
        checkNoClash(type, "task", RunConfig.Task.class, taskOptionsClass);
        checkNoClash(type, "data", RunConfig.Data.class, dataOptionsClass);
        TaskSpec spec = new TaskSpec(type, taskOptionsClass, dataOptionsClass);
        TASKS.put(type, spec);
        return spec;
    }

    /** The registered task, or null. */
    public static TaskSpec task(String type) {
        discover();
        synchronized (ConfigRegistry.class) {
            return TASKS.get(type);
        }
    }

    /** Registered task types, sorted. */
    public static List<String> taskTypes() {
        discover();
        synchronized (ConfigRegistry.class) {
            return List.copyOf(TASKS.keySet());
        }
    }

    private static volatile List<NameRegistry> nameRegistries;

    /**
     * The names the {@link NameRegistry} services of {@code kind} publish now (read at each call, so a later
     * registration counts), in their order; empty when none is on the class path.
     */
    public static List<String> names(String kind) {
        List<NameRegistry> all = nameRegistries;
        if (all == null) {
            List<NameRegistry> found = new ArrayList<>();
            for (NameRegistry r : java.util.ServiceLoader.load(NameRegistry.class)) found.add(r);
            nameRegistries = all = List.copyOf(found);
        }
        List<String> out = new ArrayList<>();
        for (NameRegistry r : all) if (r.kind().equals(kind)) out.addAll(r.names());
        return out;
    }

    public static synchronized void unregisterTask(String type) {
        TASKS.remove(type);
    }

    private static void checkNoClash(String type, String section, Class<?> common, Class<?> extra) {
        if (extra == null) return;
        Schema.props(extra); // fails early on field types the validator cannot check
        Schema.newInstance(extra);
        for (String k : Schema.props(extra).keySet()) {
            if (Schema.props(common).containsKey(k)) {
                throw new IllegalArgumentException("task '" + type + "': " + extra.getName() + " declares \"" + section + "." + k
                        + "\", which every task already has");
            }
        }
    }

    /** What the config knows about one task type. The setters return this for chaining. */
    public static final class TaskSpec {
        private final String type;
        private final Class<?> taskOptionsClass;
        private final Class<?> dataOptionsClass;
        private volatile MainMetric main = MainMetric.min("loss");
        private volatile List<String> formats = List.of();
        private volatile boolean newModels;

        TaskSpec(String type, Class<?> taskOptionsClass, Class<?> dataOptionsClass) {
            this.type = type;
            this.taskOptionsClass = taskOptionsClass;
            this.dataOptionsClass = dataOptionsClass;
        }

        /** The metric checkpointing keeps the best of unless the config names one (default "loss", min). */
        public TaskSpec mainMetric(MainMetric m) {
            this.main = m;
            return this;
        }

        public TaskSpec mainMetric(String name, RunConfig.Mode mode) {
            return mainMetric(new MainMetric(name, mode));
        }

        /** The main metric, its direction guessed from the name (loss, perplexity, error: min). */
        public TaskSpec mainMetric(String name) {
            return mainMetric(name, RunConfig.Mode.infer(name));
        }

        /** Extra values of {@code data.format} this task's reader understands. */
        public TaskSpec formats(String... names) {
            Set<String> s = new LinkedHashSet<>(formats);
            s.addAll(Arrays.asList(names));
            this.formats = List.copyOf(s);
            return this;
        }

        /** The task can build a new model from {@code model.config} (and take {@code model.tokenizer}): pretraining. */
        public TaskSpec newModels(boolean accepts) {
            this.newModels = accepts;
            return this;
        }

        public boolean newModels() {
            return newModels;
        }

        public String type() {
            return type;
        }

        public Class<?> taskOptionsClass() {
            return taskOptionsClass;
        }

        public Class<?> dataOptionsClass() {
            return dataOptionsClass;
        }

        /** The main metric and its direction; {@link MainMetric#direction} gives any metric's. */
        public MainMetric main() {
            return main;
        }

        public String mainMetric() {
            return main.name();
        }

        public RunConfig.Mode mainMetricMode() {
            return main.mode();
        }

        /** All formats allowed for this task: the common ones, then the task's own. */
        public List<String> formats() {
            List<String> all = new ArrayList<>(RunConfig.Data.FORMATS);
            for (String f : formats) if (!all.contains(f)) all.add(f);
            return Collections.unmodifiableList(all);
        }
    }
}
