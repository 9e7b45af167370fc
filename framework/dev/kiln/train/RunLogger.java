package dev.kiln.train;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.kiln.log.LossPlot;
import dev.kiln.log.MetricsLog;
import dev.kiln.log.Progress;
import dev.kiln.log.SystemStats;
import dev.kiln.log.TensorBoardWriter;
import dev.kiln.models.Backbone;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a run directory's logs: console progress, {@code metrics.jsonl}, TensorBoard events under
 * {@code tensorboard/}, and at the end {@code summary.json} and {@code loss.png}.
 */
public final class RunLogger implements Trainer.Listener, AutoCloseable {
    private final Path runDir;
    private final TrainerOptions o;
    private final Backbone backbone;
    private final long nParams;
    private final long flopParams;
    private final double peakFlops;
    private final PrintStream console;
    private MetricsLog metrics;
    private TensorBoardWriter tb;
    private Progress progress;
    private long lastStep;
    private double lossSum;
    private int lossCount;
    private long windowTokens;
    private long windowPadded;
    private long runPadded;
    private long windowExamples;
    private double windowSeconds;
    private double windowFlops;
    private double runFlops;
    private long runTokens;
    private long runExamples;
    private double runStepSeconds;
    private double runStepCpuSeconds;
    private double lastGradNorm;
    private double lastLr;
    private double lastTokensPerSec = Double.NaN;
    private long stepsPerEpoch;
    private java.util.function.Consumer<String> outerActivity;
    private boolean activityClaimed;
    private int lastEpoch;

    public RunLogger(Path runDir, TrainerOptions options, Backbone backbone, double peakFlops, PrintStream console) {
        this(runDir, options, backbone, backbone.params().count(), peakFlops, console);
    }

    /** {@code flopParams}: the N of MFU's 6N (see {@link TrainableTask#flopParameters()}). */
    public RunLogger(Path runDir, TrainerOptions options, Backbone backbone, long flopParams, double peakFlops,
                     PrintStream console) {
        this.runDir = runDir;
        this.o = options;
        this.backbone = backbone;
        this.nParams = backbone.params().count();
        this.flopParams = flopParams;
        this.peakFlops = peakFlops;
        this.console = console;
    }

    /** Steps per epoch: metrics rows then carry a fractional epoch (HF's), progress lines show epoch k/n. */
    public RunLogger stepsPerEpoch(long spe) {
        this.stepsPerEpoch = spe;
        return this;
    }

    /** {@code step / stepsPerEpoch} to 4 decimals (1.5 = half way through the second epoch); else the trainer's epoch. */
    private Number epoch(long step, int epoch) {
        return stepsPerEpoch > 0 ? Math.round(step * 1e4 / stepsPerEpoch) / 1e4 : epoch;
    }

    @Override
    public void onStart(long totalSteps, long startStep) {
        try {
            metrics = MetricsLog.open(runDir.resolve(MetricsLog.FILE_NAME), startStep > 0 ? startStep : -1);
            if (o.tensorboard) {
                tb = startStep > 0 ? new TensorBoardWriter(runDir.resolve("tensorboard"), startStep)
                        : new TensorBoardWriter(runDir.resolve("tensorboard"));
                Path config = runDir.resolve("config.json");
                if (Files.isRegularFile(config)) {
                    tb.hparams(hparams(JsonParser.parseString(Files.readString(config)).getAsJsonObject()), runDir.toString());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        progress = new Progress(totalSteps, startStep, console, o.progress, Math.max(1, o.logEverySteps));
        if (stepsPerEpoch > 0) progress.stepsPerEpoch(stepsPerEpoch);
        // evaluation's progress lines go through the bar, which clears and redraws itself around them
        outerActivity = dev.kiln.log.Activity.reportTo(progress::message);
        activityClaimed = true;
        if (startStep > 0) progress.message("resumed at step " + startStep + " of " + totalSteps);
        lastStep = startStep;
    }

    @Override
    public void onStep(long step, int epoch, Trainer.StepStats s) {
        lossSum += s.loss();
        lossCount++;
        windowTokens += s.tokens();
        windowPadded += s.paddedTokens();
        runPadded += s.paddedTokens();
        windowExamples += s.examples();
        runTokens += s.tokens();
        runExamples += s.examples();
        runStepSeconds += s.seconds();
        runStepCpuSeconds += s.cpuSeconds(); // NaN from the first step that lacks it
        windowSeconds += s.seconds();
        windowFlops += s.flops();
        runFlops += s.flops();
        lastGradNorm = s.gradNorm();
        lastLr = s.lr();
        double tps = s.tokens() / Math.max(1e-9, s.seconds());
        // the window mean, as metrics.jsonl, TensorBoard and loss.png show it (a line at a window's end equals its row)
        progress.step(step, lossSum / lossCount, s.lr(), tps);
        if (step % Math.max(1, o.logEverySteps) == 0) flushWindow(step, epoch);
        lastStep = step;
        lastEpoch = epoch;
    }

    private void flushWindow(long step, int epoch) {
        if (lossCount == 0) return;
        double tps = windowTokens / Math.max(1e-9, windowSeconds);
        double computedTps = windowPadded / Math.max(1e-9, windowSeconds);
        double mfu = mfu(computedTps, windowPadded, windowExamples, windowFlops / Math.max(1e-9, windowSeconds));
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", step);
        row.put("epoch", epoch(step, epoch));
        row.put("loss", lossSum / lossCount);
        row.put("lr", lastLr);
        row.put("grad_norm", lastGradNorm);
        row.put("tokens_per_s", tps);
        row.put("computed_tokens_per_s", computedTps);
        row.put("padding_fraction", paddingFraction(windowTokens, windowPadded));
        row.put("mfu", mfu);
        row.put("memory_mb", SystemStats.rssMb());
        metrics.log(row);
        if (tb != null) {
            Map<String, Number> sc = new LinkedHashMap<>();
            sc.put("train/loss", lossSum / lossCount);
            sc.put("train/lr", lastLr);
            sc.put("train/grad_norm", lastGradNorm);
            sc.put("train/tokens_per_s", tps);
            sc.put("train/computed_tokens_per_s", computedTps);
            sc.put("train/mfu", mfu);
            tb.scalars(step, sc);
        }
        lastTokensPerSec = tps;
        lossSum = 0;
        lossCount = 0;
        windowTokens = 0;
        windowPadded = 0;
        windowExamples = 0;
        windowSeconds = 0;
        windowFlops = 0;
    }

    /**
     * Model FLOPs utilisation of the positions actually computed (padding included: the kernels do that work), at
     * the mean padded row width; real tokens/s over computed tokens/s is what padding costs on top. When the task's
     * batches state their FLOPs ({@code statedFlopsPerSec} not NaN), those over the peak.
     */
    private double mfu(double computedTps, long padded, long examples, double statedFlopsPerSec) {
        if (!Double.isNaN(statedFlopsPerSec)) return peakFlops > 0 ? statedFlopsPerSec / peakFlops : Double.NaN;
        int width = (int) Math.max(1, padded / Math.max(1, examples));
        return SystemStats.mfu(computedTps, flopParams, backbone.numLayers(), backbone.hiddenSize(), width, peakFlops);
    }

    /** Share of computed positions that are padding. */
    static double paddingFraction(long real, long padded) {
        return padded <= 0 ? 0 : Math.max(0, 1 - real / (double) padded);
    }

    @Override
    public void onEval(long step, int epoch, Map<String, Double> m) {
        if (m.isEmpty()) return;
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", step);
        row.put("epoch", epoch(step, epoch));
        Map<String, Number> sc = new LinkedHashMap<>();
        for (Map.Entry<String, Double> e : m.entrySet()) {
            row.put("eval_" + e.getKey(), e.getValue());
            sc.put("eval/" + e.getKey(), e.getValue());
        }
        metrics.log(row);
        if (tb != null) tb.scalars(step, sc);
        progress.eval(step, m);
    }

    @Override
    public void onSkip(long step, String reason) {
        progress.message("step " + step + " skipped: " + reason);
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", step);
        row.put("skipped", reason);
        metrics.log(row);
    }

    @Override
    public void onEnd(Trainer.Result r) {
        flushWindow(lastStep, lastEpoch);
        progress.finish();
        if (tb != null) tb.hparamsEnd(TensorBoardWriter.STATUS_SUCCESS);
        ended = true;
    }

    private boolean ended;

    /**
     * The resolved config as TensorBoard hyperparameters: every leaf by its JSON path ({@code optimizer.lr}),
     * lists as JSON text, nulls and {@code output.dir} (each run's own) left out.
     */
    static Map<String, Object> hparams(JsonObject config) {
        Map<String, Object> out = new LinkedHashMap<>();
        flatten("", config, out);
        out.remove("output.dir");
        return out;
    }

    private static void flatten(String prefix, JsonElement e, Map<String, Object> out) {
        if (e == null || e.isJsonNull()) return;
        if (e.isJsonObject()) {
            for (Map.Entry<String, JsonElement> c : e.getAsJsonObject().entrySet()) {
                flatten(prefix.isEmpty() ? c.getKey() : prefix + "." + c.getKey(), c.getValue(), out);
            }
        } else if (e.isJsonArray()) {
            out.put(prefix, e.toString());
        } else {
            JsonPrimitive p = e.getAsJsonPrimitive();
            out.put(prefix, p.isNumber() ? (Object) p.getAsDouble() : p.isBoolean() ? (Object) p.getAsBoolean() : p.getAsString());
        }
    }

    /** summary.json and the loss plot, written after the final model is saved. */
    public void writeSummary(Trainer.Result r, JsonObject extra) throws IOException {
        JsonObject s = new JsonObject();
        s.addProperty("steps", r.steps);
        s.addProperty("skipped_steps", r.skippedSteps);
        s.addProperty("early_stopped", r.earlyStopped);
        s.addProperty("train_seconds", r.trainSeconds);
        s.addProperty("tokens_per_s", r.tokensPerSecond);
        if (runStepSeconds > 0) {
            // over the optimizer steps only (tokens_per_s above also counts evaluation and checkpoint time)
            double stepTps = runTokens / runStepSeconds;
            double computedTps = runPadded / runStepSeconds;
            s.addProperty("step_tokens_per_s", stepTps);
            s.addProperty("computed_tokens_per_s", computedTps);
            s.addProperty("padding_fraction", paddingFraction(runTokens, runPadded));
            s.addProperty("examples_per_s", runExamples / runStepSeconds);
            s.addProperty("mfu", mfu(computedTps, runPadded, runExamples, runFlops / runStepSeconds));
            if (!Double.isNaN(runFlops)) s.addProperty("flops_per_example", runFlops / Math.max(1, runExamples));
            if (runStepCpuSeconds > 0) {
                // per second of this process's CPU time: on shared cores, the step's own cost, not its neighbours'
                s.addProperty("step_cpu_seconds", runStepCpuSeconds);
                s.addProperty("step_tokens_per_cpu_s", runTokens / runStepCpuSeconds);
            }
        }
        if (!Double.isNaN(r.finalLoss)) s.addProperty("final_train_loss", r.finalLoss);
        JsonObject last = new JsonObject();
        r.lastEval.forEach(last::addProperty);
        s.add("final_eval", last);
        if (r.bestEval != null) {
            JsonObject best = new JsonObject();
            r.bestEval.forEach(best::addProperty);
            s.add("best_eval", best);
            s.addProperty("best_step", r.bestStep);
        }
        s.addProperty("peak_rss_mb", SystemStats.peakRssMb());
        s.addProperty("parameters", nParams);
        s.addProperty("flop_parameters", flopParams);
        if (extra != null) extra.entrySet().forEach(e -> s.add(e.getKey(), e.getValue()));
        AtomicFiles.writeJson(runDir.resolve("summary.json"), s);
        if (o.plot) {
            try {
                LossPlot.fromMetrics(MetricsLog.read(runDir.resolve(MetricsLog.FILE_NAME)), "training loss").write(runDir.resolve("loss.png"));
            } catch (RuntimeException | IOException | Error e) {
                console.println("kiln: loss plot not written (" + e + ")");
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (activityClaimed) dev.kiln.log.Activity.reportTo(outerActivity);
        if (tb != null && !ended) tb.hparamsEnd(TensorBoardWriter.STATUS_FAILURE); // an exception ended the run
        if (metrics != null) metrics.close();
        if (tb != null) tb.close();
    }
}
