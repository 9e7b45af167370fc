package dev.kiln.models;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Small helpers for reading HF config.json files with defaults. A value of the wrong type is an error
 * naming the field ("config.json: n_layer is "two"; expected an integer"), never a Gson stack trace.
 */
public final class Json {
    private Json() {}

    public static IllegalArgumentException error(String field, String problem) {
        return new IllegalArgumentException("config.json: " + field + " " + problem);
    }

    public static int getInt(JsonObject o, String k, int dflt) {
        JsonElement e = o.get(k);
        if (e == null || e.isJsonNull()) return dflt;
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            double d = e.getAsDouble();
            if (d == Math.rint(d) && Math.abs(d) <= Integer.MAX_VALUE) return (int) d;
        }
        throw error(k, "is " + e + "; expected an integer");
    }

    public static float getFloat(JsonObject o, String k, float dflt) {
        JsonElement e = o.get(k);
        if (e == null || e.isJsonNull()) return dflt;
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) return e.getAsFloat();
        throw error(k, "is " + e + "; expected a number");
    }

    public static String getString(JsonObject o, String k, String dflt) {
        JsonElement e = o.get(k);
        if (e == null || e.isJsonNull()) return dflt;
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) return e.getAsString();
        throw error(k, "is " + e + "; expected a string");
    }

    public static boolean getBoolean(JsonObject o, String k, boolean dflt) {
        JsonElement e = o.get(k);
        if (e == null || e.isJsonNull()) return dflt;
        if (e.isJsonPrimitive() && ((JsonPrimitive) e).isBoolean()) return e.getAsBoolean();
        throw error(k, "is " + e + "; expected true or false");
    }

    /** {@code v >= 1}, else an error naming the field. */
    public static void atLeastOne(String field, int v) {
        if (v < 1) throw error(field, "is " + v + "; it must be at least 1");
    }

    /** A dropout probability: 0 <= p < 1. */
    public static void probability(String field, float p) {
        if (!(p >= 0 && p < 1)) throw error(field, "is " + p + "; a dropout probability must be in [0, 1)");
    }

    public static void positive(String field, float v) {
        if (!(v > 0) || Float.isInfinite(v)) throw error(field, "is " + v + "; it must be a positive number");
    }

    public static void oneOf(String field, String v, List<String> allowed) {
        if (!allowed.contains(v)) {
            throw error(field, "'" + v + "' is not supported (" + String.join(", ", allowed) + ")");
        }
    }

    /** A flag the model does not implement: only {@code allowed} is accepted. */
    public static void only(JsonObject o, String field, boolean allowed, String why) {
        if (getBoolean(o, field, allowed) != allowed) {
            throw error(field, "is " + !allowed + " but Kiln supports only " + allowed + " (" + why + ")");
        }
    }
}
