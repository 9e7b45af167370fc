package dev.kiln.log;

import com.google.gson.annotations.SerializedName;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Console progress for training. On a terminal: one bar redrawn in place with {@code \r}; otherwise (logs,
 * CI, piped output) a plain line every {@code every} steps; {@code QUIET} prints nothing.
 *
 * <p>ETA uses the mean time per step over the last {@link #WINDOW} reports, so warm-up and compile time of the
 * first steps stop counting once the window has moved past them.
 */
public final class Progress {
    /** The config's {@code logging.progress}; the CLI's {@code --quiet} is {@code off}. */
    public enum Mode {
        @SerializedName("auto") AUTO,
        @SerializedName("bar") BAR,
        @SerializedName("lines") LINES,
        @SerializedName("off") QUIET
    }

    static final int WINDOW = 20;
    /** Bar redraws at most this often; a fast step loop would otherwise spend time on the terminal. */
    private static final long REDRAW_NS = 100_000_000L;
    private static final int BAR_WIDTH = 24;

    private final long total;
    private final PrintStream out;
    private final Mode mode;
    private final int every;
    private final LongSupplier clock;

    // ring of (step, time) reports for the moving average
    private final long[] ringStep = new long[WINDOW + 1];
    private final long[] ringNs = new long[WINDOW + 1];
    private int ringLen, ringHead;
    private long lastDrawNs = Long.MIN_VALUE;
    private int drawnWidth;
    private String lastBar;
    private boolean anyStep;
    private final long startNs;
    /** Set by {@link #stepsPerEpoch}: lines then show the epoch and the elapsed time. */
    private long stepsPerEpoch;

    /**
     * @param total total optimizer steps (0 or less when unknown: no percentage or ETA)
     * @param startStep steps already done (a resumed run), the ETA baseline at construction time
     * @param every plain-lines mode prints every this many steps (and the first and last step)
     */
    public Progress(long total, long startStep, PrintStream out, Mode mode, int every) {
        this(total, startStep, out, mode, every, System::nanoTime);
    }

    Progress(long total, long startStep, PrintStream out, Mode mode, int every, LongSupplier clock) {
        this.total = total;
        this.out = out;
        this.mode = mode == Mode.AUTO ? (System.console() != null ? Mode.BAR : Mode.LINES) : mode;
        this.every = Math.max(1, every);
        this.clock = clock;
        this.startNs = clock.getAsLong();
        push(startStep, startNs);
    }

    /** stderr, terminal detection, a line every 10 steps. */
    public static Progress create(long total, long startStep) {
        return new Progress(total, startStep, System.err, Mode.AUTO, 10);
    }

    /** Training progress: lines and the bar show {@code epoch k/n} (from the steps per epoch) and the elapsed time. */
    public synchronized Progress stepsPerEpoch(long spe) {
        this.stepsPerEpoch = spe;
        return this;
    }

    public Mode mode() {
        return mode;
    }

    /**
     * Reports a completed step ({@code step} counts from 1). NaN {@code lr} or {@code tokensPerSec} is left out
     * of the line.
     */
    public synchronized void step(long step, double loss, double lr, double tokensPerSec) {
        long now = clock.getAsLong();
        push(step, now);
        boolean first = !anyStep;
        anyStep = true;
        if (mode == Mode.QUIET) return;
        boolean last = total > 0 && step >= total;
        if (mode == Mode.LINES) {
            if (first || last || step % every == 0) {
                out.println(line(step, loss, lr, tokensPerSec));
                out.flush();
            }
            return;
        }
        if (!last && lastDrawNs != Long.MIN_VALUE && now - lastDrawNs < REDRAW_NS) return;
        lastDrawNs = now;
        lastBar = bar(step, loss, lr, tokensPerSec);
        draw(lastBar);
    }

    /** One line of eval results, e.g. {@code eval step 500 loss 3.2100 ppl 24.78}. */
    public synchronized void eval(long step, Map<String, ? extends Number> metrics) {
        StringBuilder sb = new StringBuilder("eval step ").append(step);
        for (Map.Entry<String, ? extends Number> e : metrics.entrySet()) {
            sb.append(' ').append(e.getKey()).append(' ').append(num(e.getValue()));
        }
        message(sb.toString());
    }

    /** A line of text that doesn't garble the bar: clears it, prints, redraws. */
    public synchronized void message(String text) {
        if (mode == Mode.QUIET) return;
        if (mode == Mode.BAR && drawnWidth > 0) {
            out.print('\r' + " ".repeat(drawnWidth) + '\r');
            drawnWidth = 0;
        }
        out.println(text);
        if (mode == Mode.BAR && lastBar != null) draw(lastBar);
        out.flush();
    }

    /** Ends the bar's line so later output starts on a fresh one. */
    public synchronized void finish() {
        if (mode == Mode.BAR && drawnWidth > 0) {
            out.println();
            drawnWidth = 0;
            lastBar = null;
        }
        out.flush();
    }

    /** Seconds left from the moving average, or NaN while unknown. */
    public synchronized double etaSeconds() {
        if (total <= 0 || ringLen < 2) return Double.NaN;
        int oldest = (ringHead - ringLen + ringStep.length) % ringStep.length;
        int newest = (ringHead - 1 + ringStep.length) % ringStep.length;
        long steps = ringStep[newest] - ringStep[oldest];
        if (steps <= 0) return Double.NaN;
        double perStep = (ringNs[newest] - ringNs[oldest]) / 1e9 / steps;
        return Math.max(0, total - ringStep[newest]) * perStep;
    }

    String line(long step, double loss, double lr, double tps) {
        StringBuilder sb = new StringBuilder("step ").append(step);
        if (total > 0) sb.append('/').append(total);
        appendEpoch(sb, step);
        appendMetrics(sb, loss, lr, tps);
        appendTimes(sb);
        return sb.toString();
    }

    private void appendEpoch(StringBuilder sb, long step) {
        if (stepsPerEpoch <= 0) return;
        long epoch = Math.max(0, step - 1) / stepsPerEpoch + 1; // the epoch this step belongs to
        sb.append(" epoch ").append(epoch);
        if (total > 0) sb.append('/').append((total + stepsPerEpoch - 1) / stepsPerEpoch);
    }

    private void appendTimes(StringBuilder sb) {
        if (stepsPerEpoch > 0) sb.append(" elapsed ").append(formatEta((clock.getAsLong() - startNs) / 1e9));
        if (total > 0) sb.append(" ETA ").append(formatEta(etaSeconds()));
    }

    String bar(long step, double loss, double lr, double tps) {
        StringBuilder sb = new StringBuilder();
        if (total > 0) {
            double frac = Math.min(1, Math.max(0, (double) step / total));
            int filled = (int) Math.round(frac * BAR_WIDTH);
            sb.append('[').append("=".repeat(filled));
            if (filled < BAR_WIDTH) sb.append('>').append(" ".repeat(BAR_WIDTH - filled - 1));
            sb.append("] ").append(step).append('/').append(total)
                    .append(String.format(Locale.ROOT, " %3.0f%%", frac * 100));
        } else {
            sb.append("step ").append(step);
        }
        appendEpoch(sb, step);
        appendMetrics(sb, loss, lr, tps);
        appendTimes(sb);
        return sb.toString();
    }

    private static void appendMetrics(StringBuilder sb, double loss, double lr, double tps) {
        sb.append(" loss ").append(String.format(Locale.ROOT, "%.4f", loss));
        if (!Double.isNaN(lr)) sb.append(" lr ").append(String.format(Locale.ROOT, "%.1e", lr));
        if (!Double.isNaN(tps)) sb.append(' ').append(formatRate(tps)).append(" tok/s");
    }

    private void draw(String s) {
        // pad over the previous, possibly longer, line instead of relying on ANSI erase codes
        int pad = Math.max(0, drawnWidth - s.length());
        out.print('\r' + s + " ".repeat(pad));
        out.flush();
        drawnWidth = s.length();
    }

    private void push(long step, long ns) {
        ringStep[ringHead] = step;
        ringNs[ringHead] = ns;
        ringHead = (ringHead + 1) % ringStep.length;
        ringLen = Math.min(ringLen + 1, ringStep.length);
    }

    /** {@code h:mm:ss}; hours grow past 9 as needed; {@code -:--:--} when unknown. */
    public static String formatEta(double seconds) {
        if (Double.isNaN(seconds) || Double.isInfinite(seconds) || seconds < 0) return "-:--:--";
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
    }

    static String formatRate(double v) {
        return String.format(Locale.ROOT, Math.abs(v) < 1000 ? "%.1f" : "%.0f", v);
    }

    static String num(Number n) {
        if (n == null) return "null";
        if (n instanceof Integer || n instanceof Long) return n.toString();
        double d = n.doubleValue();
        double a = Math.abs(d);
        if (d == 0 || (a >= 1e-3 && a < 1e5)) return String.format(Locale.ROOT, "%.4f", d);
        return String.format(Locale.ROOT, "%.3e", d);
    }
}
