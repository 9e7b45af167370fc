package dev.kiln.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.log.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The throughput numbers of metrics.jsonl and summary.json: real vs computed (padded) tokens, MFU on computed ones. */
class RunLoggerTest {
    @TempDir
    Path tmp;

    @Test
    void reportsRealAndComputedTokensPaddingAndMfuOnComputedTokens() throws IOException {
        TrainerOptions o = new TrainerOptions();
        o.tensorboard = false;
        o.plot = false;
        o.progress = dev.kiln.log.Progress.Mode.QUIET;
        o.logEverySteps = 2;
        long n = 1000;
        double peak = 1e9;
        try (TrainerTest.Synthetic t = new TrainerTest.Synthetic();
             RunLogger log = new RunLogger(tmp, o, t.backbone(), n, peak, new PrintStream(OutputStream.nullOutputStream()))) {
            log.onStart(2, 0);
            // 300 of 400 and 200 of 400 positions are real; 8 + 12 rows; 0.5 s + 1.5 s
            // ... and 0.25 + 0.75 s of the process's CPU time (the rest went to other jobs on the cores)
            log.onStep(1, 0, new Trainer.StepStats(1.0, 1e-3, 1, 300, 0.5, 8, 400, Double.NaN, 0.25));
            log.onStep(2, 0, new Trainer.StepStats(0.5, 1e-3, 1, 200, 1.5, 12, 400, Double.NaN, 0.75));
            Trainer.Result r = new Trainer.Result();
            r.steps = 2;
            r.trainSeconds = 2.5;
            r.tokensPerSecond = 200;
            log.onEnd(r);
            log.writeSummary(r, null);
        }
        // MFU: computed tokens/s × (6N + 12·L·d·T) / peak, T the mean padded width 800 / 20 = 40; 1 layer, d 16
        double mfu = 400 * (6.0 * n + 12.0 * 1 * 16 * 40) / peak;
        JsonObject s = JsonParser.parseString(Files.readString(tmp.resolve("summary.json"))).getAsJsonObject();
        assertEquals(250, s.get("step_tokens_per_s").getAsDouble(), 1e-9);
        assertEquals(1.0, s.get("step_cpu_seconds").getAsDouble(), 1e-12);
        assertEquals(500, s.get("step_tokens_per_cpu_s").getAsDouble(), 1e-9);
        assertTrue(Trainer.processCpuNanos() > 0, "this JVM reports its CPU time (the trainer's steps measure it)");
        assertEquals(400, s.get("computed_tokens_per_s").getAsDouble(), 1e-9);
        assertEquals(0.375, s.get("padding_fraction").getAsDouble(), 1e-12);
        assertEquals(10, s.get("examples_per_s").getAsDouble(), 1e-9);
        assertEquals(mfu, s.get("mfu").getAsDouble(), 1e-12);
        List<JsonObject> rows = MetricsLog.read(tmp.resolve(MetricsLog.FILE_NAME));
        JsonObject row = rows.get(0);
        assertEquals(2, row.get("step").getAsLong());
        assertEquals(250, row.get("tokens_per_s").getAsDouble(), 1e-9);
        assertEquals(400, row.get("computed_tokens_per_s").getAsDouble(), 1e-9);
        assertEquals(0.375, row.get("padding_fraction").getAsDouble(), 1e-12);
        assertEquals(mfu, row.get("mfu").getAsDouble(), 1e-12);
    }

    /** A task whose batches state their FLOPs (an encoder-decoder) gets MFU = stated FLOPs / step seconds / peak, not 6N. */
    @Test
    void statedBatchFlopsReplaceTheSixNCount() throws IOException {
        TrainerOptions o = new TrainerOptions();
        o.tensorboard = false;
        o.plot = false;
        o.progress = dev.kiln.log.Progress.Mode.QUIET;
        o.logEverySteps = 2;
        double peak = 1e9;
        try (TrainerTest.Synthetic t = new TrainerTest.Synthetic();
             RunLogger log = new RunLogger(tmp, o, t.backbone(), 1000, peak, new PrintStream(OutputStream.nullOutputStream()))) {
            log.onStart(2, 0);
            log.onStep(1, 0, new Trainer.StepStats(1.0, 1e-3, 1, 300, 0.5, 8, 400, 3e8, Double.NaN));
            log.onStep(2, 0, new Trainer.StepStats(0.5, 1e-3, 1, 200, 1.5, 12, 400, 5e8, Double.NaN));
            Trainer.Result r = new Trainer.Result();
            r.steps = 2;
            log.onEnd(r);
            log.writeSummary(r, null);
        }
        // 8e8 FLOPs in 2 s on a 1e9 FLOP/s peak
        JsonObject s = JsonParser.parseString(Files.readString(tmp.resolve("summary.json"))).getAsJsonObject();
        assertEquals(0.4, s.get("mfu").getAsDouble(), 1e-12);
        assertEquals(8e8 / 20, s.get("flops_per_example").getAsDouble(), 1e-6);
        assertEquals(0.4, MetricsLog.read(tmp.resolve(MetricsLog.FILE_NAME)).get(0).get("mfu").getAsDouble(), 1e-12);
    }
}
