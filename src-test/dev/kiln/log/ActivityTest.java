package dev.kiln.log;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Long-step progress: silent for short work, then a line every 10 s with counts, elapsed and ETA, and a closing line. */
class ActivityTest {
    private long now;

    @AfterEach
    void restore() {
        Activity.clock = System::nanoTime;
        Activity.reportTo(null);
    }

    @Test
    void quietWhenShortThenCountsElapsedAndEta() {
        Activity.clock = () -> now;
        List<String> lines = new ArrayList<>();
        Activity.reportTo(lines::add);
        try (Activity a = Activity.start("evaluating", 100)) {
            now += 1_000_000_000L;
            a.advance(10); // 1 s in: too early for a line
        }
        assertEquals(List.of(), lines, "short work prints nothing");

        try (Activity a = Activity.start("evaluating", 100)) {
            for (int i = 0; i < 40; i++) {
                now += 1_000_000_000L; // one item per second
                a.advance(1);
            }
        }
        // first line at 3 s, then 13 s, 23 s, 33 s; 40 items in 40 s
        assertEquals(List.of("evaluating: 3/100 (3%) elapsed 0:00:03 ETA 0:01:37",
                "evaluating: 13/100 (13%) elapsed 0:00:13 ETA 0:01:27",
                "evaluating: 23/100 (23%) elapsed 0:00:23 ETA 0:01:17",
                "evaluating: 33/100 (33%) elapsed 0:00:33 ETA 0:01:07",
                "evaluating: 40 done in 0:00:40"), lines);
    }

    @Test
    void unknownTotalAndNoReceiver() {
        Activity.clock = () -> now;
        List<String> lines = new ArrayList<>();
        try (Activity a = Activity.start("predicting", 0)) {
            now += 5_000_000_000L;
            a.advance(7); // no receiver: nothing, no error
        }
        Activity.reportTo(lines::add);
        try (Activity a = Activity.start("predicting", 0)) {
            now += 5_000_000_000L;
            a.advance(7);
        }
        assertEquals(List.of("predicting: 7 elapsed 0:00:05", "predicting: 7 done in 0:00:05"), lines);
    }
}
