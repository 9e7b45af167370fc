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
 * starting with '{'); blank lines are skipped. Errors name the 1-based input line. The line I/O is
 * {@link #run}'s alone: a task's {@link Predictor} takes one {@link Input} and returns one JSON object.
 */
public final class PredictLines {
    private PredictLines() {}

    /**
     * One input of predict: its 1-based number (for messages) and its text, plain or a JSON object. Tasks
     * read it through {@link #json()} unless they give a JSON-looking text another meaning.
     */
    public record Input(int number, String text) {
        /** The JSON object of a text that starts with '{', else null. */
        public JsonObject json() {
            return parse(number, text);
        }
    }

    /** A task's model opened for prediction: one input in, one JSON object out. */
    public interface Predictor extends AutoCloseable {
        JsonObject predict(Input in) throws IOException;

        /** Predictions for several inputs, in their order; a predictor that batches by length overrides it. */
        default List<JsonObject> predictAll(List<Input> ins) throws IOException {
            List<JsonObject> out = new ArrayList<>(ins.size());
            for (Input in : ins) out.add(predict(in));
            return out;
        }

        @Override
        void close();
    }

    /** What a predictor computes for one input. */
    public interface Body {
        JsonObject predict(Input in) throws IOException;
    }

    /** A predictor that answers with {@code body} and closes {@code model} when closed. */
    public static Predictor predictor(AutoCloseable model, Body body) {
        return new Predictor() {
            @Override
            public JsonObject predict(Input in) throws IOException {
                try (dev.kiln.nn.NoGrad g = dev.kiln.nn.NoGrad.scope()) {
                    return body.predict(in);
                }
            }

            @Override
            public void close() {
                try {
                    model.close();
                } catch (RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    /** What a predictor computes for a chunk of inputs: one object per input, in their order. */
    public interface BatchBody {
        List<JsonObject> predictAll(List<Input> ins) throws IOException;
    }

    /** A predictor that answers a chunk at once with {@code body} (one input is a chunk of one) and closes {@code model}. */
    public static Predictor batched(AutoCloseable model, BatchBody body) {
        Predictor one = predictor(model, in -> body.predictAll(List.of(in)).get(0));
        return new Predictor() {
            @Override
            public JsonObject predict(Input in) throws IOException {
                return one.predict(in);
            }

            @Override
            public List<JsonObject> predictAll(List<Input> ins) throws IOException {
                try (dev.kiln.nn.NoGrad g = dev.kiln.nn.NoGrad.scope()) {
                    return body.predictAll(ins);
                }
            }

            @Override
            public void close() {
                one.close();
            }
        };
    }

    /**
     * Reads {@code in} and prints one JSON line per non-blank input line, in input order; lines go to the
     * predictor in chunks of {@link #CHUNK}, so one that batches by length can.
     */
    public static void run(Predictor p, BufferedReader in, java.io.PrintStream out) throws IOException {
        forEachChunk(in, CHUNK, lines -> {
            List<Input> ins = new ArrayList<>(lines.size());
            for (Line l : lines) ins.add(new Input(l.number(), l.text()));
            for (JsonObject r : p.predictAll(ins)) out.println(r);
        });
    }

    /** Input lines handed to a predictor at once by {@link #run}. */
    public static final int CHUNK = 1024;

    private static JsonObject parse(int n, String line) {
        if (!line.trim().startsWith("{")) return null;
        try {
            return JsonParser.parseString(line).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("input line " + n + ": not a JSON object");
        }
    }

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
                if (!line.isBlank()) h.line(n, line, parse(n, line));
            }
        }
    }

    /** A non-blank input line: its 1-based number, raw text, and JSON object (null for plain text). */
    public record Line(int number, String text, JsonObject json) {}

    /** Receives up to {@code size} lines at a time, so a predictor can batch them (and sort them by length). */
    public interface ChunkHandler {
        void lines(List<Line> lines) throws IOException;
    }

    /** As {@link #forEach}, in chunks of at most {@code size} lines; output order stays the caller's to keep. */
    public static void forEachChunk(BufferedReader in, int size, ChunkHandler h) throws IOException {
        List<Line> chunk = new ArrayList<>();
        forEach(in, (n, text, json) -> {
            chunk.add(new Line(n, text, json));
            if (chunk.size() >= size) {
                h.lines(List.copyOf(chunk));
                chunk.clear();
            }
        });
        if (!chunk.isEmpty()) h.lines(chunk);
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
