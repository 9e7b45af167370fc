package dev.kiln.tasks.pretraining;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Held-out batches: consecutive, the last one short, capped by eval_max_batches. */
class PretrainOptionsTest {
    @Test
    void evalBatchesCoverTheDevSetInOrderUpToTheCap() {
        PretrainOptions o = new PretrainOptions();
        o.evalBatchSize = 4;
        List<int[]> all = o.evalBatches(10);
        assertEquals(3, all.size());
        assertArrayEquals(new int[] {0, 1, 2, 3}, all.get(0));
        assertArrayEquals(new int[] {8, 9}, all.get(2));
        o.evalMaxBatches = 2;
        assertEquals(2, o.evalBatches(10).size());
        assertArrayEquals(new int[] {4, 5, 6, 7}, o.evalBatches(10).get(1));
        assertEquals(0, o.evalBatches(0).size());
    }
}
