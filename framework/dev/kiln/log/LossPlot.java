package dev.kiln.log;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kiln.util.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Loss curves as a PNG (Java2D into a BufferedImage, no display needed) plus an ASCII fallback.
 *
 * <p>Main panel: training loss and anything on the same scale (eval loss). Optional second panel below, sharing
 * the step axis: eval metrics on other scales (accuracy, perplexity). Long noisy series are drawn faint with a
 * bold exponential moving average on top, as TensorBoard does, so the trend is readable.
 */
public final class LossPlot {
    static {
        // Must precede any AWT initialisation; Java2D on a BufferedImage needs no X server.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Matplotlib's default cycle: familiar, and distinguishable for common colour blindness. */
    private static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x17becf),
    };
    /** Series with fewer points get markers (eval runs); longer ones get smoothing. */
    private static final int FEW_POINTS = 50;

    private record Series(String name, double[] x, double[] y, Color colour, boolean pointsOnly) {}

    private final String title;
    private int width = 900, height = 500;
    private double smoothing = 0.6;
    private String xLabel = "step", yLabel = "loss", y2Label = "eval";
    private final List<Series> main = new ArrayList<>();
    private final List<Series> second = new ArrayList<>();

    public LossPlot(String title) {
        this.title = title;
    }

    public LossPlot size(int width, int height) {
        if (width < 200 || height < 150) throw new IllegalArgumentException("plot too small: " + width + "x" + height);
        this.width = width;
        this.height = height;
        return this;
    }

    /** EMA weight in [0, 1) for long series; 0 draws raw lines only. */
    public LossPlot smoothing(double s) {
        if (!(s >= 0 && s < 1)) throw new IllegalArgumentException("smoothing must be in [0, 1): " + s);
        this.smoothing = s;
        return this;
    }

    public LossPlot labels(String x, String y, String y2) {
        this.xLabel = x;
        this.yLabel = y;
        this.y2Label = y2;
        return this;
    }

    /** A series on the main panel. */
    public LossPlot add(String name, double[] x, double[] y) {
        main.add(series(name, x, y));
        return this;
    }

    /** A scatter on the main panel: markers, no line (e.g. a metric against a hyperparameter). */
    public LossPlot addPoints(String name, double[] x, double[] y) {
        Series s = series(name, x, y);
        main.add(new Series(s.name(), s.x(), s.y(), s.colour(), true));
        return this;
    }

    /** A series on the second panel (created when the first one is added). */
    public LossPlot addSecondary(String name, double[] x, double[] y) {
        second.add(series(name, x, y));
        return this;
    }

    /** The colour the i-th added series (main and second panel counted together) is drawn in. */
    public static Color colour(int i) {
        return PALETTE[i % PALETTE.length];
    }

    private Series series(String name, double[] x, double[] y) {
        if (x.length != y.length) throw new IllegalArgumentException(name + ": " + x.length + " x vs " + y.length + " y");
        return new Series(name, x.clone(), y.clone(), colour(main.size() + second.size()), false);
    }

    /**
     * Loss plot of a {@link MetricsLog}: {@code loss} and {@code eval_loss} on the main panel, other numeric
     * {@code eval_*} keys on the second. Rows without {@code step} use their index.
     */
    public static LossPlot fromMetrics(List<JsonObject> rows, String title) {
        Map<String, List<double[]>> cols = new LinkedHashMap<>();
        cols.put("loss", new ArrayList<>());
        for (int i = 0; i < rows.size(); i++) {
            JsonObject r = rows.get(i);
            double step = number(r.get("step"), i);
            for (Map.Entry<String, JsonElement> e : r.entrySet()) {
                String k = e.getKey();
                if (!k.equals("loss") && !k.startsWith("eval_")) continue;
                double v = number(e.getValue(), Double.NaN);
                if (Double.isNaN(v) && !isNumber(e.getValue())) continue;
                cols.computeIfAbsent(k, key -> new ArrayList<>()).add(new double[] {step, v});
            }
        }
        LossPlot p = new LossPlot(title);
        for (Map.Entry<String, List<double[]>> c : cols.entrySet()) {
            if (c.getValue().isEmpty()) continue;
            double[] x = c.getValue().stream().mapToDouble(a -> a[0]).toArray();
            double[] y = c.getValue().stream().mapToDouble(a -> a[1]).toArray();
            String k = c.getKey();
            String name = k.equals("loss") ? "train loss" : k.replace('_', ' ');
            if (k.equals("loss") || k.equals("eval_loss")) p.add(name, x, y);
            else p.addSecondary(name, x, y);
        }
        return p;
    }

    private static boolean isNumber(JsonElement e) {
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber();
    }

    private static double number(JsonElement e, double dflt) {
        if (e == null || !e.isJsonPrimitive()) return dflt;
        try {
            return e.getAsDouble(); // also parses NaN written by MetricsLog
        } catch (RuntimeException ex) {
            return dflt;
        }
    }

    /** Writes the PNG atomically (temp file + rename). */
    public void write(Path png) throws IOException {
        BufferedImage img = render();
        AtomicFiles.write(png, tmp -> {
            if (!ImageIO.write(img, "png", tmp.toFile())) throw new IOException("no PNG writer in this JRE");
        });
    }

    public BufferedImage render() {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);

            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            FontMetrics tfm = g.getFontMetrics();
            g.drawString(title, (width - tfm.stringWidth(title)) / 2, 26);

            double[] xr = range(true, main, second);
            int left = 78, right = width - 24, top = 44, bottom = height - 50;
            if (second.isEmpty()) {
                panel(g, main, xr, left, top, right, bottom, yLabel);
            } else {
                int gap = 42;
                int split = top + (int) ((bottom - top - gap) * 0.62);
                panel(g, main, xr, left, top, right, split, yLabel);
                panel(g, second, xr, left, split + gap, right, bottom, y2Label);
            }
            g.setColor(Color.DARK_GRAY);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            FontMetrics fm = g.getFontMetrics();
            g.drawString(xLabel, (left + right - fm.stringWidth(xLabel)) / 2, height - 12);
        } finally {
            g.dispose();
        }
        return img;
    }

    private void panel(Graphics2D g, List<Series> ss, double[] xr, int l, int t, int r, int b, String label) {
        double[] yr = range(false, ss);
        double y0 = yr[0], y1 = yr[1];
        double[] xt = ticks(xr[0], xr[1], Math.max(2, (r - l) / 90));
        double[] yt = ticks(y0, y1, Math.max(4, (int) Math.round((b - t) / 28.0)));
        double ystep = yt.length > 1 ? yt[1] - yt[0] : Math.abs(y1 - y0);
        Axis ax = new Axis(xr[0], xr[1], l, r);
        Axis ay = new Axis(y1, y0, t, b); // screen y grows downward
        // smooth over a few pixels' worth of points whatever the run length: 0.6 is too little for 30k steps
        double plotPx = Math.max(1, r - l);

        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        FontMetrics fm = g.getFontMetrics();
        Stroke thin = new BasicStroke(1f);
        g.setStroke(thin);
        double xstep = xt.length > 1 ? xt[1] - xt[0] : 1;
        for (double v : xt) {
            int px = (int) Math.round(ax.px(v));
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(px, t, px, b);
            g.setColor(Color.DARK_GRAY);
            g.drawLine(px, b, px, b + 4);
            String s = tickLabel(v, xstep, true);
            g.drawString(s, px - fm.stringWidth(s) / 2, b + 6 + fm.getAscent());
        }
        for (double v : yt) {
            int py = (int) Math.round(ay.px(v));
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(l, py, r, py);
            g.setColor(Color.DARK_GRAY);
            g.drawLine(l - 4, py, l, py);
            String s = tickLabel(v, ystep, false);
            g.drawString(s, l - 7 - fm.stringWidth(s), py + fm.getAscent() / 2 - 1);
        }
        g.setColor(Color.DARK_GRAY);
        g.drawRect(l, t, r - l, b - t);

        // y-axis title, rotated
        Graphics2D gr = (Graphics2D) g.create();
        gr.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        FontMetrics lfm = gr.getFontMetrics();
        gr.rotate(-Math.PI / 2);
        gr.drawString(label, -(t + b + lfm.stringWidth(label)) / 2, 18);
        gr.dispose();

        Graphics2D clip = (Graphics2D) g.create();
        clip.clipRect(l + 1, t + 1, r - l - 1, b - t - 1);
        for (Series s : ss) {
            Color c = s.colour();
            boolean few = s.y().length < FEW_POINTS || s.pointsOnly();
            if (!few && smoothing > 0) {
                double w = Math.max(smoothing, 1 - plotPx / (4.0 * s.y().length));
                clip.setColor(new Color(c.getRed(), c.getGreen(), c.getBlue(), 60));
                clip.setStroke(new BasicStroke(1f));
                clip.draw(path(s.x(), s.y(), ax, ay));
                clip.setColor(c);
                clip.setStroke(new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
                clip.draw(path(s.x(), ema(s.y(), w), ax, ay));
            } else {
                clip.setColor(c);
                clip.setStroke(new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
                if (!s.pointsOnly()) clip.draw(path(s.x(), s.y(), ax, ay));
                if (few) {
                    for (int i = 0; i < s.x().length; i++) {
                        if (!Double.isFinite(s.y()[i])) continue;
                        clip.fill(new Ellipse2D.Double(ax.px(s.x()[i]) - 3.5, ay.px(s.y()[i]) - 3.5, 7, 7));
                    }
                }
            }
        }
        clip.dispose();
        legend(g, ss, ax, ay, l, t, r, b);
    }

    private static void legend(Graphics2D g, List<Series> ss, Axis ax, Axis ay, int l, int t, int r, int b) {
        if (ss.isEmpty()) return;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        int row = fm.getHeight() + 2, w = 0;
        for (Series s : ss) w = Math.max(w, fm.stringWidth(s.name()));
        int bw = w + 40, bh = row * ss.size() + 8;
        // the corner covering the fewest data points
        int[][] corners = {{r - bw - 8, t + 8}, {l + 8, t + 8}, {r - bw - 8, b - bh - 8}, {l + 8, b - bh - 8}};
        int best = 0;
        long bestHits = Long.MAX_VALUE;
        for (int c = 0; c < corners.length; c++) {
            long hits = 0;
            for (Series s : ss) {
                for (int i = 0; i < s.x().length; i++) {
                    double px = ax.px(s.x()[i]), py = ay.px(s.y()[i]);
                    if (px >= corners[c][0] && px <= corners[c][0] + bw && py >= corners[c][1] && py <= corners[c][1] + bh) hits++;
                }
            }
            if (hits < bestHits) {
                bestHits = hits;
                best = c;
            }
        }
        int x = corners[best][0], y = corners[best][1];
        g.setColor(new Color(255, 255, 255, 225));
        g.fillRect(x, y, bw, bh);
        g.setColor(new Color(0xbbbbbb));
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x, y, bw, bh);
        for (int i = 0; i < ss.size(); i++) {
            int cy = y + 4 + i * row + row / 2;
            g.setColor(ss.get(i).colour());
            g.fillRect(x + 8, cy - 2, 22, 4);
            g.setColor(Color.BLACK);
            g.drawString(ss.get(i).name(), x + 36, cy + fm.getAscent() / 2 - 1);
        }
    }

    /** Pixel path; with many points per pixel column only each column's first, min, max and last survive. */
    private static Path2D path(double[] xs, double[] ys, Axis ax, Axis ay) {
        Path2D.Double p = new Path2D.Double();
        boolean pen = false;
        int col = Integer.MIN_VALUE;
        double lo = 0, hi = 0, lastY = 0;
        int loAt = 0, hiAt = 0;
        for (int i = 0; i < xs.length; i++) {
            if (!Double.isFinite(ys[i]) || !Double.isFinite(xs[i])) { // a gap, not a plunge to zero
                if (pen) flushColumn(p, col, lo, hi, loAt, hiAt, lastY);
                pen = false;
                col = Integer.MIN_VALUE;
                continue;
            }
            double px = ax.px(xs[i]), py = ay.px(ys[i]);
            int c = (int) Math.floor(px);
            if (pen && c == col) {
                if (py < lo) { lo = py; loAt = i; }
                if (py > hi) { hi = py; hiAt = i; }
                lastY = py;
                continue;
            }
            if (pen) flushColumn(p, col, lo, hi, loAt, hiAt, lastY);
            if (pen) p.lineTo(px, py); else p.moveTo(px, py);
            pen = true;
            col = c;
            lo = hi = lastY = py;
            loAt = hiAt = i;
        }
        if (pen) flushColumn(p, col, lo, hi, loAt, hiAt, lastY);
        return p;
    }

    private static void flushColumn(Path2D p, int col, double lo, double hi, int loAt, int hiAt, double lastY) {
        if (lo == hi) return;
        double x = col + 0.5;
        if (loAt < hiAt) { p.lineTo(x, lo); p.lineTo(x, hi); } else { p.lineTo(x, hi); p.lineTo(x, lo); }
        p.lineTo(x, lastY);
    }

    /** Debiased EMA (early points aren't pulled toward zero); non-finite points are passed over. */
    static double[] ema(double[] y, double w) {
        double[] out = new double[y.length];
        double acc = 0, norm = 0;
        for (int i = 0; i < y.length; i++) {
            if (!Double.isFinite(y[i])) {
                out[i] = y[i];
                continue;
            }
            acc = acc * w + (1 - w) * y[i];
            norm = norm * w + (1 - w);
            out[i] = acc / norm;
        }
        return out;
    }

    @SafeVarargs
    private static double[] range(boolean x, List<Series>... groups) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        boolean scatter = false; // markers at the range's ends would be cut in half: pad x as y
        for (List<Series> ss : groups) {
            for (Series s : ss) {
                scatter |= s.pointsOnly();
                double[] v = x ? s.x() : s.y();
                for (int i = 0; i < v.length; i++) {
                    if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) continue;
                    lo = Math.min(lo, v[i]);
                    hi = Math.max(hi, v[i]);
                }
            }
        }
        if (lo > hi) return new double[] {0, 1};
        if (lo == hi) {
            double d = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            return new double[] {lo - d, hi + d};
        }
        if (!x || scatter) {
            double pad = (hi - lo) * 0.05;
            return new double[] {lo - pad, hi + pad};
        }
        // steps counted from 1 read better on an axis from 0
        if (lo >= 0 && lo < 0.05 * (hi - lo)) lo = 0;
        return new double[] {lo, hi};
    }

    /** Multiples of 1, 2 or 5 × 10^k inside [lo, hi], at most about {@code want} of them. */
    static double[] ticks(double lo, double hi, int want) {
        double raw = (hi - lo) / Math.max(1, want);
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = mag;
        for (double m : new double[] {1, 2, 5, 10}) {
            step = m * mag;
            if (step >= raw) break;
        }
        double first = Math.ceil(lo / step - 1e-9) * step;
        List<Double> t = new ArrayList<>();
        for (double v = first; v <= hi + step * 1e-9; v += step) t.add(Math.abs(v) < step * 1e-9 ? 0 : v);
        return t.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Enough decimals for the tick spacing; step counts in thousands read better as 20k than 20000. */
    static String tickLabel(double v, double step, boolean kilo) {
        if (kilo && step >= 1000 && Math.abs(v) >= 1000) {
            int dec = Math.max(0, (int) -Math.floor(Math.log10(step / 1000) + 1e-9));
            return String.format(Locale.ROOT, "%." + dec + "fk", v / 1000);
        }
        double a = Math.abs(step);
        if (a < 1e-4 || Math.abs(v) >= 1e7) return String.format(Locale.ROOT, "%.1e", v);
        int dec = Math.max(0, (int) -Math.floor(Math.log10(a) + 1e-9));
        return String.format(Locale.ROOT, "%." + dec + "f", v);
    }

    private record Axis(double v0, double v1, double p0, double p1) {
        double px(double v) {
            return p0 + (v - v0) / (v1 - v0) * (p1 - p0);
        }
    }

    // ---- text fallback ------------------------------------------------------------------------

    /**
     * An ASCII chart, {@code width} columns by {@code height} rows of {@code *}, each column the mean of its
     * bucket of points, with the y range and the first and last x as labels. For terminals and notebooks.
     */
    public static String textPlot(String title, double[] x, double[] y, int width, int height) {
        if (x.length != y.length) throw new IllegalArgumentException(x.length + " x vs " + y.length + " y");
        width = Math.max(8, width);
        height = Math.max(3, height);
        double[] col = buckets(y, width);
        double[] range = finiteRange(col);
        double lo = range[0], hi = range[1];
        StringBuilder sb = new StringBuilder();
        if (title != null && !title.isEmpty()) sb.append(title).append('\n');
        if (lo > hi) return sb.append("(no finite data)\n").toString();
        char[][] grid = new char[height][col.length];
        for (char[] r : grid) java.util.Arrays.fill(r, ' ');
        for (int c = 0; c < col.length; c++) {
            if (!Double.isFinite(col[c])) continue;
            int row = hi == lo ? height / 2 : (int) Math.round((hi - col[c]) / (hi - lo) * (height - 1));
            grid[row][c] = '*';
        }
        String top = num(hi), bot = num(lo);
        int lw = Math.max(top.length(), bot.length());
        for (int r = 0; r < height; r++) {
            String lab = r == 0 ? top : r == height - 1 ? bot : "";
            sb.append(" ".repeat(lw - lab.length())).append(lab).append(" |").append(grid[r]).append('\n');
        }
        sb.append(" ".repeat(lw)).append(" +").append("-".repeat(col.length)).append('\n');
        if (x.length > 0) {
            String a = num(x[0]), z = num(x[x.length - 1]);
            int gap = Math.max(1, col.length - a.length() - z.length());
            sb.append(" ".repeat(lw + 2)).append(a).append(" ".repeat(gap)).append(z).append('\n');
        }
        return sb.toString();
    }

    /** {lo, hi} of the finite values; lo > hi when there are none. */
    private static double[] finiteRange(double[] v) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double x : v) {
            if (Double.isFinite(x)) {
                lo = Math.min(lo, x);
                hi = Math.max(hi, x);
            }
        }
        return new double[] {lo, hi};
    }

    /** One-line trend with Unicode block characters, {@code width} wide at most. */
    public static String sparkline(double[] y, int width) {
        final String levels = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588";
        double[] col = buckets(y, Math.max(1, width));
        double[] range = finiteRange(col);
        double lo = range[0], hi = range[1];
        StringBuilder sb = new StringBuilder();
        for (double v : col) {
            if (!Double.isFinite(v)) sb.append(' ');
            else sb.append(levels.charAt(hi == lo ? 3 : (int) Math.round((v - lo) / (hi - lo) * 7)));
        }
        return sb.toString();
    }

    /** Means of {@code n} equal index buckets (or the values themselves when there are fewer). */
    private static double[] buckets(double[] y, int n) {
        if (y.length <= n) return y.clone();
        double[] out = new double[n];
        for (int c = 0; c < n; c++) {
            int a = (int) ((long) c * y.length / n), b = (int) ((long) (c + 1) * y.length / n);
            double s = 0;
            int k = 0;
            for (int i = a; i < b; i++) {
                if (Double.isFinite(y[i])) {
                    s += y[i];
                    k++;
                }
            }
            out[c] = k == 0 ? Double.NaN : s / k;
        }
        return out;
    }

    private static String num(double v) {
        double a = Math.abs(v);
        if (v == Math.rint(v) && a < 1e9) return String.format(Locale.ROOT, "%d", (long) v);
        if (a >= 1e-3 && a < 1e5) return String.format(Locale.ROOT, "%.4g", v);
        return String.format(Locale.ROOT, "%.3e", v);
    }
}
