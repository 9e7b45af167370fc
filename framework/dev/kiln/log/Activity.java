package dev.kiln.log;

import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Progress of a long step that is not a training step (evaluation, prediction, data preparation, import), so a
 * user can tell work from a hang. The code doing the work reports counts; where the lines go is set once per
 * process by whoever owns the console ({@link #reportTo}): the run logger during training, the CLI for
 * {@code evaluate} and {@code predict}; nothing is printed when no one has asked.
 *
 * <p>Quiet for short work: the first line comes after {@link #FIRST_NS}, then one every {@link #EVERY_NS}, and a
 * closing line when the work printed anything. Plain lines only (no {@code \r}), so logs and notebooks read them.
 */
public final class Activity implements AutoCloseable {
    static final long FIRST_NS = 3_000_000_000L;
    static final long EVERY_NS = 10_000_000_000L;

    private static volatile Consumer<String> sink;
    static LongSupplier clock = System::nanoTime;

    private final String what;
    private final long total;
    private final Consumer<String> out;
    private final long startNs;
    private long nextNs;
    private long done;
    private boolean printed;

    private Activity(String what, long total, Consumer<String> out) {
        this.what = what;
        this.total = total;
        this.out = out;
        this.startNs = clock.getAsLong();
        this.nextNs = startNs + FIRST_NS;
    }

    /** Where progress lines go from now on (null: nowhere); returns the previous receiver, to restore it. */
    public static Consumer<String> reportTo(Consumer<String> lines) {
        Consumer<String> old = sink;
        sink = lines;
        return old;
    }

    /** One line about a step that has no count (e.g. a first-use download), to whoever reports progress. */
    public static void note(String line) {
        Consumer<String> s = sink;
        if (s != null) s.accept(line);
    }

    /** Starts reporting {@code what} ("evaluating", "reading train.jsonl") over {@code total} items (0: unknown). */
    public static Activity start(String what, long total) {
        return new Activity(what, total, sink);
    }

    /** {@code n} more items done. */
    public void advance(long n) {
        done += n;
        if (out == null) return;
        long now = clock.getAsLong();
        if (now < nextNs) return;
        nextNs = now + EVERY_NS;
        printed = true;
        out.accept(line(now));
    }

    String line(long now) {
        double secs = (now - startNs) / 1e9;
        StringBuilder sb = new StringBuilder(what).append(": ").append(done);
        if (total > 0) {
            sb.append('/').append(total).append(String.format(Locale.ROOT, " (%.0f%%)", 100.0 * done / total));
        }
        sb.append(" elapsed ").append(Progress.formatEta(secs));
        if (total > 0 && done > 0) sb.append(" ETA ").append(Progress.formatEta(secs / done * Math.max(0, total - done)));
        return sb.toString();
    }

    @Override
    public void close() {
        if (out != null && printed) {
            out.accept(what + ": " + done + " done in " + Progress.formatEta((clock.getAsLong() - startNs) / 1e9));
        }
    }
}
