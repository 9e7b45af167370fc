package dev.kiln.train;

import com.google.gson.JsonObject;
import dev.kiln.config.Suggest;

import java.nio.charset.Charset;
import java.util.List;
import java.util.Map;

/**
 * Data options for {@code evaluate} and {@code predict} ({@code --format csv}, {@code --set data.text_field=review}):
 * the keys of a config's {@code data} section that say how a file is read, replacing the ones the run saved in
 * kiln_task.json, so a model trained on JSONL can be scored on a CSV.
 */
public final class DataOptions {
    private DataOptions() {}

    /** {@code --set data.KEY=VALUE} arguments as options (keys without "data."), in order; anything else is an error. */
    public static Map<String, String> parseSets(List<String> sets) {
        Map<String, String> o = new java.util.LinkedHashMap<>();
        for (String s : sets) {
            int eq = s.indexOf('=');
            if (!s.startsWith("data.") || eq < 0) {
                throw new IllegalArgumentException("--set takes data.KEY=VALUE (the run's data settings), got '" + s + "'");
            }
            o.put(s.substring("data.".length(), eq), s.substring(eq + 1));
        }
        return o;
    }

    /**
     * The run's saved data settings with {@code options} (snake_case keys, string values) put over them.
     * A key not in {@code allowed} is an error naming the keys the task takes.
     */
    public static JsonObject merge(JsonObject saved, Map<String, String> options, List<String> allowed, String task) {
        JsonObject out = saved == null ? new JsonObject() : saved.deepCopy();
        for (Map.Entry<String, String> e : options.entrySet()) {
            String k = e.getKey();
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException("data." + k + " is not a data option of the " + task + " task"
                        + Suggest.didYouMean(Suggest.similar(k, allowed).stream().map(s -> "data." + s).toList())
                        + "; it takes " + String.join(", ", allowed.stream().map(s -> "data." + s).toList()));
            }
            if (k.equals("encoding") && !supported(e.getValue())) {
                throw new IllegalArgumentException("data.encoding must be a charset name such as \"utf-8\" or \"iso-8859-1\", got \""
                        + e.getValue() + "\"");
            }
            out.addProperty(k, e.getValue());
        }
        return out;
    }

    private static boolean supported(String charset) {
        try {
            return Charset.isSupported(charset);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
