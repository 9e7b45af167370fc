package dev.kiln.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.log.MetricsLog;
import dev.kiln.log.Progress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Runs side by side ({@code kiln runs DIR...}): status, steps and time, the best and final dev metrics from
 * summary.json, and the config keys whose values differ (from each run's resolved config.json, so defaults count).
 * Per-class metrics are left out; the output folder is not a difference worth a row.
 */
public final class RunComparison {
    /** One row: a label and one cell per run ("" where a run has no value). */
    public record Row(String label, List<String> cells) {}

    private final List<Path> runs;
    private final List<Row> summary = new ArrayList<>();
    private final List<Row> differences = new ArrayList<>();

    private RunComparison(List<Path> runs) {
        this.runs = runs;
    }

    public List<Row> summary() {
        return summary;
    }

    /** Config keys (dotted paths) whose values differ between the runs. */
    public List<Row> differences() {
        return differences;
    }

    public static RunComparison of(List<Path> runDirs) throws IOException {
        if (runDirs.isEmpty()) throw new IllegalArgumentException("runs: give one or more run directories");
        List<JsonObject> configs = new ArrayList<>();
        List<JsonObject> summaries = new ArrayList<>();
        for (Path d : runDirs) {
            Path cfg = d.resolve("config.json");
            if (!Files.isRegularFile(cfg)) {
                throw new IllegalArgumentException(d + " is not a run directory (no config.json)");
            }
            configs.add(read(cfg));
            Path s = d.resolve("summary.json");
            summaries.add(Files.isRegularFile(s) ? read(s) : null);
        }
        RunComparison c = new RunComparison(runDirs);
        c.summaryRows(runDirs, configs, summaries);
        c.differenceRows(configs);
        return c;
    }

    private void summaryRows(List<Path> dirs, List<JsonObject> configs, List<JsonObject> summaries) throws IOException {
        List<String> task = new ArrayList<>(), model = new ArrayList<>(), status = new ArrayList<>(), steps = new ArrayList<>(),
                time = new ArrayList<>(), bestStep = new ArrayList<>();
        Map<String, String[]> best = new LinkedHashMap<>();
        Map<String, String[]> fin = new LinkedHashMap<>();
        int n = dirs.size();
        for (int i = 0; i < n; i++) {
            JsonObject cfg = configs.get(i);
            JsonObject s = summaries.get(i);
            task.add(str(cfg, "task", "type"));
            model.add(str(cfg, "model", "name"));
            if (s == null) {
                status.add("not finished");
                steps.add(lastStep(dirs.get(i)));
                time.add("");
                bestStep.add("");
                continue;
            }
            status.add(s.has("early_stopped") && s.get("early_stopped").getAsBoolean() ? "early stop" : "finished");
            steps.add(s.has("steps") ? s.get("steps").getAsString() : "");
            time.add(s.has("train_seconds") ? Progress.formatEta(s.get("train_seconds").getAsDouble()) : "");
            bestStep.add(s.has("best_step") ? s.get("best_step").getAsString() : "");
            metrics(s.getAsJsonObject("best_eval"), best, i, n);
            metrics(s.getAsJsonObject("final_eval"), fin, i, n);
        }
        summary.add(new Row("task", task));
        summary.add(new Row("model", model));
        summary.add(new Row("status", status));
        summary.add(new Row("steps", steps));
        summary.add(new Row("train time", time));
        if (!best.isEmpty()) summary.add(new Row("best step", bestStep));
        best.forEach((k, v) -> summary.add(new Row("best " + k, List.of(v))));
        fin.forEach((k, v) -> summary.add(new Row("final " + k, List.of(v))));
    }

    private static void metrics(JsonObject m, Map<String, String[]> into, int run, int n) {
        if (m == null) return;
        for (Map.Entry<String, JsonElement> e : m.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("f1_") || k.startsWith("precision_") || k.startsWith("recall_")) continue;
            String[] cells = into.computeIfAbsent(k, x -> {
                String[] a = new String[n];
                java.util.Arrays.fill(a, "");
                return a;
            });
            cells[run] = String.format(Locale.ROOT, "%.4f", e.getValue().getAsDouble());
        }
    }

    private static String lastStep(Path dir) throws IOException {
        long step = 0;
        Path f = dir.resolve(MetricsLog.FILE_NAME);
        if (Files.isRegularFile(f)) {
            for (JsonObject r : MetricsLog.read(f)) if (r.has("step")) step = Math.max(step, r.get("step").getAsLong());
        }
        return step == 0 ? "" : String.valueOf(step);
    }

    private void differenceRows(List<JsonObject> configs) {
        List<Map<String, String>> flat = new ArrayList<>();
        Set<String> keys = new LinkedHashSet<>();
        for (JsonObject c : configs) {
            Map<String, String> m = new TreeMap<>();
            flatten("", c, m);
            flat.add(m);
            keys.addAll(m.keySet());
        }
        for (String k : new java.util.TreeSet<>(keys)) {
            if (k.equals("output.dir")) continue;
            List<String> cells = new ArrayList<>();
            // a key an older run's config lacks had its default then; null is what the schema writes for "none"
            for (Map<String, String> m : flat) cells.add(m.getOrDefault(k, "null"));
            if (new LinkedHashSet<>(cells).size() > 1) differences.add(new Row(k, cells));
        }
    }

    private static void flatten(String prefix, JsonElement e, Map<String, String> out) {
        if (e.isJsonObject()) {
            for (Map.Entry<String, JsonElement> x : e.getAsJsonObject().entrySet()) {
                flatten(prefix.isEmpty() ? x.getKey() : prefix + "." + x.getKey(), x.getValue(), out);
            }
        } else {
            out.put(prefix, e.isJsonNull() ? "null" : e.isJsonPrimitive() ? e.getAsJsonPrimitive().getAsString() : e.toString());
        }
    }

    /** The comparison as an aligned text table, run folders as columns. */
    public String toText() {
        List<String> header = new ArrayList<>();
        for (Path p : runs) header.add(p.toString());
        List<Row> all = new ArrayList<>(summary);
        int labelWidth = "config differences".length();
        for (Row r : all) labelWidth = Math.max(labelWidth, r.label().length());
        for (Row r : differences) labelWidth = Math.max(labelWidth, r.label().length() + 2);
        int[] widths = new int[runs.size()];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = header.get(i).length();
            for (Row r : all) widths[i] = Math.max(widths[i], r.cells().get(i).length());
            for (Row r : differences) widths[i] = Math.max(widths[i], Math.min(40, r.cells().get(i).length()));
        }
        StringBuilder sb = new StringBuilder();
        line(sb, "", header, labelWidth, widths);
        for (Row r : summary) line(sb, r.label(), r.cells(), labelWidth, widths);
        sb.append(differences.isEmpty() ? "config differences: none\n" : "config differences:\n");
        for (Row r : differences) line(sb, "  " + r.label(), r.cells(), labelWidth, widths);
        return sb.toString();
    }

    private static void line(StringBuilder sb, String label, List<String> cells, int labelWidth, int[] widths) {
        sb.append(label).append(" ".repeat(Math.max(0, labelWidth + 2 - label.length())));
        for (int i = 0; i < cells.size(); i++) {
            String c = cells.get(i).length() > 40 ? cells.get(i).substring(0, 37) + "..." : cells.get(i);
            sb.append(c);
            if (i < cells.size() - 1) sb.append(" ".repeat(Math.max(0, widths[i] + 2 - c.length())));
        }
        while (sb.charAt(sb.length() - 1) == ' ') sb.setLength(sb.length() - 1);
        sb.append('\n');
    }

    /** {@code {"runs": [..], "summary": {label: [cells]}, "differences": {key: [values]}}}. */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        JsonArray names = new JsonArray();
        runs.forEach(p -> names.add(p.toString()));
        o.add("runs", names);
        o.add("summary", rows(summary));
        o.add("differences", rows(differences));
        return o;
    }

    private static JsonObject rows(List<Row> rows) {
        JsonObject o = new JsonObject();
        for (Row r : rows) {
            JsonArray a = new JsonArray();
            r.cells().forEach(a::add);
            o.add(r.label(), a);
        }
        return o;
    }

    private static String str(JsonObject o, String section, String key) {
        JsonObject s = o.has(section) && o.get(section).isJsonObject() ? o.getAsJsonObject(section) : null;
        return s != null && s.has(key) && !s.get(key).isJsonNull() ? s.get(key).getAsString() : "";
    }

    private static JsonObject read(Path p) throws IOException {
        try {
            return JsonParser.parseString(Files.readString(p)).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IOException(p + ": not a JSON object (" + dev.kiln.util.JsonErrors.oneLine(e) + ")");
        }
    }
}
