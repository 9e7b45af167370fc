package dev.kiln.sweep;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Trials in child JVMs, one per device, so several train at once (DJL allows one GradientCollector per JVM). A child
 * is this class's {@link #main}, started with the parent's java, class path, JVM options and {@code ai.djl.*} /
 * {@code kiln.*} properties; it runs the trial exactly as {@link RunTrials} does in-process (same config, same
 * pruning listener), on the device the sweep gives it ({@code model.device}). Its output (progress, warnings, the
 * run's closing summary) goes to {@code trials/NNN.log} beside the run folder.
 *
 * <p>The two sides talk over the child's stdin and stdout, one line each way per evaluation: the child reports
 * {@code step value} and waits for "go" or "prune", so a pruned trial stops right after the evaluation that pruned it,
 * as in-process (a clean stop: checkpoint, final/, summary). A child whose parent dies stops at once (it watches the
 * parent's process), leaving its checkpoints for the resumed sweep; {@link #close} kills the children still running.
 */
public final class ProcessTrials implements Sweep.TrialRunner, AutoCloseable {
    private static final String TAG = "@kiln-sweep ";
    private final SweepSpec spec;
    private final Set<Process> children = ConcurrentHashMap.newKeySet();
    private final Thread hook = new Thread(this::close, "kiln-sweep-children");

    public ProcessTrials(SweepSpec spec) {
        this.spec = spec;
        Runtime.getRuntime().addShutdownHook(hook); // Ctrl-C of the sweep stops its trials too
    }

    @Override
    public Sweep.RunResult run(Trial trial, Path dir, Sweep.Reporter reporter) throws IOException {
        return run(trial, dir, null, reporter);
    }

    @Override
    public Sweep.RunResult run(Trial trial, Path dir, String device, Sweep.Reporter reporter) throws IOException {
        Files.createDirectories(dir.getParent());
        Path log = dir.resolveSibling(dir.getFileName() + ".log");
        Files.writeString(log, String.format(Locale.ROOT, "kiln sweep: trial %s on %s, %s%n", trial.folder(),
                device == null ? "the config's device" : device, java.time.Instant.now()),
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        JsonObject job = new JsonObject();
        job.add("sweep", spec.json);
        job.addProperty("source", spec.source);
        job.addProperty("dir", spec.dir.toString());
        job.add("trial", trial.toJson());
        job.addProperty("run_dir", dir.toAbsolutePath().toString());
        if (device != null) job.addProperty("device", device);
        Process p = new ProcessBuilder(command()).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        children.add(p);
        try (BufferedWriter w = p.outputWriter(StandardCharsets.UTF_8); BufferedReader r = p.inputReader(StandardCharsets.UTF_8)) {
            w.write(job.toString());
            w.newLine();
            w.flush();
            Sweep.RunResult result = null;
            String error = null;
            for (String line; (line = r.readLine()) != null; ) {
                if (!line.startsWith(TAG)) { // stray output on the child's stdout (native code): the log's
                    Files.writeString(log, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
                    continue;
                }
                String[] f = line.substring(TAG.length()).split(" ", 3);
                switch (f[0]) {
                    case "eval" -> {
                        boolean prune = reporter.report(Long.parseLong(f[1]), Double.parseDouble(f[2]));
                        w.write(prune ? "prune\n" : "go\n");
                        w.flush();
                    }
                    case "done" -> result = new Sweep.RunResult(Long.parseLong(f[1]), Double.parseDouble(f[2]));
                    case "failed" -> error = line.substring(TAG.length() + "failed ".length());
                    default -> throw new IllegalStateException("trial " + trial.folder() + ": unexpected line from its process: " + line);
                }
            }
            int rc = waitFor(p);
            if (result != null) return result;
            if (error != null) throw new IllegalArgumentException(error);
            throw new IOException("trial " + trial.folder() + "'s process ended with exit code " + rc + " (see " + log + ")");
        } catch (IOException | RuntimeException | Error e) {
            p.destroyForcibly();
            throw e;
        } finally {
            children.remove(p);
        }
    }

    private static int waitFor(Process p) throws IOException {
        try {
            return p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while a trial's process ended");
        }
    }

    /** Kills the trial processes still running (their runs resume from their checkpoints with the sweep). */
    @Override
    public void close() {
        for (Process p : children) p.destroyForcibly();
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already: the hook runs
            }
        }
    }

    /**
     * This JVM again: its java, options (less a debugger's), the ai.djl / kiln properties, its libtorch thread count,
     * class path and {@link #main}.
     */
    static List<String> command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib:jdwp") && !a.startsWith("-Xrunjdwp")) cmd.add(a);
        }
        // properties set after start-up (--threads, the tests' one-thread rule) too
        for (String k : new java.util.TreeSet<>(System.getProperties().stringPropertyNames())) {
            if (k.startsWith("ai.djl.") || k.startsWith("kiln.")) cmd.add("-D" + k + "=" + System.getProperty(k));
        }
        cmd.add("-Dai.djl.pytorch.num_threads=" + dev.kiln.util.Threads.current()); // as set by --threads, or the default
        cmd.add("-cp");
        cmd.add(classPath());
        cmd.add(ProcessTrials.class.getName());
        return cmd;
    }

    /**
     * The class path, plus where Kiln's classes came from when that is not on it: a notebook kernel loads the
     * self-contained jar with {@code %jars}, outside {@code java.class.path}.
     */
    private static String classPath() {
        String cp = System.getProperty("java.class.path", "");
        try {
            java.security.CodeSource src = ProcessTrials.class.getProtectionDomain().getCodeSource();
            if (src == null) return cp;
            String own = Path.of(src.getLocation().toURI()).toString();
            if (List.of(cp.split(java.io.File.pathSeparator)).contains(own)) return cp;
            return cp.isEmpty() ? own : own + java.io.File.pathSeparator + cp;
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            return cp;
        }
    }

    /**
     * The child: reads its job (one JSON line) from stdin, runs the trial, reports each evaluation on stdout and
     * waits for the answer, then reports how it ended. Everything else it prints goes to stderr, the trial's log.
     */
    public static void main(String[] args) {
        PrintStream proto = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);
        watchParent();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int rc = 0;
        try {
            String first = in.readLine();
            if (first == null) Runtime.getRuntime().halt(3);
            JsonObject job = JsonParser.parseString(first).getAsJsonObject();
            SweepSpec spec = SweepSpec.parse(job.get("sweep").toString(), job.get("source").getAsString(), Path.of(job.get("dir").getAsString()));
            Trial trial = Trial.fromJson(job.getAsJsonObject("trial"));
            String device = job.has("device") ? job.get("device").getAsString() : null;
            Sweep.RunResult r = new RunTrials(spec, System.err, false).run(trial, Path.of(job.get("run_dir").getAsString()), device, (step, value) -> {
                proto.println(TAG + "eval " + step + " " + value);
                String answer = in.readLine();
                if (answer == null) Runtime.getRuntime().halt(3); // the sweep is gone: stop where the last checkpoint is
                return answer.equals("prune");
            });
            proto.println(TAG + "done " + r.steps() + " " + r.seconds());
        } catch (Throwable e) {
            e.printStackTrace();
            String m = e instanceof IOException io ? dev.kiln.util.IoErrors.describe(io) : e.getMessage();
            if (m == null) m = e.getClass().getSimpleName();
            int nl = m.indexOf('\n');
            proto.println(TAG + "failed " + (nl < 0 ? m : m.substring(0, nl) + " ..."));
            rc = 1;
        }
        proto.flush();
        System.err.flush();
        System.exit(rc);
    }

    /** Halts this trial when the sweep's process is gone (killed), as the sweep itself was. */
    private static void watchParent() {
        ProcessHandle parent = ProcessHandle.current().parent().orElse(null);
        if (parent == null) return;
        Thread t = new Thread(() -> {
            while (true) {
                if (!parent.isAlive()) Runtime.getRuntime().halt(3);
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "kiln-sweep-parent-watch");
        t.setDaemon(true);
        t.start();
    }
}
