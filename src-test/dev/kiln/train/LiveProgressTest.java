package dev.kiln.train;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LiveProgressTest {

    @Test
    void plainLinesEvalAndAsciiCurve() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        LiveProgress p = new LiveProgress(out, 5, 30, 6);
        p.onStart(20, 0);
        for (int s = 1; s <= 20; s++) {
            p.onStep(s, 0, new Trainer.StepStats(1.0 / s, 1e-4, 1.0, 640, 0.5, 32));
            if (s == 13) p.onSkip(s, "non-finite loss or gradient norm");
        }
        p.onEval(20, 0, Map.of("accuracy", 0.9));
        Trainer.Result r = new Trainer.Result();
        r.steps = 20;
        r.trainSeconds = 10;
        p.onEnd(r);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertFalse(text.contains("\r"), "no carriage returns: " + text);
        List<String> lines = text.lines().toList();
        assertEquals("training: 20 steps", lines.get(0));
        // first step, then every 5th: 1, 5, 10, 15, 20
        assertEquals(5, lines.stream().filter(l -> l.matches("step \\d+/20 loss .*")).count(), text);
        assertTrue(text.contains("step 13 skipped: non-finite loss or gradient norm"), text);
        assertTrue(text.contains("eval step 20 accuracy 0.9000"), text);
        assertTrue(text.contains("done: 20 steps in 10.0 s"), text);
        assertTrue(text.contains("training loss\n"), text);
        // 20 points on a 30-column chart: one column each
        assertTrue(text.contains(" +" + "-".repeat(20) + "\n"), text);
        assertTrue(lines.get(lines.size() - 1).startsWith("final eval: accuracy 0.9000"), text);
    }
}
