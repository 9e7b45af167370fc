package dev.kiln;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Says which test class is running when it runs long, so a long suite is never silent: after
 * {@code kiln.test.slowSeconds} (default 30) a class still running gets a "still running" line on stderr, again
 * every minute, and a line with its time when it ends. Registered for every JUnit run through
 * META-INF/services/org.junit.platform.launcher.TestExecutionListener; {@code -Dkiln.test.slowSeconds=0} turns it off.
 */
public final class SlowTestReporter implements TestExecutionListener {
    private static final long SLOW_S = Long.getLong("kiln.test.slowSeconds", 30);
    private static final long REPEAT_S = 60;

    // the stream of the JVM's start: surefire swaps System.err per test to capture what tests print
    private final PrintStream err = System.err;
    private final Map<String, Long> started = new ConcurrentHashMap<>();
    private final Map<String, ScheduledFuture<?>> reminders = new ConcurrentHashMap<>();
    private ScheduledExecutorService timer;

    @Override
    public void executionStarted(TestIdentifier id) {
        String cls = className(id);
        if (cls == null || SLOW_S <= 0) return;
        long t0 = System.nanoTime();
        started.put(id.getUniqueId(), t0);
        reminders.put(id.getUniqueId(), timer().scheduleAtFixedRate(
                () -> say("still running: " + cls + " (" + elapsed(t0) + ")"), SLOW_S, REPEAT_S, TimeUnit.SECONDS));
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        Long t0 = started.remove(id.getUniqueId());
        ScheduledFuture<?> r = reminders.remove(id.getUniqueId());
        if (r != null) r.cancel(false);
        if (t0 == null) return;
        long s = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        if (s < SLOW_S) return;
        String cls = className(id);
        String simple = cls.substring(cls.lastIndexOf('.') + 1);
        boolean listed = SLOW_LIST.contains(simple);
        say(cls + " took " + elapsed(t0) + " (" + result.getStatus().name().toLowerCase() + ")"
                + (s >= 60 && !listed && !SLOW_LIST.isEmpty() ? "; not in " + LIST + ", so scripts/test --quick runs it" : ""));
    }

    /** The classes scripts/test --quick leaves out, by simple name (empty when the file is not found). */
    static final String LIST = "src-test/slow-tests.txt";
    private static final java.util.Set<String> SLOW_LIST = readList();

    private static java.util.Set<String> readList() {
        java.util.Set<String> out = new java.util.HashSet<>();
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of(LIST))) {
                String t = l.strip();
                if (t.isEmpty() || t.startsWith("#")) continue;
                t = t.substring(t.lastIndexOf('/') + 1);
                out.add(t.endsWith(".java") ? t.substring(0, t.length() - 5) : t);
            }
        } catch (java.io.IOException e) {
            // not run from the project root: no hint about the list
        }
        return out;
    }

    private static String className(TestIdentifier id) {
        return id.isContainer() && id.getSource().orElse(null) instanceof ClassSource c ? c.getClassName() : null;
    }

    private synchronized ScheduledExecutorService timer() {
        if (timer == null) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "slow-test-reporter");
                t.setDaemon(true);
                return t;
            });
        }
        return timer;
    }

    private void say(String line) {
        err.println("[kiln-test] " + line);
        err.flush();
    }

    private static String elapsed(long t0) {
        long s = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        return s >= 60 ? (s / 60) + "m" + String.format("%02d", s % 60) + "s" : s + "s";
    }
}
