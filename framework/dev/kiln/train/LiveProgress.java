package dev.kiln.train;

import dev.kiln.log.LossPlot;
import dev.kiln.log.Progress;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Training feedback for notebooks and logs: plain progress lines (never a {@code \r} bar, which notebook
 * front ends render badly), one line per evaluation, and at the end an ASCII loss curve
 * ({@link LossPlot#textPlot}). Works in any Jupyter Java kernel, since it only prints; the PNG plot is shown
 * by returning an image from a cell (see {@code Kiln.Run#lossPlot()}).
 */
public final class LiveProgress implements Trainer.Listener {
    private final PrintStream out;
    private final int every;
    private final int plotWidth;
    private final int plotHeight;
    private Progress progress;
    private final List<double[]> losses = new ArrayList<>();
    private Map<String, Double> lastEval;

    /** Prints to {@code out}: a line every {@code every} steps (and the first and last), a 60 × 10 curve. */
    public LiveProgress(PrintStream out, int every) {
        this(out, every, 60, 10);
    }

    public LiveProgress(PrintStream out, int every, int plotWidth, int plotHeight) {
        this.out = out;
        this.every = Math.max(1, every);
        this.plotWidth = plotWidth;
        this.plotHeight = plotHeight;
    }

    @Override
    public void onStart(long totalSteps, long startStep) {
        progress = new Progress(totalSteps, startStep, out, Progress.Mode.LINES, every);
        if (startStep > 0) progress.message("resumed at step " + startStep + " of " + totalSteps);
        else progress.message("training: " + totalSteps + " steps");
    }

    @Override
    public void onStep(long step, int epoch, Trainer.StepStats s) {
        if (Double.isFinite(s.loss())) losses.add(new double[] {step, s.loss()});
        progress.step(step, s.loss(), s.lr(), s.tokens() / Math.max(1e-9, s.seconds()));
    }

    @Override
    public void onEval(long step, int epoch, Map<String, Double> metrics) {
        if (metrics.isEmpty()) return;
        lastEval = metrics;
        progress.eval(step, metrics);
    }

    @Override
    public void onSkip(long step, String reason) {
        progress.message("step " + step + " skipped: " + reason);
    }

    @Override
    public void onEnd(Trainer.Result r) {
        progress.finish();
        out.printf(Locale.ROOT, "done: %d steps in %.1f s%s%n", r.steps, r.trainSeconds,
                r.earlyStopped ? " (early stop)" : "");
        if (losses.size() >= 2) {
            double[] x = losses.stream().mapToDouble(a -> a[0]).toArray();
            double[] y = losses.stream().mapToDouble(a -> a[1]).toArray();
            out.print(LossPlot.textPlot("training loss", x, y, plotWidth, plotHeight));
        }
        if (lastEval != null) {
            StringBuilder sb = new StringBuilder("final eval:");
            lastEval.forEach((k, v) -> sb.append(' ').append(k).append(' ').append(String.format(Locale.ROOT, "%.4f", v)));
            out.println(sb);
        }
        out.flush();
    }
}
