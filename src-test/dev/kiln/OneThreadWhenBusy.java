package dev.kiln;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One libtorch thread for a test class while the cores are oversubscribed (load average above the core count),
 * restored afterwards. libtorch's OpenMP threads spin at barriers: on cores shared with other jobs one thread is
 * many times faster (measured 29x at a load average of 20 on 2 cores). Use with {@code @ExtendWith}.
 */
public final class OneThreadWhenBusy implements BeforeAllCallback, AfterAllCallback {
    private int before = -1;

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        ai.djl.engine.Engine.getInstance(); // loads libtorch
        Path loadavg = Path.of("/proc/loadavg");
        double load = Files.isReadable(loadavg) ? Double.parseDouble(Files.readString(loadavg).split(" ")[0]) : 0;
        if (load > Runtime.getRuntime().availableProcessors()) {
            before = ai.djl.pytorch.jni.JniUtils.getNumThreads();
            ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (before > 0) ai.djl.pytorch.jni.JniUtils.setNumThreads(before);
    }
}
