package dev.kiln.sweep;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs a sweep into a folder: {@code trials/NNN/} (each an ordinary run folder), {@code results.jsonl} (one line per
 * finished trial, in trial order), {@code results.md} (best first), {@code sweep.png}, {@code summary.json}, and
 * {@code best} (a link to the best trial's folder). {@code running.json} holds the trial in progress (its
 * parameters and evaluations so far), so a killed sweep started again with the same file continues it: finished
 * trials are kept, the running one resumes (a real run from its checkpoint), and since samplers and pruners are
 * pure functions of the seed and the finished trials, the sequence equals an uninterrupted sweep's.
 *
 * <p>Kiln writes only its own entries into the folder ({@value #MARKER} marks it), and refuses a non-empty folder
 * that is not a sweep, or a sweep started from a different file ({@code trials} may grow, to extend a sweep;
 * {@code devices} may change).
 */
public final class Sweep {
    public static final String MARKER = ".kiln-sweep";
    static final Set<String> ENTRIES = Set.of(MARKER, "sweep.json", "trials", "results.jsonl", "results.md", "sweep.png",
            "summary.json", "best", "running.json");
    private static final Pattern TEMP = Pattern.compile("\\.(sweep\\.json|results\\.jsonl|results\\.md|sweep\\.png|summary\\.json|running\\.json|best)\\..*");

    /** What a trial run reports: optimizer steps taken and its training time (whole run, all sessions). */
    public record RunResult(long steps, double seconds) {}

    /** Told each evaluation of the sweep metric; true means the trial is pruned and should stop now. */
    public interface Reporter {
        boolean report(long step, double value) throws IOException;
    }

    /**
     * Runs one trial in {@code dir} (resuming what is there), reporting each evaluation. A trial whose state is
     * already PRUNED (the sweep was killed between the decision and the stop) is to stop at once.
     */
    public interface TrialRunner {
        RunResult run(Trial trial, Path dir, Reporter reporter) throws IOException;

        /**
         * Runs the trial on {@code device} (one of the sweep's devices; null: wherever the trial's config says). With
         * several devices this is called from several threads at once. By default the device is ignored.
         */
        default RunResult run(Trial trial, Path dir, String device, Reporter reporter) throws IOException {
            return run(trial, dir, reporter);
        }
    }

    /** A finished sweep: every trial in order, and the best complete one (null when none completed). */
    public record Result(Path dir, List<Trial> trials, Trial best) {}

    private final SweepSpec spec;
    private final Path out;
    private final PrintStream console;

    public Sweep(SweepSpec spec, Path out, PrintStream console) {
        this.spec = spec;
        this.out = out.toAbsolutePath().normalize();
        this.console = console;
    }

    /** Refuses, before anything is written, a folder that is neither new, empty, nor this sweep. */
    public void check() throws IOException {
        if (Files.exists(out) && !Files.isDirectory(out)) throw new IllegalArgumentException("--output " + out + " is a file; give a folder");
        if (out.getParent() == null || out.equals(Path.of(System.getProperty("user.home")).toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--output " + out + " is a root or home folder; give a new folder inside it");
        }
        if (!Files.isDirectory(out)) return;
        try (Stream<Path> s = Files.list(out)) {
            if (s.findAny().isEmpty()) return;
        }
        if (!Files.isRegularFile(out.resolve(MARKER))) {
            throw new IllegalArgumentException("--output " + out + " is not empty and is not a Kiln sweep; choose a new folder");
        }
        Path saved = out.resolve("sweep.json");
        if (Files.isRegularFile(saved)) {
            JsonObject a = JsonParser.parseString(Files.readString(saved)).getAsJsonObject().deepCopy();
            JsonObject b = spec.json.deepCopy();
            for (String free : List.of("trials", "devices")) { // devices change where trials run, not which
                a.remove(free);
                b.remove(free);
            }
            if (!a.equals(b)) {
                String key = null;
                for (String k : new java.util.TreeSet<>(union(a.keySet(), b.keySet()))) {
                    if (!java.util.Objects.equals(a.get(k), b.get(k))) {
                        key = k;
                        break;
                    }
                }
                throw new IllegalArgumentException(out + " holds a sweep from a different sweep file (first difference: \"" + key
                        + "\"); use another --output to start a new sweep");
            }
        }
        Path best = out.resolve("best");
        if (Files.exists(best, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(best)) {
            throw new IllegalArgumentException(best + " is not the link Kiln writes; move it away");
        }
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new java.util.HashSet<>(a);
        u.addAll(b);
        return u;
    }

    /** Runs (or resumes) the sweep, one trial at a time in this process. */
    public Result run(TrialRunner runner) throws IOException {
        return run(runner, java.util.Collections.singletonList(null));
    }

    /**
     * Runs (or resumes) the sweep with one trial at a time on each of {@code devices} (a null entry: the trial's
     * config decides). Trial n is sampled, and pruned, from trials 0 … n−max_parallel only (all finished before it
     * starts, so it waits for trial n−max_parallel), with trials n−max_parallel+1 … n−1 pending: the sequence is then
     * a function of the sweep file alone, the same however long trials take, whatever the number of devices, and
     * after a resume. With max_parallel 1 that is every earlier trial.
     */
    public Result run(TrialRunner runner, List<String> devices) throws IOException {
        check();
        Files.createDirectories(out);
        if (!Files.exists(out.resolve(MARKER))) {
            Files.writeString(out.resolve(MARKER), "A Kiln sweep folder: Kiln writes and deletes only its own entries here ("
                    + String.join(", ", new java.util.TreeSet<>(ENTRIES)) + ").\n");
        }
        removeTemps();
        AtomicFiles.writeJson(out.resolve("sweep.json"), spec.json);
        Map<Integer, Trial> done = readResults();
        Map<Integer, Trial> resumed = readRunning();
        resumed.keySet().removeAll(done.keySet());
        Sampler sampler = Sampler.of(spec);
        Pruner pruner = Pruner.of(spec);
        if (!done.isEmpty() || !resumed.isEmpty()) {
            console.printf(Locale.ROOT, "sweep: resuming %s: %d of %d trials finished%s%n", out, done.size(), spec.trials,
                    resumed.isEmpty() ? "" : ", trial(s) " + String.join(", ", resumed.values().stream().map(Trial::folder).toList()) + " continue");
        }
        java.util.Deque<String> free = new java.util.ArrayDeque<>();
        for (String d : devices) free.add(d == null ? "" : d); // ArrayDeque takes no null
        // one device: the trial runs on this thread (libtorch's grad mode is per thread, and DJL sets it on the
        // thread that loaded the engine); several: one thread each, waiting on a trial process
        java.util.concurrent.ExecutorService pool = devices.size() == 1 ? null : java.util.concurrent.Executors.newFixedThreadPool(devices.size(), r -> {
            Thread th = new Thread(r, "kiln-sweep-trial");
            th.setDaemon(true);
            return th;
        });
        java.util.concurrent.CompletionService<Trial> finishing = new java.util.concurrent.ExecutorCompletionService<>(
                pool != null ? pool : Runnable::run);
        Map<Integer, Trial> active = new TreeMap<>();
        Map<Integer, String> slots = new java.util.HashMap<>(); // running trial -> the entry of free it holds
        int next = 0;
        try {
            while (true) {
                while (!free.isEmpty()) {
                    while (next < spec.trials && (done.containsKey(next) || active.containsKey(next))) next++;
                    if (next >= spec.trials) break;
                    int n = next;
                    Trial t = resumed.remove(n);
                    if (t == null) {
                        if (!windowFinished(n, done)) break; // trial n - max_parallel still runs: its result is needed
                        t = new Trial(n, sampler.suggest(n, window(n, done), pending(n, done, active)));
                    }
                    String device = take(free, t.device);
                    t.device = device.isEmpty() ? null : device;
                    slots.put(n, device);
                    synchronized (this) { // workers write running.json from active too
                        active.put(n, t);
                        writeRunning(active.values());
                    }
                    Trial trial = t;
                    List<Trial> finished = window(n, done);
                    finishing.submit(() -> runOne(runner, trial, finished, pruner, device.isEmpty() ? null : device, active));
                }
                if (active.isEmpty()) break;
                Trial t;
                try {
                    t = finishing.take().get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("sweep interrupted");
                } catch (java.util.concurrent.ExecutionException e) {
                    // not a trial's failure (those are recorded): an Error, or the sweep's own files; stop everything
                    if (e.getCause() instanceof Error err) throw err;
                    if (e.getCause() instanceof IOException io) throw io;
                    throw new IllegalStateException(e.getCause());
                }
                free.add(slots.remove(t.number));
                done.put(t.number, t);
                synchronized (this) {
                    active.remove(t.number);
                    writeOutputs(new ArrayList<>(done.values()));
                    if (active.isEmpty()) Files.deleteIfExists(out.resolve("running.json"));
                    else writeRunning(active.values());
                }
                console.println(line(t, best(done.values())));
            }
        } finally {
            if (pool != null) pool.shutdownNow();
            if (!active.isEmpty() && runner instanceof AutoCloseable c) {
                try {
                    c.close(); // trials still running in other processes stop with the sweep, as on a kill
                } catch (Exception e) {
                    console.println("sweep: " + oneLine(e));
                }
            }
        }
        List<Trial> all = new ArrayList<>(done.values());
        Trial best = best(all);
        if (best != null) {
            console.printf(Locale.ROOT, "sweep: best trial %s: %s=%s with %s; results in %s%n", best.folder(), spec.metric,
                    num(best.metric), params(best), out.resolve("results.md"));
        } else {
            console.println("sweep: no trial completed; see " + out.resolve("results.md"));
        }
        return new Result(out, all, best);
    }

    /** Runs trial {@code t} to its end on a worker thread; a trial that throws is recorded as failed. */
    private Trial runOne(TrialRunner runner, Trial t, List<Trial> finished, Pruner pruner, String device, Map<Integer, Trial> active)
            throws IOException {
        long start = System.nanoTime();
        try {
            RunResult r = runner.run(t, out.resolve("trials").resolve(t.folder()), device, (step, value) -> {
                synchronized (this) {
                    t.record(step, value);
                    // the decision is saved with the curve: a sweep killed before the trial stopped stops it on resume
                    if (t.state != Trial.State.PRUNED && pruner.prune(t, finished)) t.state = Trial.State.PRUNED;
                    writeRunning(active.values());
                    return t.state == Trial.State.PRUNED;
                }
            });
            t.steps = r.steps();
            t.seconds = r.seconds() >= 0 ? r.seconds() : (System.nanoTime() - start) / 1e9;
            t.metric = t.best(spec.maximize);
            if (t.state != Trial.State.PRUNED) t.state = t.metric != null ? Trial.State.COMPLETE : Trial.State.FAILED;
            if (t.state == Trial.State.FAILED) t.error = "no evaluation reported \"" + spec.metric + "\"";
        } catch (IOException | RuntimeException e) {
            // a trial that cannot run (diverged, out of memory, a value the task refuses) does not end the sweep
            t.state = Trial.State.FAILED;
            t.seconds = (System.nanoTime() - start) / 1e9;
            t.metric = t.best(spec.maximize);
            t.error = oneLine(e);
        }
        return t;
    }

    /** Trials 0 … n−max_parallel: what trial n is sampled and pruned from. */
    private List<Trial> window(int n, Map<Integer, Trial> done) {
        List<Trial> w = new ArrayList<>();
        for (Trial t : done.values()) if (t.number <= n - spec.maxParallel) w.add(t);
        return w;
    }

    private boolean windowFinished(int n, Map<Integer, Trial> done) {
        for (int k = 0; k <= n - spec.maxParallel; k++) if (!done.containsKey(k)) return false;
        return true;
    }

    /** Trials n−max_parallel+1 … n−1, finished or not: their parameters only (TPE's constant liar). */
    private List<Trial> pending(int n, Map<Integer, Trial> done, Map<Integer, Trial> active) {
        List<Trial> p = new ArrayList<>();
        for (int k = Math.max(0, n - spec.maxParallel + 1); k < n; k++) {
            Trial t = done.containsKey(k) ? done.get(k) : active.get(k);
            if (t != null) p.add(new Trial(k, t.params));
        }
        return p;
    }

    /** A free device, the trial's own when it resumes (its run's config names it) and that one is free. */
    private static String take(java.util.Deque<String> free, String preferred) {
        if (preferred != null && free.remove(preferred)) return preferred;
        return free.poll();
    }

    /** The best complete trial, or null. */
    Trial best(Iterable<Trial> trials) {
        Trial b = null;
        for (Trial t : trials) {
            if (t.state != Trial.State.COMPLETE) continue;
            if (b == null || (spec.maximize ? t.metric > b.metric : t.metric < b.metric)) b = t;
        }
        return b;
    }

    /** Best first: complete trials by metric, then pruned (deeper first), then failed. */
    List<Trial> ranked(List<Trial> all) {
        List<Trial> ok = new ArrayList<>(), failed = new ArrayList<>();
        for (Trial t : all) {
            if (t.state == Trial.State.COMPLETE && t.metric != null || t.state == Trial.State.PRUNED && !t.curve.isEmpty()) ok.add(t);
            else failed.add(t);
        }
        ok.sort(TpeSampler.rank(spec.maximize));
        ok.addAll(failed);
        return ok;
    }

    private void writeOutputs(List<Trial> all) throws IOException {
        StringBuilder jl = new StringBuilder();
        for (Trial t : all) jl.append(t.toJson()).append('\n');
        AtomicFiles.write(out.resolve("results.jsonl"), jl.toString().getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(out.resolve("results.md"), table(ranked(all)).getBytes(StandardCharsets.UTF_8));
        Trial best = best(all);
        JsonObject s = new JsonObject();
        s.addProperty("method", spec.method.name().toLowerCase(Locale.ROOT));
        s.addProperty("pruner", spec.pruner.type.name().toLowerCase(Locale.ROOT));
        s.addProperty("metric", spec.metric);
        s.addProperty("direction", spec.maximize ? "max" : "min");
        s.addProperty("trials_planned", spec.trials);
        s.addProperty("trials_finished", all.size());
        for (Trial.State st : List.of(Trial.State.COMPLETE, Trial.State.PRUNED, Trial.State.FAILED)) {
            s.addProperty(st.name().toLowerCase(Locale.ROOT), all.stream().filter(t -> t.state == st).count());
        }
        s.addProperty("total_steps", all.stream().mapToLong(t -> t.steps).sum());
        s.addProperty("total_seconds", Math.round(all.stream().mapToDouble(t -> t.seconds).sum() * 10) / 10.0);
        if (best != null) {
            s.addProperty("best_trial", best.number);
            s.addProperty("best_folder", "trials/" + best.folder());
            s.addProperty("best_metric", best.metric);
            JsonObject p = new JsonObject();
            best.params.forEach(p::add);
            s.add("best_params", p);
        }
        AtomicFiles.writeJson(out.resolve("summary.json"), s);
        if (best != null) link(out.resolve("best"), Path.of("trials", best.folder()));
        try {
            SweepPlot.write(spec, all, out.resolve("sweep.png"));
        } catch (java.awt.HeadlessException | IOException e) {
            console.println("sweep: could not draw sweep.png: " + oneLine(e));
        }
    }

    /** Replaces our link atomically: a new link beside it renamed over it. */
    private static void link(Path at, Path target) throws IOException {
        if (Files.isSymbolicLink(at) && Files.readSymbolicLink(at).equals(target)) return;
        Path tmp = at.resolveSibling(".best." + ProcessHandle.current().pid() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createSymbolicLink(tmp, target);
        Files.move(tmp, at, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    String table(List<Trial> ranked) {
        StringBuilder b = new StringBuilder();
        b.append("# Sweep results (").append(spec.method.name().toLowerCase(Locale.ROOT)).append(", pruner ")
                .append(spec.pruner.type.name().toLowerCase(Locale.ROOT)).append(", ").append(spec.metric)
                .append(spec.maximize ? ", higher is better" : ", lower is better").append("), best first\n\n| trial |");
        for (Param p : spec.params) b.append(' ').append(p.key()).append(" |");
        b.append(' ').append(spec.metric).append(" | steps | state | time |\n|---:|");
        for (int i = 0; i < spec.params.size(); i++) b.append("---:|");
        b.append("---:|---:|---|---:|\n");
        for (Trial t : ranked) {
            b.append("| ").append(t.folder()).append(" |");
            for (Param p : spec.params) b.append(' ').append(show(t.params.get(p.key()))).append(" |");
            b.append(' ').append(t.metric == null ? "-" : num(t.metric)).append(" | ").append(t.steps).append(" | ")
                    .append(t.state.name().toLowerCase(Locale.ROOT)).append(t.error != null ? " (" + t.error.replace("|", "/") + ")" : "")
                    .append(" | ").append(String.format(Locale.ROOT, "%.1fs", t.seconds)).append(" |\n");
        }
        return b.toString();
    }

    String line(Trial t, Trial best) {
        return String.format(Locale.ROOT, "trial %s (%d/%d)  %s  %s=%s  steps=%d  %s  %.1fs  | best: %s", t.folder(), t.number + 1, spec.trials,
                params(t), spec.metric, t.metric == null ? "-" : num(t.metric), t.steps,
                t.state.name().toLowerCase(Locale.ROOT) + (t.error != null ? " (" + t.error + ")" : ""), t.seconds,
                best == null ? "none yet" : "trial " + best.folder() + " " + spec.metric + "=" + num(best.metric));
    }

    static String params(Trial t) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, JsonElement> e : t.params.entrySet()) {
            if (b.length() > 0) b.append(' ');
            b.append(e.getKey().substring(e.getKey().lastIndexOf('.') + 1)).append('=').append(show(e.getValue()));
        }
        return b.toString();
    }

    static String show(JsonElement v) {
        if (v == null) return "-";
        if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber()) {
            double d = v.getAsDouble();
            if (d == Math.rint(d) && Math.abs(d) < 1e15) return Long.toString((long) d);
            return String.format(Locale.ROOT, Math.abs(d) < 1e-3 || Math.abs(d) >= 1e4 ? "%.3g" : "%.4g", d);
        }
        return v.isJsonPrimitive() ? v.getAsString() : v.toString();
    }

    static String num(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    private static String oneLine(Throwable e) {
        String m = e instanceof IOException io ? dev.kiln.util.IoErrors.describe(io) : e.getMessage();
        if (m == null) m = e.getClass().getSimpleName();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl) + " ...";
    }

    private Map<Integer, Trial> readResults() throws IOException {
        Map<Integer, Trial> done = new TreeMap<>();
        Path f = out.resolve("results.jsonl");
        if (!Files.isRegularFile(f)) return done;
        for (String l : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            if (l.isBlank()) continue;
            Trial t = Trial.fromJson(JsonParser.parseString(l).getAsJsonObject());
            done.put(t.number, t);
        }
        return done;
    }

    /** The trials in progress when the sweep stopped: running.json holds one per line. */
    private Map<Integer, Trial> readRunning() throws IOException {
        Map<Integer, Trial> running = new TreeMap<>();
        Path f = out.resolve("running.json");
        if (!Files.isRegularFile(f)) return running;
        for (String l : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            if (l.isBlank()) continue;
            Trial t = Trial.fromJson(JsonParser.parseString(l).getAsJsonObject());
            running.put(t.number, t);
        }
        return running;
    }

    private void writeRunning(Iterable<Trial> running) throws IOException {
        StringBuilder b = new StringBuilder();
        for (Trial t : running) b.append(t.toJson()).append('\n');
        AtomicFiles.write(out.resolve("running.json"), b.toString().getBytes(StandardCharsets.UTF_8));
    }

    private void removeTemps() throws IOException {
        try (Stream<Path> s = Files.list(out)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (TEMP.matcher(p.getFileName().toString()).matches()) Files.deleteIfExists(p);
            }
        }
    }
}
