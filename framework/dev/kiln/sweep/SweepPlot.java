package dev.kiln.sweep;

import com.google.gson.JsonElement;
import dev.kiln.log.LossPlot;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * sweep.png: the metric of each trial with the best so far, then the metric against each parameter (log10 of
 * log-scaled ones, the index of a choice), two panels a row. Failed trials and those without a value are left out.
 */
final class SweepPlot {
    private static final int W = 640, H = 400;

    private SweepPlot() {}

    /** Complete trials and pruned ones (their best value before the stop) as two marker series. */
    private static LossPlot points(LossPlot plot, List<Trial> scored, double[] x, double[] y) {
        for (Trial.State st : List.of(Trial.State.COMPLETE, Trial.State.PRUNED)) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < scored.size(); i++) if (scored.get(i).state == st) idx.add(i);
            if (idx.isEmpty()) continue;
            double[] xs = new double[idx.size()], ys = new double[idx.size()];
            for (int k = 0; k < xs.length; k++) {
                xs[k] = x[idx.get(k)];
                ys[k] = y[idx.get(k)];
            }
            plot.addPoints(st == Trial.State.COMPLETE ? "complete" : "pruned", xs, ys);
        }
        return plot;
    }

    static void write(SweepSpec spec, List<Trial> trials, Path png) throws IOException {
        List<Trial> scored = new ArrayList<>();
        for (Trial t : trials) if (t.metric != null) scored.add(t);
        if (scored.isEmpty()) return;
        List<BufferedImage> panels = new ArrayList<>();
        double[] n = new double[scored.size()], m = new double[scored.size()], best = new double[scored.size()];
        double b = Double.NaN;
        for (int i = 0; i < scored.size(); i++) {
            Trial t = scored.get(i);
            n[i] = t.number;
            m[i] = t.metric;
            if (t.state == Trial.State.COMPLETE && (Double.isNaN(b) || (spec.maximize ? t.metric > b : t.metric < b))) b = t.metric;
            best[i] = b;
        }
        String name = spec.method.name().toLowerCase(java.util.Locale.ROOT);
        LossPlot perTrial = new LossPlot(spec.metric + " per trial (" + name + ")").size(W, H).smoothing(0).labels("trial", spec.metric, "");
        points(perTrial, scored, n, m).add("best so far", n, best); // series order keeps colours as in the other panels
        panels.add(perTrial.render());
        for (Param p : spec.params) {
            double[] x = new double[scored.size()];
            for (int i = 0; i < x.length; i++) {
                JsonElement v = scored.get(i).params.get(p.key());
                x[i] = p.categorical() || !p.logScale() ? p.internal(v) : Math.log10(v.getAsDouble());
            }
            String xl = p.categorical() ? p.key() + " (index in " + p.values() + ")" : p.logScale() ? "log10 " + p.key() : p.key();
            LossPlot panel = new LossPlot(spec.metric + " vs " + p.shortName()).size(W, H).smoothing(0).labels(xl, spec.metric, "");
            panels.add(points(panel, scored, x, m).render());
        }
        int cols = Math.min(2, panels.size()), rows = (panels.size() + cols - 1) / cols;
        BufferedImage img = new BufferedImage(cols * W, rows * H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        for (int i = 0; i < panels.size(); i++) g.drawImage(panels.get(i), (i % cols) * W, (i / cols) * H, null);
        g.dispose();
        dev.kiln.util.AtomicFiles.write(png, tmp -> ImageIO.write(img, "png", tmp.toFile()));
    }
}
