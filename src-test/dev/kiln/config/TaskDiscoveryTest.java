package dev.kiln.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tasks on the class path register their config sections the first time the registry is read: no
 * {@code Tasks.all()} before loading a config (run alone, nothing else has registered them).
 */
class TaskDiscoveryTest {
    @Test
    void readingTheRegistryDiscoversTheTasks() {
        assertTrue(ConfigRegistry.taskTypes().containsAll(java.util.List.of("classification", "ner", "qa", "pretrain-gpt")),
                ConfigRegistry.taskTypes().toString());
        assertNotNull(ConfigRegistry.task("ner"));
        assertTrue(RunConfig.knownPaths().contains("task.label_names"), "a task's own keys are known");
    }
}
