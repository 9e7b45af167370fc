package dev.kiln.sweep;

import com.google.gson.JsonElement;
import dev.kiln.config.RunConfig;
import dev.kiln.train.Runs;
import dev.kiln.train.Trainer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Trials as ordinary training runs: the base config with the sweep's overrides and the trial's parameters, written
 * to the trial's folder, best/ chosen by the sweep metric. The trainer reports each evaluation to the sweep through
 * a listener, which asks the trainer to stop when the pruner says so. A folder holding the trial's checkpoints
 * resumes from them, as {@code kiln train} does.
 */
public final class RunTrials implements Sweep.TrialRunner {
    private final SweepSpec spec;
    private final PrintStream console;
    private final boolean quiet;

    /** Quiet trials: the sweep prints one line per trial. */
    public RunTrials(SweepSpec spec) {
        this(spec, new PrintStream(OutputStream.nullOutputStream()), true);
    }

    /** Trials whose runs print their progress and closing summary to {@code console} (a trial process's log). */
    RunTrials(SweepSpec spec, PrintStream console, boolean quiet) {
        this.spec = spec;
        this.console = console;
        this.quiet = quiet;
    }

    /** The {@code --set} edits that make trial {@code params} from the base config. */
    public List<String> sets(Map<String, JsonElement> params, Path dir) {
        return sets(params, dir, null);
    }

    /** As above, on {@code device} ({@code model.device}) unless it is null. */
    public List<String> sets(Map<String, JsonElement> params, Path dir, String device) {
        List<String> sets = new ArrayList<>();
        params.forEach((k, v) -> sets.add(k + "=" + (v.isJsonPrimitive() && v.getAsJsonPrimitive().isString() ? v.getAsString() : v.toString())));
        if (device != null) sets.add("model.device=" + device);
        if (dir != null) sets.add("output.dir=" + dir.toAbsolutePath());
        sets.add("checkpointing.metric=" + spec.metric);
        sets.add("checkpointing.mode=" + (spec.maximize ? "max" : "min"));
        return sets;
    }

    public RunConfig config(Map<String, JsonElement> params, Path dir) {
        return spec.config(sets(params, dir));
    }

    @Override
    public Sweep.RunResult run(Trial trial, Path dir, Sweep.Reporter reporter) throws IOException {
        return run(trial, dir, null, reporter);
    }

    /** One GradientCollector per JVM (DJL): in one process, trials run one at a time; {@link ProcessTrials} runs several. */
    @Override
    public Sweep.RunResult run(Trial trial, Path dir, String device, Sweep.Reporter reporter) throws IOException {
        RunConfig cfg = spec.config(sets(trial.params, dir, device));
        IOException[] failed = new IOException[1];
        Trainer.Listener pruning = new Trainer.Listener() {
            Trainer.Control control;

            @Override
            public void bind(Trainer.Control c) {
                control = c;
                if (trial.state == Trial.State.PRUNED) c.requestStop("pruned by the sweep");
            }

            @Override
            public void onEval(long step, int epoch, Map<String, Double> metrics) {
                Double v = metrics.get(spec.metric);
                if (v == null) {
                    throw new IllegalArgumentException("the sweep metric \"" + spec.metric + "\" is not reported by task "
                            + cfg.task.type + " (it reports " + metrics.keySet() + "); set \"metric\" in the sweep file");
                }
                try {
                    if (reporter.report(step, v)) control.requestStop("pruned by the sweep at step " + step);
                } catch (IOException e) {
                    failed[0] = e;
                    control.requestStop("cannot write the sweep's state");
                }
            }
        };
        Runs.Outcome o = Runs.train(cfg, console, quiet, List.of(pruning));
        if (failed[0] != null) throw failed[0];
        return new Sweep.RunResult(o.result().steps, o.result().trainSeconds);
    }
}
