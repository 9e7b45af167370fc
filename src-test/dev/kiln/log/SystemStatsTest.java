package dev.kiln.log;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Paths;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SystemStatsTest {

    @Test
    void mfuByHand() {
        // GPT-2 small shape: N = 124e6, L = 12, d = 768, T = 1024
        // 6N = 744,000,000; 12·L·d·T = 12·12·768·1024 = 113,246,208; sum 857,246,208 FLOPs per token
        assertEquals(857_246_208.0, SystemStats.flopsPerToken(124_000_000L, 12, 768, 1024), 0);
        // 10,000 tok/s on a 100 TFLOP/s device: 8.57246208e12 / 1e14
        assertEquals(0.0857246208, SystemStats.mfu(10_000, 124_000_000L, 12, 768, 1024, 100e12), 1e-15);
        // a tiny model: N = 1000, L = 2, d = 8, T = 16 → 6000 + 3072 = 9072 FLOPs/token; 1e6 tok/s on 9.072e10
        assertEquals(0.1, SystemStats.mfu(1e6, 1000, 2, 8, 16, 9.072e10), 1e-15);
        // the products must not overflow int: L·d·T = 48 · 8192 · 131072 > 2^31
        assertEquals(6.0 * 7e10 + 12.0 * 48 * 8192 * 131072, SystemStats.flopsPerToken(70_000_000_000L, 48, 8192, 131072), 1);
        assertTrue(Double.isNaN(SystemStats.mfu(1, 1, 1, 1, 1, 0)));
    }

    @Test
    void residentSetSize() {
        double rss = SystemStats.rssMb();
        assertTrue(rss > 10 && rss < 1e6, "rss " + rss);
        if (Files.isReadable(Paths.get("/proc/self/status"))) {
            double peak = SystemStats.peakRssMb();
            assertTrue(peak >= rss - 1, "peak " + peak + " < rss " + rss);
        }
        assertTrue(Double.isNaN(SystemStats.deviceMemoryMb(Device.cpu())));
    }

    @Test
    void liveArraysCountsSubManagers() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            long before = SystemStats.liveArraysAll();
            m.zeros(new Shape(2));
            m.ones(new Shape(3));
            NDManager sub = m.newSubManager();
            sub.zeros(new Shape(1));
            NDArray gone = sub.zeros(new Shape(1));
            gone.close();
            assertEquals(3, SystemStats.liveArrays(m));
            assertEquals(1, SystemStats.liveArrays(sub));
            assertEquals(before + 3, SystemStats.liveArraysAll());
            sub.close();
            assertEquals(2, SystemStats.liveArrays(m));
        }
    }

    @Test
    void matmulPeakOnCpu() {
        double flops = SystemStats.MatmulPeak.measure(Device.cpu(), DataType.FLOAT32, 128, 3);
        // any working CPU does > 100 MFLOP/s at this size, and nothing does 1 PFLOP/s
        assertTrue(flops > 1e8 && flops < 1e15, "flops " + flops);
    }
}
