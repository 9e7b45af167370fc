package dev.kiln.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.Kiln;
import dev.kiln.TinyModels;
import dev.kiln.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln train --dry-run}: the plan and a few timed steps, nothing written. */
class DryRunTest {
    @TempDir
    Path tmp;

    private Path config(Path model, int examples, String extra) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < examples; i++) {
            lines.add("{\"text\": \"item " + i + " was " + (i % 2 == 0 ? "good" : "bad") + "\", \"label\": \"" + (i % 2) + "\"}");
        }
        Path train = Files.write(tmp.resolve("train.jsonl"), lines);
        return Files.writeString(tmp.resolve("cfg.json"), "{\"model\": {\"name\": \"" + model + "\", \"device\": \"cpu\"},"
                + "\"task\": {\"type\": \"classification\"}, \"data\": {\"train\": \"" + train + "\", \"max_length\": 16},"
                + "\"training\": {\"epochs\": 3, \"batch_size\": 8, \"gradient_accumulation_steps\": 2" + extra + "},"
                + "\"schedule\": {\"warmup_ratio\": 0.1}, \"output\": {\"dir\": \"" + tmp.resolve("run") + "\"}}");
    }

    @Test
    void reportsThePlanTimesStepsAndWritesNothing() throws IOException {
        Path model = TinyModels.bert(tmp.resolve("bert"), 2, 32, 3);
        Path cfg = config(model, 50, ", \"freeze\": \"embeddings\"");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(0, dev.kiln.cli.KilnCli.run(new String[] {"train", cfg.toString(), "--dry-run", "--quiet"},
                new PrintStream(buf, true, StandardCharsets.UTF_8)));
        JsonObject j = JsonParser.parseString(buf.toString(StandardCharsets.UTF_8).trim()).getAsJsonObject();
        // 50 examples in steps of 8 x 2 = 16: 4 steps per epoch, 3 epochs, warmup ceil(0.1 x 12) = 2
        assertEquals(50, j.get("train_examples").getAsInt());
        assertEquals(16, j.get("examples_per_step").getAsInt());
        assertEquals(4, j.get("steps_per_epoch").getAsInt());
        assertEquals(12, j.get("total_steps").getAsInt());
        assertEquals(2, j.get("warmup_steps").getAsInt());
        assertEquals(3, j.get("timed_steps").getAsInt());
        long params = j.get("parameters").getAsLong();
        long trainable = j.get("trainable_parameters").getAsLong();
        assertTrue(trainable > 0 && trainable < params, trainable + " of " + params);
        double ln2 = Math.log(2);
        assertTrue(Math.abs(j.get("first_loss").getAsDouble() - ln2) < 0.3, "first loss " + j.get("first_loss"));
        assertTrue(j.get("step_seconds").getAsDouble() > 0);
        assertEquals(12 * j.get("step_seconds").getAsDouble(), j.get("estimated_train_seconds").getAsDouble(), 1e-9);
        assertFalse(Files.exists(tmp.resolve("run")), "a dry run writes no run directory");

        // the same from the library, with the parameter count a real run reports
        DryRun d = Kiln.training(cfg).dryRun();
        assertEquals(params, d.parameters());
        assertTrue(d.report().contains("12 optimizer steps (4 per epoch) of 16 examples"), d.report());
        Kiln.Run run = Kiln.training(cfg).set("training.max_steps=1").quiet().run();
        assertEquals(params, run.summary().get("parameters").getAsLong());
    }

    @Test
    void badConfigAndDataFailAsTheyWouldInARun() throws IOException {
        Path model = TinyModels.bert(tmp.resolve("bert"), 1, 32, 3);
        Path cfg = config(model, 20, ", \"bach_size\": 4");
        ConfigException e = assertThrows(ConfigException.class,
                () -> dev.kiln.cli.KilnCli.run(new String[] {"train", cfg.toString(), "--dry-run"}, System.out));
        assertTrue(e.getMessage().contains("training.bach_size") && e.getMessage().contains("batch_size"), e.getMessage());
        Files.writeString(tmp.resolve("train.jsonl"), "{\"text\": \"fine\", \"label\": \"1\"}\n{\"text\": \"\", \"label\": \"0\"}\n");
        Path ok = tmp.resolve("cfg.json");
        Files.writeString(ok, Files.readString(ok).replace(", \"bach_size\": 4", ""));
        Exception bad = assertThrows(Exception.class, () -> Kiln.training(ok).dryRun());
        assertTrue(bad.getMessage().contains("train.jsonl:2"), bad.getMessage());
        assertFalse(Files.exists(tmp.resolve("run")));
    }
}
