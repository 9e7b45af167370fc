package dev.kiln.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.BufferedReader;
import java.io.IOException;

/**
 * What {@code kiln predict} reads, for every task: one example per line, either plain text or a JSON
 * object (a line starting with '{'); blank lines are skipped. Errors name the input line.
 */
public final class PredictInput {
    private PredictInput() {}

    /** One input line; {@code json} is null for plain text. */
    public record Line(int number, String raw, JsonObject json) {
        /** The example's main text: the whole plain line, or the (required) string field {@code field}. */
        public String text(String field) {
            if (json == null) return raw;
            String s = optional(field);
            if (s == null) throw new IllegalArgumentException("input line " + number + ": no \"" + field + "\" field");
            return s;
        }

        /** A string field of a JSON line; null for plain text or when the field is absent or null. */
        public String optional(String field) {
            if (json == null) return null;
            JsonElement e = json.get(field);
            if (e == null || e.isJsonNull()) return null;
            if (!e.isJsonPrimitive()) throw new IllegalArgumentException("input line " + number + ": \"" + field + "\" is not a string");
            return e.getAsString();
        }

        /** An integer field of a JSON line, or {@code dflt}. */
        public int optionalInt(String field, int dflt) {
            String s = optional(field);
            if (s == null) return dflt;
            try {
                return Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("input line " + number + ": \"" + field + "\" is not an integer");
            }
        }
    }

    public interface Handler {
        void accept(Line line) throws IOException;
    }

    public static void forEach(BufferedReader in, Handler handler) throws IOException {
        String line;
        int n = 0;
        while ((line = in.readLine()) != null) {
            n++;
            if (line.isBlank()) continue;
            JsonObject o = null;
            if (line.trim().startsWith("{")) {
                try {
                    o = JsonParser.parseString(line).getAsJsonObject();
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("input line " + n + ": not a JSON object");
                }
            }
            handler.accept(new Line(n, line, o));
        }
    }
}
