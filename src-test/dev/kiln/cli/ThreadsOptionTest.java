package dev.kiln.cli;

import dev.kiln.util.Threads;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.io.PrintStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --threads N} sets libtorch's intra-op threads before any command runs; bad values are refused by name. */
class ThreadsOptionTest {
    @Test
    void threadsOptionSetsLibtorchThreads() throws Exception {
        int before = Threads.current();
        PrintStream none = new PrintStream(OutputStream.nullOutputStream());
        try {
            int want = before == 1 ? 2 : 1;
            // the import fails on its missing source after the option took effect
            assertThrows(KilnCli.UsageException.class, () -> KilnCli.run(new String[] {"import", "--format", "onnx", "/no/such/model.onnx",
                    "--to", "/tmp/kiln-threads-test", "--threads", String.valueOf(want)}, none));
            assertEquals(want, Threads.current());
            KilnCli.UsageException e = assertThrows(KilnCli.UsageException.class,
                    () -> KilnCli.run(new String[] {"import", "--format", "onnx", "/no/such/model.onnx", "--to", "/tmp/kiln-threads-test", "--threads", "0"}, none));
            assertTrue(e.getMessage().contains("--threads 0: expected a whole number of at least 1"), e.getMessage());
        } finally {
            Threads.set(before);
        }
    }
}
