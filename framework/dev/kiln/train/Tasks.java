package dev.kiln.train;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/** The registered tasks, discovered once; the config registry triggers it when first read ({@link Discovery}). */
public final class Tasks {
    private static Map<String, TaskProvider> providers;

    private Tasks() {}

    public static synchronized Map<String, TaskProvider> all() {
        if (providers == null) {
            providers = new LinkedHashMap<>();
            for (TaskProvider p : ServiceLoader.load(TaskProvider.class)) {
                providers.put(p.type(), p);
                p.registerConfig();
            }
        }
        return providers;
    }

    public static TaskProvider get(String type) {
        TaskProvider p = all().get(type);
        if (p == null) {
            throw new IllegalArgumentException("unknown task '" + type + "' (known: " + String.join(", ", all().keySet()) + ")");
        }
        return p;
    }

    public static List<String> types() {
        return List.copyOf(all().keySet());
    }

    /** The config registry's discovery: every task provider registers its config sections. */
    public static final class Discovery implements dev.kiln.config.TaskDiscovery {
        @Override
        public void discover() {
            all();
        }
    }
}
