package dev.kiln.log;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.kiln.util.AtomicFiles;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code metrics.jsonl}: one JSON object per line, each written with a single write call and flushed, so a
 * killed run loses at most the line being written. Non-finite numbers are written as {@code NaN} /
 * {@code Infinity} (a diverged loss is worth recording); Python's json module and Gson both read them.
 */
public final class MetricsLog implements Closeable {
    public static final String FILE_NAME = "metrics.jsonl";

    private static final Gson GSON = new GsonBuilder()
            .serializeSpecialFloatingPointValues()
            .serializeNulls()
            .disableHtmlEscaping()
            .create();

    private final Path file;
    private final OutputStream out;
    private final int kept;
    private final int dropped;

    private MetricsLog(Path file, int kept, int dropped) throws IOException {
        this.file = file;
        this.kept = kept;
        this.dropped = dropped;
        this.out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
    }

    /** A fresh run: an existing file is truncated. */
    public static MetricsLog create(Path file) throws IOException {
        return open(file, -1);
    }

    /**
     * Opens {@code file} for appending. {@code resumeStep < 0} starts it empty; otherwise the run resumes after
     * {@code resumeStep}: complete lines with {@code step <= resumeStep} (or without a step) are kept, lines with
     * a larger step, a partial last line (no newline: the writer was killed mid-line) and unparseable lines are
     * dropped, so the resumed run appends without duplicate steps. The repair is an atomic rewrite.
     */
    public static MetricsLog open(Path file, long resumeStep) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        if (resumeStep < 0 || !Files.exists(file)) {
            Files.write(file, new byte[0]);
            return new MetricsLog(file, 0, 0);
        }
        int[] counts = scan(file, resumeStep, null);
        if (counts[1] > 0) {
            AtomicFiles.write(file, tmp -> {
                try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(tmp))) {
                    scan(file, resumeStep, o);
                }
            });
        }
        return new MetricsLog(file, counts[0], counts[1]);
    }

    public Path file() {
        return file;
    }

    /** Lines kept from an earlier run when this log was opened for a resume. */
    public int keptLines() {
        return kept;
    }

    /** Lines (or partial line) dropped when this log was opened for a resume. */
    public int droppedLines() {
        return dropped;
    }

    /** Appends {@code row} as one line, flushed. */
    public synchronized void log(JsonObject row) {
        byte[] line = (GSON.toJson(row) + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            out.write(line);
            out.flush();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Keys in map order; values may be numbers, strings, booleans, {@link JsonElement}s or null. */
    public void log(Map<String, ?> row) {
        JsonObject o = new JsonObject();
        for (Map.Entry<String, ?> e : row.entrySet()) o.add(e.getKey(), toJson(e.getValue()));
        log(o);
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }

    /** Every parseable object line; a partial or corrupt line (killed writer) is skipped, not fatal. */
    public static List<JsonObject> read(Path file) throws IOException {
        List<JsonObject> rows = new ArrayList<>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            ByteArrayOutputStream line = new ByteArrayOutputStream(256);
            int b;
            while (true) {
                b = in.read();
                if (b == '\n' || b < 0) {
                    JsonObject o = parse(line);
                    if (o != null) rows.add(o);
                    line.reset();
                    if (b < 0) break;
                } else {
                    line.write(b);
                }
            }
        }
        return rows;
    }

    /**
     * Walks the lines, counting kept and dropped ones; copies the kept lines verbatim to {@code copy} when given.
     * Returns {kept, dropped}.
     */
    private static int[] scan(Path file, long resumeStep, OutputStream copy) throws IOException {
        int kept = 0, dropped = 0;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            ByteArrayOutputStream line = new ByteArrayOutputStream(256);
            int b;
            while (true) {
                b = in.read();
                if (b < 0) {
                    if (line.size() > 0) dropped++; // unterminated: the writer died mid-line
                    break;
                }
                if (b != '\n') {
                    line.write(b);
                    continue;
                }
                if (line.size() > 0) {
                    JsonObject o = parse(line);
                    if (o != null && !beyond(o, resumeStep)) {
                        kept++;
                        if (copy != null) {
                            line.writeTo(copy);
                            copy.write('\n');
                        }
                    } else {
                        dropped++;
                    }
                }
                line.reset();
            }
        }
        return new int[] {kept, dropped};
    }

    private static boolean beyond(JsonObject o, long resumeStep) {
        JsonElement s = o.get("step");
        if (s == null || !s.isJsonPrimitive() || !s.getAsJsonPrimitive().isNumber()) return false;
        return s.getAsDouble() > resumeStep;
    }

    private static JsonObject parse(ByteArrayOutputStream line) {
        String s = line.toString(StandardCharsets.UTF_8).trim();
        if (s.isEmpty()) return null;
        try {
            JsonElement e = JsonParser.parseString(s); // lenient: accepts NaN / Infinity
            return e.isJsonObject() ? e.getAsJsonObject() : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    static JsonElement toJson(Object v) {
        if (v == null) return JsonNull.INSTANCE;
        if (v instanceof JsonElement) return (JsonElement) v;
        if (v instanceof Number) return new JsonPrimitive((Number) v);
        if (v instanceof Boolean) return new JsonPrimitive((Boolean) v);
        if (v instanceof Character) return new JsonPrimitive((Character) v);
        return new JsonPrimitive(v.toString());
    }
}
