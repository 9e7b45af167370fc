package dev.kiln.sweep;

import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One searched config key and its distribution. Samplers work in the "internal" space: log(x) for log-scaled
 * numbers, x for linear ones, the index for a choice; {@link #value} turns an internal number back into the
 * JSON value that is set on the config.
 *
 * @param key    the config key, as for {@code --set} ({@code optimizer.lr})
 * @param points grid points of a continuous parameter (grid search only; 0 when not given)
 */
public record Param(String key, Type type, double low, double high, long step, boolean log, List<JsonElement> values,
                    int points) {

    public enum Type { LOGUNIFORM, UNIFORM, INT, CHOICE }

    public boolean categorical() {
        return type == Type.CHOICE;
    }

    /** Whether the sampler works on log(x). */
    public boolean logScale() {
        return type == Type.LOGUNIFORM || (type == Type.INT && log);
    }

    /**
     * Bounds of the internal space. An integer's range is widened by half a step on each side so every value owns
     * an equal slice of it (Optuna's treatment of log-scaled integers); a choice spans [0, n).
     */
    public double lowInternal() {
        if (categorical()) return 0;
        double lo = type == Type.INT ? low - step / 2.0 : low;
        return logScale() ? Math.log(lo) : lo;
    }

    public double highInternal() {
        if (categorical()) return values.size();
        double hi = type == Type.INT ? high + step / 2.0 : high;
        return logScale() ? Math.log(hi) : hi;
    }

    /** The internal coordinate of a config value this parameter produced. */
    public double internal(JsonElement v) {
        if (categorical()) {
            int i = values.indexOf(v);
            if (i < 0) throw new IllegalArgumentException(key + ": " + v + " is not one of " + values);
            return i;
        }
        double x = v.getAsDouble();
        return logScale() ? Math.log(x) : x;
    }

    /** The config value at internal coordinate {@code u} (rounded onto the integer grid, clamped into range). */
    public JsonElement value(double u) {
        if (categorical()) return values.get((int) Math.max(0, Math.min(values.size() - 1, Math.floor(u))));
        double x = logScale() ? Math.exp(u) : u;
        if (type == Type.INT) {
            long k = Math.round((x - low) / step);
            long v = (long) low + k * step;
            v = Math.max((long) low, Math.min(v, (long) low + ((long) (high - low) / step) * step));
            return new JsonPrimitive(v);
        }
        return new JsonPrimitive(Math.max(low, Math.min(high, x)));
    }

    /** A uniform draw over the internal space (log-uniform for log-scaled numbers). */
    public JsonElement sample(SplittableRandom r) {
        if (categorical()) return values.get(r.nextInt(values.size()));
        return value(lowInternal() + r.nextDouble() * (highInternal() - lowInternal()));
    }

    /** The values a grid search tries: choices, every integer step, or {@link #points} evenly spaced (log-spaced for loguniform). */
    public List<JsonElement> grid() {
        List<JsonElement> out = new ArrayList<>();
        switch (type) {
            case CHOICE -> out.addAll(values);
            case INT -> {
                for (long v = (long) low; v <= (long) high; v += step) out.add(new JsonPrimitive(v));
            }
            default -> {
                double a = logScale() ? Math.log(low) : low, b = logScale() ? Math.log(high) : high;
                for (int i = 0; i < points; i++) {
                    double u = points == 1 ? (a + b) / 2 : a + (b - a) * i / (points - 1);
                    double x = logScale() ? Math.exp(u) : u;
                    if (i == 0) x = low; // exact ends, not exp(log(x))
                    if (i == points - 1 && points > 1) x = high;
                    out.add(new JsonPrimitive(x));
                }
            }
        }
        return out;
    }

    /** Short name for tables and plots: the last part of the key ({@code lr} for {@code optimizer.lr}). */
    public String shortName() {
        return key.substring(key.lastIndexOf('.') + 1);
    }
}
