package dev.kiln;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the read-only {@code ../shared} folder (datasets, fixtures) beside the checkout. */
public final class TestSupport {
    private TestSupport() {}

    public static Path sharedOrNull() {
        String env = System.getenv("KILN_SHARED");
        if (env != null && Files.isDirectory(Paths.get(env))) return Paths.get(env);
        Path p = Paths.get("..", "shared").toAbsolutePath().normalize();
        return Files.isDirectory(p) ? p : null;
    }

    /** A path under ../shared, or the test is skipped with a message saying what is missing. */
    public static Path shared(String relative) {
        Path s = sharedOrNull();
        Assumptions.assumeTrue(s != null, "skipped: ../shared is absent (reference fixtures and datasets live there)");
        Path p = s.resolve(relative);
        Assumptions.assumeTrue(Files.exists(p), "skipped: " + p + " is absent");
        return p;
    }

    public static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("length " + a.length + " != " + b.length);
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
