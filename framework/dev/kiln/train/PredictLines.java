package dev.kiln.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The input of CLI {@code predict}: one example per line, either plain text or a JSON object (a line
 * starting with '{'); blank lines are skipped. Errors name the 1-based input line.
 */
public final class PredictLines {
    private PredictLines() {}

    /** Receives each non-blank line; {@code json} is null for a plain-text line. */
    public interface Handler {
        void line(int number, String text, JsonObject json) throws IOException;
    }

    public static void forEach(BufferedReader in, Handler h) throws IOException {
        String line;
        int n = 0;
        try (dev.kiln.log.Activity act = dev.kiln.log.Activity.start("predicting (input lines)", 0)) {
            while ((line = in.readLine()) != null) {
                n++;
                act.advance(1);
                if (line.isBlank()) continue;
                JsonObject o = null;
                if (line.trim().startsWith("{")) {
                    try {
                        o = JsonParser.parseString(line).getAsJsonObject();
                    } catch (RuntimeException e) {
                        throw new IllegalArgumentException("input line " + n + ": not a JSON object");
                    }
                }
                h.line(n, line, o);
            }
        }
    }

    /** A string field; null when absent and not {@code required}. */
    public static String string(JsonObject o, String field, int line, boolean required) {
        JsonElement e = o.get(field);
        if (e == null || e.isJsonNull()) {
            if (required) throw new IllegalArgumentException("input line " + line + ": no \"" + field + "\" field");
            return null;
        }
        if (!e.isJsonPrimitive()) throw new IllegalArgumentException("input line " + line + ": \"" + field + "\" is not a string");
        return e.getAsString();
    }

    /** An integer field, or {@code dflt} when absent. */
    public static int integer(JsonObject o, String field, int line, int dflt) {
        String s = string(o, field, line, false);
        if (s == null) return dflt;
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("input line " + line + ": \"" + field + "\" is not an integer");
        }
    }

    /** The text of a line: the line itself, or {@code field} of a JSON line ({@code fallback} when that is absent). */
    public static String text(String raw, JsonObject o, String field, String fallback, int line) {
        if (o == null) return raw;
        return string(o, o.has(field) || !o.has(fallback) ? field : fallback, line, true);
    }

    /** An array of strings, or null when absent. */
    public static List<String> strings(JsonObject o, String field, int line) {
        JsonElement e = o.get(field);
        if (e == null || e.isJsonNull()) return null;
        if (!e.isJsonArray()) throw new IllegalArgumentException("input line " + line + ": \"" + field + "\" is not an array of strings");
        JsonArray a = e.getAsJsonArray();
        List<String> out = new ArrayList<>(a.size());
        for (JsonElement x : a) {
            if (!x.isJsonPrimitive() || !x.getAsJsonPrimitive().isString()) {
                throw new IllegalArgumentException("input line " + line + ": \"" + field + "\" holds " + x + ", not a string");
            }
            out.add(x.getAsString());
        }
        return out;
    }
}
