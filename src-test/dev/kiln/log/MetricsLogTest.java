package dev.kiln.log;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsLogTest {

    @TempDir
    Path tmp;

    private static Map<String, Object> row(long step, double loss) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("epoch", 0);
        m.put("loss", loss);
        m.put("lr", 5e-5f);
        return m;
    }

    private static List<Long> steps(List<JsonObject> rows) {
        return rows.stream().map(r -> r.get("step").getAsLong()).toList();
    }

    @Test
    void linesAreFlushedAsWrittenInKeyOrder() throws IOException {
        Path f = tmp.resolve("run").resolve(MetricsLog.FILE_NAME);
        try (MetricsLog log = MetricsLog.create(f)) {
            log.log(row(1, 2.5));
            // readable before close: each line is flushed
            assertEquals(List.of(1L), steps(MetricsLog.read(f)));
            Map<String, Object> eval = new LinkedHashMap<>();
            eval.put("step", 1);
            eval.put("eval_loss", Double.NaN); // a diverged run still logs
            eval.put("eval_accuracy", 0.5);
            eval.put("note", "a \"quoted\" <tag>");
            eval.put("missing", null);
            log.log(eval);
        }
        List<String> lines = Files.readAllLines(f);
        assertEquals("{\"step\":1,\"epoch\":0,\"loss\":2.5,\"lr\":5.0E-5}", lines.get(0));
        assertEquals("{\"step\":1,\"eval_loss\":NaN,\"eval_accuracy\":0.5,\"note\":\"a \\\"quoted\\\" <tag>\",\"missing\":null}",
                lines.get(1));
        List<JsonObject> rows = MetricsLog.read(f);
        assertEquals(2, rows.size());
        assertTrue(Double.isNaN(rows.get(1).get("eval_loss").getAsDouble()));
        assertEquals("a \"quoted\" <tag>", rows.get(1).get("note").getAsString());
    }

    @Test
    void createTruncatesAnOldFile() throws IOException {
        Path f = tmp.resolve(MetricsLog.FILE_NAME);
        Files.writeString(f, "{\"step\":9}\n");
        try (MetricsLog log = MetricsLog.create(f)) {
            log.log(row(1, 1));
        }
        assertEquals(List.of(1L), steps(MetricsLog.read(f)));
    }

    @Test
    void resumeDropsPartialLineAndStepsBeyondTheCheckpoint() throws IOException {
        Path f = tmp.resolve(MetricsLog.FILE_NAME);
        try (MetricsLog log = MetricsLog.create(f)) {
            log.log(Map.of("run", "gpt2-tiny")); // no step: run metadata, always kept
            for (long s = 1; s <= 8; s++) log.log(row(s, 10.0 / s));
        }
        // killed mid-write of step 9
        Files.write(f, "{\"step\":9,\"lo".getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);
        assertEquals(9, MetricsLog.read(f).size()); // the reader skips the partial line

        try (MetricsLog log = MetricsLog.open(f, 5)) { // last checkpoint: step 5
            assertEquals(6, log.keptLines());
            assertEquals(3 + 1, log.droppedLines());
            for (long s = 6; s <= 7; s++) log.log(row(s, 1.0 / s));
        }
        List<JsonObject> rows = MetricsLog.read(f);
        assertEquals("gpt2-tiny", rows.get(0).get("run").getAsString());
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L), steps(rows.subList(1, rows.size())));
        assertEquals(1.0 / 6, rows.get(6).get("loss").getAsDouble(), 0); // the new run's value, not the old 10/6
        assertTrue(Files.readString(f).endsWith("}\n"));
    }

    @Test
    void resumeOfACleanFileAppendsWithoutRewriting() throws IOException {
        Path f = tmp.resolve(MetricsLog.FILE_NAME);
        try (MetricsLog log = MetricsLog.create(f)) {
            for (long s = 1; s <= 3; s++) log.log(row(s, s));
        }
        Object key = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        try (MetricsLog log = MetricsLog.open(f, 3)) {
            assertEquals(0, log.droppedLines());
            log.log(row(4, 4));
        }
        assertEquals(key, Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class).fileKey());
        assertEquals(List.of(1L, 2L, 3L, 4L), steps(MetricsLog.read(f)));
    }

    @Test
    void resumeWithoutAFileStartsOne() throws IOException {
        Path f = tmp.resolve("new").resolve(MetricsLog.FILE_NAME);
        try (MetricsLog log = MetricsLog.open(f, 100)) {
            log.log(row(101, 1));
        }
        assertEquals(List.of(101L), steps(MetricsLog.read(f)));
    }
}
