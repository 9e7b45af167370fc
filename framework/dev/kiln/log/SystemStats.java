package dev.kiln.log;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.cuda.CudaUtils;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Memory and throughput numbers for the training log: RSS, live NDArrays, matmul peak and MFU. */
public final class SystemStats {
    private SystemStats() {}

    private static final Path STATUS = Paths.get("/proc/self/status");

    /**
     * Resident set size in MB from {@code /proc/self/status} (includes libtorch's native allocations). Without
     * /proc (macOS, Windows), a JVM-only estimate: heap + non-heap + direct and mapped buffers, which misses
     * native tensor memory.
     */
    public static double rssMb() {
        double kb = statusKb("VmRSS:");
        return Double.isNaN(kb) ? jvmEstimateMb() : kb / 1024.0;
    }

    /** Peak RSS in MB ({@code VmHWM}), or NaN where /proc is absent. */
    public static double peakRssMb() {
        return statusKb("VmHWM:") / 1024.0;
    }

    /**
     * Device-wide used memory in MB on a GPU (cudaMemGetInfo: includes PyTorch's cache and other processes),
     * NaN on CPU or when CUDA is unavailable.
     */
    public static double deviceMemoryMb(Device device) {
        if (device == null || !device.isGpu()) return Double.NaN;
        try {
            MemoryUsage u = CudaUtils.getGpuMemory(device);
            return u.getUsed() / (1024.0 * 1024.0);
        } catch (Throwable t) { // CudaUtils loads cudart lazily; absence must not break logging
            return Double.NaN;
        }
    }

    /**
     * Arrays attached to {@code m} and, recursively, its sub-managers (DJL 0.35.1's
     * {@link NDManager#getManagedArrays()} already descends). O(arrays): fine once per logging step. A count
     * that grows step over step means a leak: an intermediate attached to a long-lived manager.
     */
    public static long liveArrays(NDManager m) {
        return m.getManagedArrays().size();
    }

    /** Every live array of the default engine, via the system manager (the parent of every base manager). */
    public static long liveArraysAll() {
        try (NDManager probe = NDManager.newBaseManager()) {
            NDManager system = probe.getParentManager();
            return system == null ? liveArrays(probe) : liveArrays(system);
        }
    }

    /**
     * Training FLOPs per token: 6N for the forward and backward matmuls over the parameters, plus 12·L·d·T for
     * attention scores and weighted sums (PaLM appendix B).
     */
    public static double flopsPerToken(long nParams, int layers, int hidden, int seqLen) {
        return 6.0 * nParams + 12.0 * layers * (double) hidden * seqLen;
    }

    /** Model FLOPs utilisation: tokens/s × (6N + 12·L·d·T) / peak FLOP/s. */
    public static double mfu(double tokensPerSec, long nParams, int layers, int hidden, int seqLen, double peakFlops) {
        if (!(peakFlops > 0)) return Double.NaN;
        return tokensPerSec * flopsPerToken(nParams, layers, hidden, seqLen) / peakFlops;
    }

    /**
     * Measured matmul throughput, the denominator for MFU on hardware without a datasheet number. Measure in the
     * dtype training computes in: fp32 on a GPU without TF32 is far below the tensor-core peak.
     */
    public static final class MatmulPeak {
        private MatmulPeak() {}

        /** Target time per sample; short samples on a GPU would measure launch overhead, not the kernels. */
        private static final double SAMPLE_S = 0.02;
        private static final int MAX_REPS = 4096;

        /** Best of 5 samples of 1024³ fp32 matmuls. */
        public static double measure(Device device) {
            return measure(device, DataType.FLOAT32, 1024, 5);
        }

        /**
         * Best-of-{@code samples} FLOP/s of {@code n×n @ n×n} matmuls ({@code 2n³} FLOPs each). Each sample
         * queues enough matmuls to take about 20 ms and ends by reading one element of the last result, which
         * waits for the queued kernels on asynchronous devices.
         */
        public static double measure(Device device, DataType type, int n, int samples) {
            if (n < 1 || samples < 1) throw new IllegalArgumentException("n and samples must be positive");
            try (NDManager m = NDManager.newBaseManager(device)) {
                Shape s = new Shape(n, n);
                NDArray a = m.randomNormal(0, 1, s, DataType.FLOAT32).toType(type, false);
                NDArray b = m.randomNormal(0, 1, s, DataType.FLOAT32).toType(type, false);
                double flops = 2.0 * n * n * (double) n;
                time(a, b, 2); // warm-up: library init, kernel selection, allocator
                int reps = 1;
                double t = time(a, b, reps);
                while (t < SAMPLE_S && reps < MAX_REPS) {
                    reps = (int) Math.min(MAX_REPS, Math.max(reps * 2L, (long) Math.ceil(reps * SAMPLE_S / Math.max(t, 1e-6))));
                    t = time(a, b, reps);
                }
                double best = reps * flops / t;
                for (int i = 1; i < samples; i++) best = Math.max(best, reps * flops / time(a, b, reps));
                return best;
            }
        }

        private static double time(NDArray a, NDArray b, int reps) {
            try (NDManager scope = a.getManager().newSubManager()) {
                long t0 = System.nanoTime();
                NDArray last = null;
                for (int i = 0; i < reps; i++) {
                    if (last != null) last.close();
                    last = a.matMul(b);
                    last.attach(scope);
                }
                last.getFloat(0, 0); // device sync
                return (System.nanoTime() - t0) / 1e9;
            }
        }
    }

    private static double statusKb(String key) {
        try {
            for (String line : Files.readAllLines(STATUS, StandardCharsets.US_ASCII)) {
                if (line.startsWith(key)) {
                    String v = line.substring(key.length()).trim(); // "123456 kB"
                    int sp = v.indexOf(' ');
                    return Double.parseDouble(sp < 0 ? v : v.substring(0, sp));
                }
            }
        } catch (IOException | RuntimeException e) {
            // no procfs
        }
        return Double.NaN;
    }

    private static double jvmEstimateMb() {
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        long bytes = mem.getHeapMemoryUsage().getUsed() + mem.getNonHeapMemoryUsage().getUsed();
        for (BufferPoolMXBean p : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            bytes += Math.max(0, p.getMemoryUsed());
        }
        return bytes / (1024.0 * 1024.0);
    }
}
