package dev.kiln.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The disk-space estimate that refuses a run before training rather than at its first checkpoint. */
class RunsSpaceTest {
    private static final long MIB = 1L << 20;

    @Test
    void refusesWithTheNumbersWhenCheckpointsWillNotFit() {
        // bert-base-sized: 440 MiB of weights, AdamW checkpoints of 3 x that, keep_last 2
        long model = 440 * MIB, ckpt = 3 * model;
        assertEquals("the filesystem has 1.0 GiB free but this run needs about 4.7 GiB (3 checkpoints of 1.3 GiB,"
                        + " best/ and final/ of 440 MiB); free space, lower checkpointing.keep_last, or choose another --output",
                Runs.spaceShortfall(1024 * MIB, 0, 2, ckpt, model, true));
        long need = 3 * ckpt + 2 * model;
        assertNull(Runs.spaceShortfall(need, 0, 2, ckpt, model, true));
        // a resumed run replaces its own checkpoints: their bytes count as free
        assertNull(Runs.spaceShortfall(need - 2 * ckpt, 2 * ckpt, 2, ckpt, model, true));
        assertEquals(null, Runs.spaceShortfall(need - model, 0, 2, ckpt, model, false));
    }
}
