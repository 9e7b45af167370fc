package dev.kiln.cli;

import com.google.gson.JsonObject;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.log.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a person sees of a training run on the console: progress lines with the window-mean loss that metrics.jsonl
 * holds, epoch k/n, elapsed and ETA; a closing summary with the best and final metrics, where the models are and
 * the loss curve; and metrics.jsonl's fractional epoch.
 */
@ExtendWith(OneThreadWhenBusy.class)
class TrainConsoleTest {
    @TempDir
    Path tmp;

    /** 20 examples, batch 4: 5 steps per epoch, 2 epochs = 10 steps; windows of 3 steps leave a partial one. */
    static Path setup(Path tmp) throws IOException {
        Path model = TinyModels.bert(tmp.resolve("bert"), 1, 32, 3);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            lines.add("{\"text\": \"" + (i % 2 == 0 ? "good fine nice" : "bad awful poor") + " " + i + "\", \"label\": \""
                    + (i % 2 == 0 ? "pos" : "neg") + "\"}");
        }
        Files.write(tmp.resolve("train.jsonl"), lines);
        Files.write(tmp.resolve("dev.jsonl"), lines.subList(0, 8));
        return Files.writeString(tmp.resolve("cfg.json"), """
                {"model": {"name": "%s", "device": "cpu"}, "task": {"type": "classification"},
                 "data": {"train": "train.jsonl", "dev": "dev.jsonl", "max_length": 16},
                 "training": {"epochs": 2, "batch_size": 4, "log_every_steps": 3, "eval_each_epoch": true},
                 "optimizer": {"lr": 1e-3}, "logging": {"progress": "lines", "tensorboard": false, "plot": false},
                 "output": {"dir": "%s"}}
                """.formatted(model, tmp.resolve("run")));
    }

    @Test
    void progressLinesSummaryAndFractionalEpochs() throws IOException {
        Path cfg = setup(tmp);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, KilnCli.run(new String[] {"train", cfg.toString()}, new PrintStream(new ByteArrayOutputStream())));
        } finally {
            System.setErr(oldErr);
        }
        String console = err.toString(StandardCharsets.UTF_8);
        Path run = tmp.resolve("run");
        List<JsonObject> rows = MetricsLog.read(run.resolve(MetricsLog.FILE_NAME));
        List<JsonObject> train = rows.stream().filter(r -> r.has("loss")).toList();
        // windows end at steps 3, 6, 9 and the partial one at 10; epochs are step / 5
        assertEquals(List.of(3L, 6L, 9L, 10L), train.stream().map(r -> r.get("step").getAsLong()).toList(), rows.toString());
        assertEquals(List.of(0.6, 1.2, 1.8, 2.0), train.stream().map(r -> r.get("epoch").getAsDouble()).toList());
        List<Double> evalEpochs = rows.stream().filter(r -> r.has("eval_accuracy")).map(r -> r.get("epoch").getAsDouble()).toList();
        assertEquals(List.of(1.0, 2.0), evalEpochs);

        // a line at a window's end shows that window's mean, as metrics.jsonl has it
        Pattern p = Pattern.compile("step (\\d+)/10 epoch (\\d)/2 loss (\\S+) .* elapsed \\d+:\\d\\d:\\d\\d ETA \\d+:\\d\\d:\\d\\d");
        int matched = 0;
        for (String line : console.lines().toList()) {
            Matcher m = p.matcher(line);
            if (!m.matches()) continue;
            long step = Long.parseLong(m.group(1));
            assertEquals((step - 1) / 5 + 1, Long.parseLong(m.group(2)), line);
            for (JsonObject r : train) {
                if (r.get("step").getAsLong() == step) {
                    assertEquals(String.format(Locale.ROOT, "%.4f", r.get("loss").getAsDouble()), m.group(3), line);
                    matched++;
                }
            }
        }
        assertEquals(4, matched, "lines at steps 3, 6, 9 and 10:\n" + console);

        assertTrue(console.contains("done: 10 steps in "), console);
        assertTrue(console.matches("(?s).*best  \\(step (5|10)\\): accuracy \\d\\.\\d{4}.*"), console);
        assertTrue(console.contains("final: accuracy "), console);
        assertTrue(console.contains("best model:  " + run.resolve("best").toAbsolutePath()), console);
        assertTrue(console.contains("final model: " + run.resolve("final").toAbsolutePath()), console);
        assertTrue(console.contains("training loss (by step)\n"), console);
    }

    /** kiln runs: the config keys that differ, and each run's best metrics as summary.json has them. */
    @Test
    void runsComparesConfigsAndMetrics() throws IOException {
        Path cfg = setup(tmp);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        KilnCli.run(new String[] {"train", cfg.toString(), "--quiet", "--output", a.toString()}, quiet);
        KilnCli.run(new String[] {"train", cfg.toString(), "--quiet", "--output", b.toString(), "--set", "optimizer.lr=5e-4",
                "--set", "training.epochs=1"}, quiet);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(0, KilnCli.run(new String[] {"runs", a.toString(), b.toString(), "--json"}, new PrintStream(buf, true, StandardCharsets.UTF_8)));
        JsonObject o = com.google.gson.JsonParser.parseString(buf.toString(StandardCharsets.UTF_8)).getAsJsonObject();
        JsonObject diff = o.getAsJsonObject("differences");
        assertEquals(Set.of("optimizer.lr", "training.epochs"), diff.keySet(), diff.toString());
        assertEquals("[\"0.001\",\"5.0E-4\"]", diff.get("optimizer.lr").toString());
        assertEquals("[\"2\",\"1\"]", diff.get("training.epochs").toString());
        JsonObject summary = o.getAsJsonObject("summary");
        assertEquals("[\"10\",\"5\"]", summary.get("steps").toString());
        for (int i = 0; i < 2; i++) {
            JsonObject s = com.google.gson.JsonParser.parseString(Files.readString((i == 0 ? a : b).resolve("summary.json"))).getAsJsonObject();
            assertEquals(String.format(Locale.ROOT, "%.4f", s.getAsJsonObject("best_eval").get("accuracy").getAsDouble()),
                    summary.getAsJsonArray("best accuracy").get(i).getAsString());
        }
        assertFalse(summary.has("best f1_pos"), "per-class metrics are left out");

        buf.reset();
        KilnCli.run(new String[] {"runs", a.toString(), b.toString()}, new PrintStream(buf, true, StandardCharsets.UTF_8));
        String table = buf.toString(StandardCharsets.UTF_8);
        assertTrue(table.matches("(?s).*\\n  optimizer\\.lr +0\\.001 +5\\.0E-4\\n.*"), table);
        assertTrue(table.matches("(?s).*\\nbest accuracy +\\d\\.\\d{4} +\\d\\.\\d{4}\\n.*"), table);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> KilnCli.run(new String[] {"runs", tmp.toString()}, quiet))
                .getMessage().endsWith("is not a run directory (no config.json)"));
    }
}
