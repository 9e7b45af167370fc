package dev.kiln.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Against HF transformers' lr_lambda closed forms (optimization.py), total 100 steps, warmup 10. */
class LrScheduleTest {
    static final float PEAK = 3e-4f;

    static float hf(double factor) {
        return (float) ((double) PEAK * factor);
    }

    @Test
    void linear() {
        LrSchedule s = LrSchedule.linear(PEAK, 10, 100);
        assertEquals(0f, s.lr(0));                                   // warmup start: HF's first step runs at lr 0
        assertEquals(hf(5 / 10.0), s.lr(5));                         // warmup middle
        assertEquals(hf(9 / 10.0), s.lr(9));
        assertEquals(PEAK, s.lr(10));                                // warmup end: (100-10)/(100-10)
        assertEquals(hf((100 - 55) / 90.0), s.lr(55));               // mid-decay: exactly half
        assertEquals(hf(0.5), s.lr(55));
        assertEquals(hf(1 / 90.0), s.lr(99));                        // last step
        assertEquals(0f, s.lr(100));
        assertEquals(0f, s.lr(150));                                 // floored at 0
    }

    @Test
    void cosine() {
        LrSchedule s = LrSchedule.cosine(PEAK, 10, 100);
        assertEquals(0f, s.lr(0));
        assertEquals(hf(0.5), s.lr(5));
        assertEquals(PEAK, s.lr(10));
        assertEquals(hf(0.5 * (1 + Math.cos(Math.PI * 0.5))), s.lr(55));
        assertEquals(hf(0.5), s.lr(55), 1e-12f);
        assertEquals(hf(0.5 * (1 + Math.cos(Math.PI * 89 / 90.0))), s.lr(99));
        assertEquals(hf(0.5 * (1 + Math.cos(Math.PI * 25 / 90.0))), s.lr(35));
        assertEquals(0f, s.lr(100), 1e-20f);
    }

    @Test
    void constant() {
        LrSchedule s = LrSchedule.constant(PEAK, 10);
        assertEquals(0f, s.lr(0));
        assertEquals(hf(0.5), s.lr(5));
        assertEquals(PEAK, s.lr(10));
        assertEquals(PEAK, s.lr(1_000_000));
        assertEquals(PEAK, LrSchedule.constant(PEAK, 0).lr(0));
    }

    @Test
    void noWarmupStartsAtPeak() {
        assertEquals(PEAK, LrSchedule.linear(PEAK, 0, 100).lr(0));
        assertEquals(hf(99 / 100.0), LrSchedule.linear(PEAK, 0, 100).lr(1));
        assertEquals(PEAK, LrSchedule.cosine(PEAK, 0, 100).lr(0));
    }

    @Test
    void warmupRatioAndNames() {
        assertEquals(60, LrSchedule.warmupSteps(0, 0.06, 1000));
        assertEquals(101, LrSchedule.warmupSteps(0, 0.1, 1005));      // ceil, as HF
        assertEquals(7, LrSchedule.warmupSteps(7, 0.5, 1000));        // explicit steps win
        assertEquals(0, LrSchedule.warmupSteps(0, 0, 1000));
        assertEquals(LrSchedule.Kind.COSINE, LrSchedule.of("cosine", PEAK, 5, 50).kind());
        assertEquals(LrSchedule.Kind.CONSTANT, LrSchedule.of("constant_with_warmup", PEAK, 5, 50).kind());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.of("poly", PEAK, 5, 50));
        assertTrue(e.getMessage().contains("poly") && e.getMessage().contains("cosine"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.linear(PEAK, 5, 0));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.linear(PEAK, 5, 50).lr(-1));
    }
}
