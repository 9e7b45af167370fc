package dev.kiln.log;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {

    /** A clock the test moves by hand. */
    static final class FakeClock {
        long ns;

        void advance(double seconds) {
            ns += (long) (seconds * 1e9);
        }
    }

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private final FakeClock clock = new FakeClock();

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void etaFormatting() {
        assertEquals("0:00:00", Progress.formatEta(0));
        assertEquals("0:00:01", Progress.formatEta(0.6));
        assertEquals("0:05:12", Progress.formatEta(312));
        assertEquals("1:02:03", Progress.formatEta(3723.4));
        assertEquals("27:46:40", Progress.formatEta(100_000));
        assertEquals("-:--:--", Progress.formatEta(Double.NaN));
        assertEquals("-:--:--", Progress.formatEta(Double.POSITIVE_INFINITY));
        assertEquals("-:--:--", Progress.formatEta(-1));
    }

    @Test
    void plainLinesEveryNSteps() {
        Progress p = new Progress(500, 0, out, Progress.Mode.LINES, 40, () -> clock.ns);
        assertEquals(Progress.Mode.LINES, p.mode());
        for (long s = 1; s <= 120; s++) {
            clock.advance(0.8);
            p.step(s, 0.4312, 4.1e-5, 12.3);
        }
        List<String> lines = text().lines().toList();
        assertEquals(4, lines.size(), text()); // first step, 40, 80, 120
        assertTrue(lines.get(0).startsWith("step 1/500 loss 0.4312"), lines.get(0));
        // 380 steps left at 0.8 s each = 304 s
        assertEquals("step 120/500 loss 0.4312 lr 4.1e-05 12.3 tok/s ETA 0:05:04", lines.get(3));
        assertFalse(text().contains("\r"));

        p.eval(120, mapOf("loss", 3.21, "ppl", 24.78, "accuracy", 0.5));
        assertEquals("eval step 120 loss 3.2100 ppl 24.7800 accuracy 0.5000", text().lines().reduce((a, b) -> b).get());
    }

    @Test
    void lastStepIsAlwaysPrintedAndNaNFieldsAreLeftOut() {
        Progress p = new Progress(7, 0, out, Progress.Mode.LINES, 5, () -> clock.ns);
        for (long s = 1; s <= 7; s++) {
            clock.advance(1);
            p.step(s, 1.0 / s, Double.NaN, Double.NaN);
        }
        List<String> lines = text().lines().toList();
        assertEquals(List.of("step 1/7 loss 1.0000 ETA 0:00:06", "step 5/7 loss 0.2000 ETA 0:00:02",
                "step 7/7 loss 0.1429 ETA 0:00:00"), lines);
    }

    @Test
    void etaFollowsTheRecentStepTimeNotTheWholeRun() {
        Progress p = new Progress(1000, 0, out, Progress.Mode.QUIET, 10, () -> clock.ns);
        assertTrue(Double.isNaN(p.etaSeconds())); // nothing measured yet
        clock.advance(60); // slow start: compile, warm-up
        p.step(1, 1, 1, 1);
        for (long s = 2; s <= 100; s++) {
            clock.advance(0.5);
            p.step(s, 1, 1, 1);
        }
        // the window holds only 0.5 s steps by now: 900 left × 0.5 s
        assertEquals(450, p.etaSeconds(), 1e-6);
        for (long s = 101; s <= 200; s++) {
            clock.advance(2);
            p.step(s, 1, 1, 1);
        }
        assertEquals(800 * 2, p.etaSeconds(), 1e-6);
        assertEquals("", text()); // quiet
    }

    @Test
    void resumedRunCountsOnlyItsOwnSteps() {
        Progress p = new Progress(1000, 900, out, Progress.Mode.LINES, 1000, () -> clock.ns);
        clock.advance(3);
        p.step(901, 2, 1e-4, 1000);
        // one step took 3 s since the resume; 99 left
        assertEquals("step 901/1000 loss 2.0000 lr 1.0e-04 1000 tok/s ETA 0:04:57", text().strip());
    }

    @Test
    void unknownTotalHasNoEta() {
        Progress p = new Progress(0, 0, out, Progress.Mode.LINES, 1, () -> clock.ns);
        clock.advance(1);
        p.step(3, 0.25, 2e-3, 123456.7);
        assertEquals("step 3 loss 0.2500 lr 2.0e-03 123457 tok/s", text().strip());
    }

    @Test
    void barRedrawsInPlaceAndMessagesDoNotGarbleIt() {
        Progress p = new Progress(10, 0, out, Progress.Mode.BAR, 1, () -> clock.ns);
        for (long s = 1; s <= 5; s++) {
            clock.advance(1);
            p.step(s, 1, 1e-3, 50);
        }
        String t = text();
        assertTrue(t.startsWith("\r["), t);
        assertFalse(t.contains("\n"), "the bar stays on one line");
        assertTrue(t.contains("5/10  50%"), t);
        assertTrue(t.contains("ETA 0:00:05"), t);
        p.message("checkpoint saved");
        clock.advance(1);
        p.step(10, 0.5, 1e-3, 50);
        p.finish();
        t = text();
        assertTrue(t.contains("\rcheckpoint saved\n\r["), t); // bar cleared, message, bar redrawn
        assertTrue(t.contains("[========================] 10/10 100%"), t);
        assertTrue(t.endsWith("\n"), "finish ends the bar's line");
    }

    @Test
    void barThrottlesRedrawsButAlwaysDrawsTheLastStep() {
        Progress p = new Progress(1000, 0, out, Progress.Mode.BAR, 1, () -> clock.ns);
        for (long s = 1; s <= 1000; s++) {
            clock.advance(0.001); // 1 ms steps: at most one redraw per 100 ms
            p.step(s, 1, 1e-3, 50);
        }
        long redraws = text().chars().filter(c -> c == '\r').count();
        assertTrue(redraws >= 10 && redraws <= 12, "redraws " + redraws);
        assertTrue(text().contains("1000/1000"));
    }

    /** logging.progress's values as configs write them ("off" is QUIET, what --quiet sets). */
    @Test
    void modeNames() {
        com.google.gson.Gson g = new com.google.gson.Gson();
        assertEquals(Progress.Mode.QUIET, g.fromJson("\"off\"", Progress.Mode.class));
        assertEquals(Progress.Mode.BAR, g.fromJson("\"bar\"", Progress.Mode.class));
        assertEquals(Progress.Mode.LINES, g.fromJson("\"lines\"", Progress.Mode.class));
        assertEquals(Progress.Mode.AUTO, g.fromJson("\"auto\"", Progress.Mode.class));
        assertEquals("\"off\"", g.toJson(Progress.Mode.QUIET));
    }

    private static Map<String, Number> mapOf(Object... kv) {
        Map<String, Number> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], (Number) kv[i + 1]);
        return m;
    }
}
