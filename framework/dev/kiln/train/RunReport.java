package dev.kiln.train;

import com.google.gson.JsonObject;
import dev.kiln.log.LossPlot;
import dev.kiln.log.MetricsLog;
import dev.kiln.log.Progress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The closing summary of a run for a person: how long it took, the best and final metrics, where best/ and
 * final/ are, and the training loss as an ASCII curve (the window means of metrics.jsonl, as TensorBoard and
 * loss.png show them). {@code train} prints it to stderr; summary.json holds the same numbers for programs.
 */
public final class RunReport {
    private RunReport() {}

    static final int PLOT_WIDTH = 60;
    static final int PLOT_HEIGHT = 10;

    public static String closing(Path runDir, Trainer.Result r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "done: %d steps in %s%s%n", r.steps, Progress.formatEta(r.trainSeconds),
                r.earlyStopped ? " (stopped early: no improvement)" : ""));
        if (r.bestEval != null && !r.bestEval.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "best  (step %d): %s%n", r.bestStep, metrics(r.bestEval)));
        }
        if (!r.lastEval.isEmpty()) sb.append("final: ").append(metrics(r.lastEval)).append('\n');
        if (!Double.isNaN(r.finalLoss)) sb.append(String.format(Locale.ROOT, "last training loss %.4f%n", r.finalLoss));
        Path best = runDir.resolve("best");
        if (Files.isDirectory(best)) sb.append("best model:  ").append(best.toAbsolutePath()).append('\n');
        sb.append("final model: ").append(runDir.resolve("final").toAbsolutePath()).append('\n');
        String plot = lossCurve(runDir);
        if (plot != null) sb.append(plot);
        return sb.toString();
    }

    /** The ASCII training-loss curve from metrics.jsonl, or null with fewer than two windows. */
    public static String lossCurve(Path runDir) {
        List<double[]> pts = new ArrayList<>();
        try {
            for (JsonObject row : MetricsLog.read(runDir.resolve(MetricsLog.FILE_NAME))) {
                if (row.has("loss") && row.has("step") && !row.has("eval_loss")) {
                    double y = row.get("loss").getAsDouble();
                    if (Double.isFinite(y)) pts.add(new double[] {row.get("step").getAsDouble(), y});
                }
            }
        } catch (IOException | RuntimeException e) {
            return null; // the summary is still useful without the curve
        }
        if (pts.size() < 2) return null;
        return LossPlot.textPlot("training loss (by step)", pts.stream().mapToDouble(a -> a[0]).toArray(),
                pts.stream().mapToDouble(a -> a[1]).toArray(), PLOT_WIDTH, PLOT_HEIGHT);
    }

    /** The closing line of {@code evaluate}: {@code evaluated in 0:00:12: accuracy 0.9350, macro_f1 0.9349}. */
    public static String evaluation(Map<String, ?> m, double seconds) {
        Map<String, Double> numbers = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, ?> e : m.entrySet()) {
            if (e.getValue() instanceof Number n && !(n instanceof Integer || n instanceof Long)) numbers.put(e.getKey(), n.doubleValue());
        }
        return "evaluated in " + Progress.formatEta(seconds) + ": " + metrics(numbers);
    }

    /** {@code accuracy 0.9380, macro_f1 0.9377, loss 0.2101}: the first few metrics, per-class ones left out. */
    static String metrics(Map<String, Double> m) {
        StringBuilder sb = new StringBuilder();
        int shown = 0;
        for (Map.Entry<String, Double> e : m.entrySet()) {
            if (e.getKey().startsWith("f1_") || e.getKey().startsWith("precision_") || e.getKey().startsWith("recall_")) continue;
            if (shown++ == 6) {
                sb.append(", ...");
                break;
            }
            if (sb.length() > 0) sb.append(", ");
            sb.append(e.getKey()).append(' ').append(String.format(Locale.ROOT, "%.4f", e.getValue()));
        }
        return sb.toString();
    }
}
