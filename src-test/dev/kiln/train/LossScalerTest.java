package dev.kiln.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LossScalerTest {
    @Test
    void overflowSkipsAndHalves() {
        LossScaler s = new LossScaler();
        assertEquals(65536, s.scale());
        assertFalse(s.update(false));
        assertEquals(32768, s.scale());
        assertEquals(1, s.skippedSteps());
        for (int i = 0; i < 40; i++) s.update(false);
        assertEquals(1, s.scale(), "never below 1");
    }

    @Test
    void growsAfterIntervalOfCleanSteps() {
        LossScaler s = new LossScaler(8, 3);
        assertTrue(s.update(true));
        assertTrue(s.update(true));
        assertEquals(8, s.scale());
        assertTrue(s.update(true));
        assertEquals(16, s.scale());
        // an overflow resets the count of clean steps
        s.update(true);
        s.update(true);
        s.update(false);
        assertEquals(8, s.scale());
        s.update(true);
        s.update(true);
        assertEquals(8, s.scale());
        s.update(true);
        assertEquals(16, s.scale());
    }

    @Test
    void stateRoundTrip() {
        LossScaler a = new LossScaler(1024, 3);
        a.update(false);
        a.update(true);
        a.update(true);
        LossScaler b = new LossScaler(1, 3); // configuration is not state: same growth interval
        b.loadState(a.state());
        assertEquals(512, b.scale());
        assertEquals(1, b.skippedSteps());
        b.update(true); // the third clean step in a row: it remembered two
        assertEquals(1024, b.scale());
    }

    @Test
    void scaledHalfLossIsFloat32() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray loss = m.create(3f).toType(DataType.FLOAT16, false);
            NDArray scaled = new LossScaler().scaleLoss(loss);
            assertEquals(DataType.FLOAT32, scaled.getDataType());
            assertEquals(3f * 65536, scaled.getFloat()); // would be inf in fp16
        }
    }
}
