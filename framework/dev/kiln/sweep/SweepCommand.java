package dev.kiln.sweep;

import com.google.gson.JsonElement;
import dev.kiln.config.Suggest;
import dev.kiln.train.DryRun;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code kiln sweep SWEEP.json --output DIR [--dry-run]}: the command line's entry, independent of its parser. */
public final class SweepCommand {
    public static final String USAGE = "sweep SWEEP.json --output DIR [--dry-run]   hyperparameter search; --dry-run: planned trials and time, writes nothing";

    private SweepCommand() {}

    /** Runs the command on its arguments (after the word "sweep"); problems are IllegalArgumentExceptions, one line. */
    public static int run(List<String> args, PrintStream out, PrintStream console) throws IOException {
        String file = null, output = null;
        boolean dry = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("-h") || a.equals("--help")) {
                out.println("usage: kiln " + USAGE + "\nthe sweep file's keys: docs/sweep.md");
                return 0;
            }
            if (a.equals("--dry-run")) dry = true;
            else if (a.equals("--output") || a.startsWith("--output=")) {
                if (a.startsWith("--output=")) output = a.substring(9);
                else if (i + 1 < args.size()) output = args.get(++i);
                else throw new IllegalArgumentException("sweep: --output needs a folder");
            } else if (a.startsWith("-")) {
                throw new IllegalArgumentException("sweep: unknown option " + a + Suggest.didYouMean(Suggest.similar(a, List.of("--output", "--dry-run")))
                        + "; usage: kiln " + USAGE);
            } else if (file == null) file = a;
            else throw new IllegalArgumentException("sweep: one sweep file expected, got " + file + " and " + a);
        }
        if (file == null) throw new IllegalArgumentException("sweep: missing SWEEP.json; usage: kiln " + USAGE);
        return run(Path.of(file), output == null ? null : Path.of(output), dry, out, console);
    }

    /** The command on parsed arguments; {@code output} may be null with {@code dry}. */
    public static int run(Path file, Path output, boolean dry, PrintStream out, PrintStream console) throws IOException {
        SweepSpec spec = SweepSpec.load(file);
        if (dry) {
            if (output != null) new Sweep(spec, output, console).check();
            dryRun(spec, out);
            return 0;
        }
        if (output == null) throw new IllegalArgumentException("sweep: --output DIR is required (where trials/, results.md and best go)");
        Sweep.Result r = sweep(spec, output, console);
        out.println(r.dir().resolve("summary.json"));
        return r.best() != null ? 0 : 1;
    }

    /** Runs (or resumes) the sweep on the devices {@link #devices} gives: in this process, or one child JVM per device. */
    public static Sweep.Result sweep(SweepSpec spec, Path output, PrintStream console) throws IOException {
        List<String> devices = devices(spec, console);
        if (devices.size() == 1) return new Sweep(spec, output, console).run(new RunTrials(spec), devices);
        try (ProcessTrials runner = new ProcessTrials(spec)) {
            return new Sweep(spec, output, console).run(runner, devices);
        }
    }

    /**
     * The devices trials run on, one trial per entry at a time: the file's {@code devices} (its first
     * {@code max_parallel}), else with max_parallel &gt; 1 one GPU each while there are GPUs, else one in-process slot
     * (null: the base config's device). The trial sequence depends on max_parallel only, not on what this returns.
     */
    static List<String> devices(SweepSpec spec, PrintStream console) {
        if (!spec.devices.isEmpty()) return List.copyOf(spec.devices.subList(0, spec.maxParallel));
        if (spec.maxParallel == 1) return java.util.Collections.singletonList(null);
        int gpus = ai.djl.engine.Engine.getInstance().getGpuCount();
        if (gpus >= 2) {
            int n = Math.min(gpus, spec.maxParallel);
            if (n < spec.maxParallel) {
                console.printf(Locale.ROOT, "sweep: \"max_parallel\": %d, but %d GPUs are visible: %d trials at a time%n", spec.maxParallel, gpus, n);
            }
            List<String> d = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) d.add("gpu:" + i);
            return d;
        }
        console.printf(Locale.ROOT, "sweep: \"max_parallel\": %d needs one device per trial, and %s: trials run one at a time"
                        + " (in the order max_parallel %d gives). To run CPU trials side by side, each in its own process, list them:"
                        + " \"devices\": [\"cpu\", \"cpu\"]%n", spec.maxParallel,
                gpus == 0 ? "no GPU is visible" : "one GPU is visible", spec.maxParallel);
        return java.util.Collections.singletonList(null);
    }

    /** The planned trials (all of a grid or random search; TPE's random start-up ones) and the time a trial's steps take. */
    static void dryRun(SweepSpec spec, PrintStream out) throws IOException {
        Sampler sampler = Sampler.of(spec);
        int shown = spec.method == SweepSpec.Method.TPE ? Math.min(spec.trials, spec.startupTrials) : spec.trials;
        out.printf(Locale.ROOT, "sweep %s: %s search, %d trials, metric %s (%s), pruner %s, base %s%n", spec.source,
                spec.method.name().toLowerCase(Locale.ROOT), spec.trials, spec.metric, spec.maximize ? "max" : "min",
                spec.pruner.type.name().toLowerCase(Locale.ROOT), spec.describeBase());
        Map<String, JsonElement> first = null;
        for (int n = 0; n < shown; n++) {
            Map<String, JsonElement> p = sampler.suggest(n, List.of());
            if (first == null) first = p;
            Trial t = new Trial(n, p);
            out.println("  trial " + t.folder() + "  " + Sweep.params(t));
        }
        if (shown < spec.trials) {
            out.printf(Locale.ROOT, "  trials %03d-%03d: chosen by TPE from the results of the trials before them%s%n", shown, spec.trials - 1,
                    spec.maxParallel > 1 ? " (trial n from trials 0 to n-" + spec.maxParallel + ", the others still running)" : "");
        }
        List<String> devices = devices(spec, out);
        String device = devices.get(0);
        DryRun d = DryRun.run(spec.config(new RunTrials(spec).sets(first, null, device)));
        int at = devices.size();
        out.printf(Locale.ROOT, "estimate: %d steps a trial at %.3fs a step (trial 000's config%s, measured): about %s a trial, "
                        + "%s for %d trials without pruning%s (evaluation and saving excluded)%n",
                d.totalSteps(), d.stepSeconds(), device == null ? "" : " on " + device, duration(d.estimatedSeconds()),
                duration(d.estimatedSeconds() * Math.ceil(spec.trials / (double) at)), spec.trials,
                at > 1 ? ", " + at + " at a time on " + String.join(", ", devices) + " (each in its own process)" : "");
    }

    static String duration(double s) {
        if (s < 90) return String.format(Locale.ROOT, "%.0fs", s);
        if (s < 5400) return String.format(Locale.ROOT, "%.0f min", s / 60);
        return String.format(Locale.ROOT, "%.1f h", s / 3600);
    }
}
