package dev.kiln.sweep;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** One trial: its parameters, what its evaluations reported, and how it ended. One line of results.jsonl. */
public final class Trial {
    public enum State { RUNNING, COMPLETE, PRUNED, FAILED }

    /** One evaluation: the optimizer step and the sweep metric's value there. */
    public record Point(long step, double value) {}

    public final int number;
    public final Map<String, JsonElement> params;
    public State state = State.RUNNING;
    /** The best value of the sweep metric over the trial's evaluations (what its best/ holds); null when none. */
    public Double metric;
    public long steps;
    public double seconds;
    public final List<Point> curve = new ArrayList<>();
    public String error;
    /** The device the trial ran on when the sweep gave it one ({@code "devices"}, or GPUs for max_parallel &gt; 1). */
    public String device;

    public Trial(int number, Map<String, JsonElement> params) {
        this.number = number;
        this.params = new LinkedHashMap<>(params);
    }

    public boolean finished() {
        return state != State.RUNNING;
    }

    /** Adds an evaluation; one at a step already present (re-evaluated after a resume) replaces it. */
    void record(long step, double value) {
        curve.removeIf(p -> p.step() == step);
        curve.add(new Point(step, value));
        curve.sort(java.util.Comparator.comparingLong(Point::step));
    }

    /** The best value reported so far, or null. */
    Double best(boolean maximize) {
        Double b = null;
        for (Point p : curve) if (b == null || (maximize ? p.value() > b : p.value() < b)) b = p.value();
        return b;
    }

    /** The folder name under trials/: 000, 001, ... */
    public String folder() {
        return String.format(Locale.ROOT, "%03d", number);
    }

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("trial", number);
        JsonObject p = new JsonObject();
        params.forEach(p::add);
        o.add("params", p);
        o.add("metric", metric == null ? JsonNull.INSTANCE : new com.google.gson.JsonPrimitive(metric));
        o.addProperty("steps", steps);
        o.addProperty("state", state.name().toLowerCase(Locale.ROOT));
        o.addProperty("seconds", Math.round(seconds * 10) / 10.0);
        JsonArray c = new JsonArray();
        for (Point x : curve) {
            JsonArray e = new JsonArray();
            e.add(x.step());
            e.add(x.value());
            c.add(e);
        }
        o.add("curve", c);
        if (error != null) o.addProperty("error", error);
        if (device != null) o.addProperty("device", device);
        return o;
    }

    public static Trial fromJson(JsonObject o) {
        Map<String, JsonElement> params = new LinkedHashMap<>();
        o.getAsJsonObject("params").entrySet().forEach(e -> params.put(e.getKey(), e.getValue()));
        Trial t = new Trial(o.get("trial").getAsInt(), params);
        t.state = State.valueOf(o.get("state").getAsString().toUpperCase(Locale.ROOT));
        t.metric = o.get("metric").isJsonNull() ? null : o.get("metric").getAsDouble();
        t.steps = o.get("steps").getAsLong();
        t.seconds = o.get("seconds").getAsDouble();
        for (JsonElement e : o.getAsJsonArray("curve")) {
            t.curve.add(new Point(e.getAsJsonArray().get(0).getAsLong(), e.getAsJsonArray().get(1).getAsDouble()));
        }
        if (o.has("error")) t.error = o.get("error").getAsString();
        if (o.has("device")) t.device = o.get("device").getAsString();
        return t;
    }
}
