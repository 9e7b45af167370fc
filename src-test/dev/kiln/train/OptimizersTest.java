package dev.kiln.train;

import dev.kiln.config.ConfigException;
import dev.kiln.config.RunConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A new optimizer is its class plus one registration: the config accepts exactly the registered names. */
class OptimizersTest {
    @TempDir
    Path dir;

    @Test
    void everyRegisteredOptimizerBuilds() {
        assertEquals(List.of("adamw", "sgd"), Optimizers.names());
        for (String name : Optimizers.names()) {
            RunConfig.Optimizer c = new RunConfig.Optimizer();
            c.type = name;
            Optimizer o = Optimizers.create(c, p -> false);
            assertTrue(o instanceof StatefulOptimizer, name + " builds " + o.getClass());
        }
        assertEquals(2, Optimizers.get("adamw").statesPerWeight()); // exp_avg, exp_avg_sq
        assertEquals(1, Optimizers.get("sgd").statesPerWeight());   // momentum_buffer
    }

    private RunConfig config(String type) {
        return RunConfig.parse("{\"model\": {\"name\": \"m\"}, \"task\": {\"type\": \"classification\"}, \"data\": {\"train\": \"t.jsonl\"},"
                + " \"optimizer\": {\"type\": \"" + type + "\", \"lr\": 0.1}}", "test.json", dir, List.of());
    }

    @Test
    void oneRegistrationIsAllTheConfigNeeds() throws IOException {
        Files.writeString(dir.resolve("t.jsonl"), "{\"text\": \"a\", \"label\": 0}\n");
        String refused = "test.json: \"optimizer.type\" must be one of \"adamw\" or \"sgd\", got \"plain-sgd\"";
        assertEquals(refused, assertThrows(ConfigException.class, () -> config("plain-sgd")).getMessage());
        Optimizers.register("plain-sgd", 1, (c, noDecay) -> new Sgd(0, 0, false, 0, noDecay));
        try {
            RunConfig c = config("plain-sgd");
            assertEquals("plain-sgd", c.optimizer.type);
            assertTrue(Optimizers.create(c.optimizer, p -> false) instanceof Sgd);
            assertTrue(assertThrows(ConfigException.class, () -> config("adam")).getMessage()
                    .contains("must be one of \"adamw\", \"sgd\" or \"plain-sgd\""));
        } finally {
            Optimizers.unregister("plain-sgd");
        }
        assertEquals(refused, assertThrows(ConfigException.class, () -> config("plain-sgd")).getMessage());
    }

    @Test
    void anUnregisteredNameBuiltInCodeIsNamedInTheError() {
        RunConfig.Optimizer c = new RunConfig.Optimizer();
        c.type = "adam";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Optimizers.create(c, p -> false));
        assertEquals("optimizer \"adam\" is not registered in dev.kiln.train.Optimizers (did you mean \"adamw\"?); registered: \"adamw\", \"sgd\"",
                e.getMessage());
    }
}
