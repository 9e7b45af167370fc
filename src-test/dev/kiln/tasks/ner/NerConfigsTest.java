package dev.kiln.tasks.ner;

import dev.kiln.TestSupport;
import dev.kiln.config.ConfigException;
import dev.kiln.config.RunConfig;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shipped NER configs validate, and the task's own keys are checked like the common ones. */
class NerConfigsTest {
    @TempDir
    Path dir;

    @Test
    void shippedConfigsLoad() throws IOException {
        TestSupport.shared("datasets/conll2003/train.txt");
        TestSupport.shared("datasets/wnut17/wnut17train.conll");
        Tasks.all();
        for (String name : List.of("conll03-minilm", "conll03-bert-base", "wnut17-minilm")) {
            RunConfig c = RunConfig.load(Paths.get("configs", name + ".json"));
            assertEquals("ner", c.task.type);
            assertEquals("f1", c.checkpointing.metric, name);
            assertTrue(Files.isRegularFile(c.data.train) && Files.isRegularFile(c.data.dev), name);
            assertEquals("iob2", c.dataOptions(NerOptions.Data.class).tagScheme);
        }
    }

    @Test
    void taskKeysAreValidated() throws IOException {
        Files.writeString(dir.resolve("t.txt"), "EU B-ORG\n");
        Path cfg = dir.resolve("c.json");
        Files.writeString(cfg, "{\"model\": {\"name\": \"all-MiniLM-L6-v2\"}, \"task\": {\"type\": \"ner\", \"strid\": 3},"
                + " \"data\": {\"train\": \"t.txt\", \"tag_scheme\": \"iobes\", \"tag_column\": -2}}");
        Tasks.all();
        ConfigException e = assertThrows(ConfigException.class, () -> RunConfig.load(cfg));
        String m = e.getMessage();
        assertTrue(m.contains("\"task.strid\"") && m.contains("did you mean \"task.stride\""), m);
        assertTrue(m.contains("\"data.tag_scheme\""), m);
        assertTrue(m.contains("\"data.tag_column\""), m);
    }
}
