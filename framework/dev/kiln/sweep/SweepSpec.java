package dev.kiln.sweep;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kiln.config.ConfigException;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.config.StrictJson;
import dev.kiln.config.Suggest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A sweep file, read and checked as run configs are: every problem is one line naming the key, unknown keys get a
 * did-you-mean, and each searched key is checked against the base config's schema by building the config with the
 * parameter at its bounds (so "optimizer.lrr" or an lr range the config rejects is found before anything runs).
 */
public final class SweepSpec {
    public enum Method { GRID, RANDOM, TPE }

    public enum PrunerType { NONE, MEDIAN, ASHA }

    /** Pruner settings; Optuna's defaults (median: 5 start-up trials, no warm-up; ASHA: reduction factor 4). */
    public static final class PrunerSpec {
        public PrunerType type = PrunerType.NONE;
        public int startupTrials = 5;
        public long warmupSteps = 0;
        /** ASHA's first rung in optimizer steps; 0: the step of the trial's first evaluation. */
        public long minResource = 0;
        public int reductionFactor = 4;
    }

    /** The file's name, prefixed to every message. */
    public final String source;
    /** The folder relative paths in the file resolve against. */
    public final Path dir;
    /** The base config file, or null when {@link #baseInline} is given. */
    public Path base;
    public JsonObject baseInline;
    /** Overrides applied to every trial before the parameters ({@code --set} syntax, key → JSON value). */
    public final Map<String, JsonElement> set = new LinkedHashMap<>();
    public final List<Param> params = new ArrayList<>();
    public Method method = Method.TPE;
    public String metric;
    public boolean maximize;
    public int trials;
    public long seed = 0;
    public final PrunerSpec pruner = new PrunerSpec();
    public int maxParallel = 1;
    /** Devices to run trials on, one trial per entry at a time ({@code "devices"}); empty: the GPUs, or in-process. */
    public final List<String> devices = new ArrayList<>();
    /** TPE: random trials before the model is used, and candidates scored per suggestion (Optuna: 10 and 24). */
    public int startupTrials = 10;
    public int eiCandidates = 24;
    /** The file as read, for the resume guard. */
    public JsonObject json;

    private final List<String> errors = new ArrayList<>();

    private SweepSpec(String source, Path dir) {
        this.source = source;
        this.dir = dir;
    }

    public static SweepSpec load(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        String name = abs.getFileName().toString();
        if (!Files.isRegularFile(abs)) throw new ConfigException(name + ": file not found: " + abs);
        try {
            return parse(Files.readString(abs, StandardCharsets.UTF_8), name, abs.getParent());
        } catch (IOException e) {
            throw new ConfigException(name + ": cannot read " + abs + ": " + e.getMessage());
        }
    }

    /** A sweep given as JSON text; {@code dir} anchors a relative {@code base} path. */
    public static SweepSpec parse(String text, String source, Path dir) {
        SweepSpec s = new SweepSpec(source, dir.toAbsolutePath().normalize());
        JsonElement e;
        try {
            e = StrictJson.parse(text);
        } catch (StrictJson.SyntaxError x) {
            throw new ConfigException(source + ": invalid JSON: " + x.getMessage());
        }
        if (!e.isJsonObject()) throw new ConfigException(source + ": the top level must be a JSON object {...}");
        s.json = e.getAsJsonObject();
        s.read(s.json);
        if (!s.errors.isEmpty()) throw new ConfigException(s.errors);
        s.checkAgainstBase();
        if (!s.errors.isEmpty()) throw new ConfigException(s.errors);
        return s;
    }

    // ---- the file's own keys ----

    private static final List<String> TOP = List.of("base", "config", "set", "parameters", "method", "metric", "direction",
            "trials", "seed", "pruner", "max_parallel", "devices", "tpe");
    private static final List<String> PARAM = List.of("type", "low", "high", "step", "log", "values", "points");
    private static final List<String> PRUNER = List.of("type", "startup_trials", "warmup_steps", "min_resource", "reduction_factor");

    private void read(JsonObject o) {
        known(o, "", TOP);
        JsonElement b = o.get("base"), c = o.get("config");
        if (b != null && c != null) {
            fail("\"base\" and \"config\" are both set; give the base config as a file (\"base\") or inline (\"config\")");
        } else if (b == null && c == null) {
            fail("\"base\" is required: the run config the trials start from (a path, or the config inline as \"config\": {...})");
        } else if (b != null) {
            if (!isString(b)) fail("\"base\" must be a path string, got " + b);
            else {
                base = dir.resolve(expandHome(b.getAsString())).normalize();
                if (!Files.isRegularFile(base)) fail("\"base\": file not found: " + base);
            }
        } else if (!c.isJsonObject()) {
            fail("\"config\" must be a run config object {...}, got " + c);
        } else {
            baseInline = c.getAsJsonObject();
        }
        JsonElement st = o.get("set");
        if (st != null) {
            if (!st.isJsonObject()) fail("\"set\" must be an object of config keys and values, e.g. {\"training.max_steps\": 200}");
            else st.getAsJsonObject().entrySet().forEach(x -> set.put(x.getKey(), x.getValue()));
        }
        method = choice(o, "method", Method.class, Method.TPE);
        if (o.has("metric")) {
            if (!isString(o.get("metric")) || o.get("metric").getAsString().isBlank()) fail("\"metric\" must be a metric name such as \"accuracy\"");
            else metric = o.get("metric").getAsString();
        }
        seed = integer(o, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        maxParallel = (int) integer(o, "max_parallel", 1, 1, 64);
        readDevices(o.get("devices"));
        readPruner(o.get("pruner"));
        JsonElement tpe = o.get("tpe");
        if (tpe != null) {
            if (!tpe.isJsonObject()) fail("\"tpe\" must be an object such as {\"startup_trials\": 10, \"ei_candidates\": 24}");
            else {
                known(tpe.getAsJsonObject(), "tpe", List.of("startup_trials", "ei_candidates"));
                startupTrials = (int) integer(tpe.getAsJsonObject(), "tpe.startup_trials", "startup_trials", 10, 0, 10_000);
                eiCandidates = (int) integer(tpe.getAsJsonObject(), "tpe.ei_candidates", "ei_candidates", 24, 1, 100_000);
            }
        }
        JsonElement ps = o.get("parameters");
        if (ps == null || !ps.isJsonObject() || ps.getAsJsonObject().isEmpty()) {
            fail("\"parameters\" is required: an object of config keys to search, e.g. {\"optimizer.lr\": {\"type\": \"loguniform\", \"low\": 1e-5, \"high\": 5e-4}}");
        } else {
            for (Map.Entry<String, JsonElement> p : ps.getAsJsonObject().entrySet()) readParam(p.getKey(), p.getValue());
        }
        long gridSize = 1;
        if (method == Method.GRID) for (Param p : params) gridSize = Math.multiplyExact(gridSize, Math.max(1, p.grid().size()));
        if (o.has("trials")) {
            trials = (int) integer(o, "trials", 0, 1, 100_000);
            if (method == Method.GRID && trials > gridSize) {
                fail("\"trials\": " + trials + " is more than the grid's " + gridSize + " points; leave \"trials\" out to run the whole grid");
            }
        } else if (method == Method.GRID) {
            trials = (int) Math.min(gridSize, 100_000);
        } else {
            fail("\"trials\" is required for " + method.name().toLowerCase(Locale.ROOT) + " search: how many runs to try, e.g. 12");
        }
        if (o.has("direction")) {
            String d = isString(o.get("direction")) ? o.get("direction").getAsString() : "";
            if (!d.equals("max") && !d.equals("min")) fail("\"direction\" must be \"max\" or \"min\", got " + o.get("direction"));
            else maximize = d.equals("max");
        }
    }

    private static final java.util.regex.Pattern DEVICE = java.util.regex.Pattern.compile("cpu|(gpu|cuda)(:\\d+)?");

    private void readDevices(JsonElement e) {
        if (e == null) return;
        String example = "e.g. [\"gpu:0\", \"gpu:1\"], or [\"cpu\", \"cpu\"] for CPU trials side by side";
        if (!e.isJsonArray() || e.getAsJsonArray().isEmpty()) {
            fail("\"devices\" must be a non-empty array of devices, one per parallel trial, " + example + "; got " + e);
            return;
        }
        for (JsonElement d : e.getAsJsonArray()) {
            String v = isString(d) ? d.getAsString().trim().toLowerCase(Locale.ROOT) : null;
            if (v == null || !DEVICE.matcher(v).matches()) {
                fail("\"devices\": " + d + " is not a device; use cpu, gpu or gpu:N");
                return;
            }
            devices.add(v);
        }
        if (devices.size() < maxParallel) {
            fail("\"devices\" lists " + devices.size() + " device(s) for \"max_parallel\": " + maxParallel
                    + "; list one per parallel trial, " + example);
        }
    }

    private void readPruner(JsonElement e) {
        if (e == null) return;
        JsonObject o;
        if (isString(e)) {
            o = new JsonObject();
            o.add("type", e);
        } else if (e.isJsonObject()) {
            o = e.getAsJsonObject();
            known(o, "pruner", PRUNER);
        } else {
            fail("\"pruner\" must be \"none\", \"median\", \"asha\" or an object {\"type\": \"asha\", ...}, got " + e);
            return;
        }
        pruner.type = choice(o, "pruner.type", "type", PrunerType.class, PrunerType.NONE);
        pruner.startupTrials = (int) integer(o, "pruner.startup_trials", "startup_trials", 5, 0, 100_000);
        pruner.warmupSteps = integer(o, "pruner.warmup_steps", "warmup_steps", 0, 0, Long.MAX_VALUE);
        pruner.minResource = integer(o, "pruner.min_resource", "min_resource", 0, 0, Long.MAX_VALUE);
        pruner.reductionFactor = (int) integer(o, "pruner.reduction_factor", "reduction_factor", 4, 2, 1000);
    }

    private void readParam(String key, JsonElement e) {
        String at = "parameters." + key;
        if (!e.isJsonObject()) {
            fail(q(at) + " must be an object such as {\"type\": \"loguniform\", \"low\": 1e-5, \"high\": 5e-4}, got " + e);
            return;
        }
        JsonObject o = e.getAsJsonObject();
        known(o, at, PARAM);
        if (!o.has("type")) {
            fail(q(at + ".type") + " is required: loguniform, uniform, int or choice");
            return;
        }
        Param.Type type = choice(o, at + ".type", "type", Param.Type.class, null);
        if (type == null) return;
        int before = errors.size();
        if (type == Param.Type.CHOICE) {
            JsonElement v = o.get("values");
            if (v == null || !v.isJsonArray() || v.getAsJsonArray().isEmpty()) {
                fail(q(at + ".values") + " is required for a choice: a non-empty array such as [16, 32]");
                return;
            }
            List<JsonElement> vals = new ArrayList<>();
            for (JsonElement x : v.getAsJsonArray()) {
                if (!x.isJsonPrimitive()) fail(q(at + ".values") + " must hold numbers, strings or booleans, got " + x);
                else if (vals.contains(x)) fail(q(at + ".values") + " lists " + x + " twice");
                else vals.add(x);
            }
            for (String k : List.of("low", "high", "step", "log", "points")) {
                if (o.has(k)) fail(q(at + "." + k) + " does not apply to a choice (it takes \"values\")");
            }
            if (errors.size() == before) params.add(new Param(key, type, 0, 0, 1, false, List.copyOf(vals), 0));
            return;
        }
        if (o.has("values")) fail(q(at + ".values") + " applies to a choice only; a " + name(type) + " takes \"low\" and \"high\"");
        Double lo = number(o, at, "low"), hi = number(o, at, "high");
        if (lo == null || hi == null) return;
        if (!(lo < hi)) fail(q(at) + ": \"low\" (" + lo + ") must be below \"high\" (" + hi + ")");
        if (type == Param.Type.LOGUNIFORM && lo <= 0) fail(q(at + ".low") + " must be above 0 for a loguniform range, got " + lo);
        long step = 1;
        boolean log = false;
        if (type == Param.Type.INT) {
            if (lo != Math.rint(lo) || hi != Math.rint(hi)) fail(q(at) + ": an int range needs integer \"low\" and \"high\", got " + lo + " and " + hi);
            step = integer(o, at + ".step", "step", 1, 1, Long.MAX_VALUE);
            if (o.has("log")) {
                if (!o.get("log").isJsonPrimitive() || !o.get("log").getAsJsonPrimitive().isBoolean()) fail(q(at + ".log") + " must be true or false");
                else log = o.get("log").getAsBoolean();
            }
            if (log && lo < 1) fail(q(at + ".low") + " must be at least 1 for a log-scaled int, got " + lo);
            if (log && step != 1) fail(q(at + ".step") + " must be 1 when \"log\" is true");
        } else {
            for (String k : List.of("step", "log")) if (o.has(k)) fail(q(at + "." + k) + " applies to an int only");
        }
        int points = 0;
        if (o.has("points")) points = (int) integer(o, at + ".points", "points", 0, 1, 10_000);
        if (method == Method.GRID && type != Param.Type.INT && points == 0) {
            fail(q(at + ".points") + " is required for a " + name(type) + " range in a grid search: how many values to try, e.g. 4");
        }
        if (errors.size() == before) params.add(new Param(key, type, lo, hi, step, log, List.of(), points));
    }

    // ---- against the base config ----

    /**
     * Builds the base config with the overrides, then with each parameter at each end of its range (or each choice):
     * a key the schema does not have, or a value it refuses, is reported against the parameter.
     */
    private void checkAgainstBase() {
        RunConfig cfg;
        try {
            cfg = config(List.of());
        } catch (ConfigException e) {
            errors.add(source + ": the base config cannot be run: " + e.errors().get(0)
                    + (e.errors().size() > 1 ? " (and " + (e.errors().size() - 1) + " more problems)" : ""));
            return;
        }
        if (cfg.data.dev == null && cfg.data.devFraction == null) {
            fail("the base config has no dev data: set \"data.dev\" or \"data.dev_fraction\" in it (trials are scored on dev)");
        }
        ConfigRegistry.TaskSpec task = ConfigRegistry.task(cfg.task.type);
        if (metric == null) metric = task.mainMetric();
        if (!json.has("direction")) maximize = task.main().higherIsBetter(metric);
        for (Param p : params) {
            List<JsonElement> probes = p.categorical() ? p.values() : List.of(p.value(p.lowInternal()), p.value(p.highInternal()));
            for (JsonElement v : probes) {
                try {
                    config(List.of(p.key() + "=" + v));
                } catch (ConfigException e) {
                    String first = e.errors().get(0);
                    // "base.json: --set k=v: unknown key ..." -> the parameter named, the config's own words after it
                    String why = first.replaceFirst("^[^:]*: (--set [^:]*: )?", "").replace(" (from --set " + p.key() + "=" + v + ")", "");
                    fail(q("parameters." + p.key()) + ": " + why);
                    break;
                }
            }
        }
    }

    /** The base config with {@link #set}, then {@code sets}, applied ({@code key=json} each). */
    public RunConfig config(List<String> sets) {
        List<String> all = new ArrayList<>();
        set.forEach((k, v) -> all.add(k + "=" + (isString(v) ? v.getAsString() : v.toString())));
        all.addAll(sets);
        if (base != null) return RunConfig.load(base, all);
        return RunConfig.parse(baseInline.toString(), source, dir, all);
    }

    /** Where the base config comes from (for messages). */
    public String describeBase() {
        return base != null ? base.toString() : source + " (inline \"config\")";
    }

    // ---- small readers ----

    private void known(JsonObject o, String at, List<String> keys) {
        for (String k : o.keySet()) {
            if (!keys.contains(k)) {
                String path = at.isEmpty() ? k : at + "." + k;
                fail("unknown key " + q(path) + Suggest.didYouMean(Suggest.similar(k, keys)) + "; known keys: " + String.join(", ", keys));
            }
        }
    }

    private <E extends Enum<E>> E choice(JsonObject o, String key, Class<E> type, E dflt) {
        return choice(o, key, key, type, dflt);
    }

    private <E extends Enum<E>> E choice(JsonObject o, String path, String key, Class<E> type, E dflt) {
        JsonElement v = o.get(key);
        if (v == null) return dflt;
        List<String> names = new ArrayList<>();
        for (E c : type.getEnumConstants()) names.add(c.name().toLowerCase(Locale.ROOT));
        String s = isString(v) ? v.getAsString() : null;
        if (s != null && names.contains(s)) return Enum.valueOf(type, s.toUpperCase(Locale.ROOT));
        fail(q(path) + " must be one of " + Suggest.quotedList(names, " or ") + ", got " + v
                + (s == null ? "" : Suggest.didYouMean(Suggest.similar(s, names))));
        return dflt;
    }

    private long integer(JsonObject o, String key, long dflt, long min, long max) {
        return integer(o, key, key, dflt, min, max);
    }

    private long integer(JsonObject o, String path, String key, long dflt, long min, long max) {
        JsonElement v = o.get(key);
        if (v == null) return dflt;
        if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()
                || v.getAsBigDecimal().stripTrailingZeros().scale() > 0) {
            fail(q(path) + " must be an integer, got " + v);
            return dflt;
        }
        long x;
        try {
            x = v.getAsBigDecimal().longValueExact();
        } catch (ArithmeticException e) {
            x = Long.MAX_VALUE;
        }
        if (x < min || x > max) {
            fail(q(path) + " must be " + (max == Long.MAX_VALUE ? "at least " + min : "between " + min + " and " + max) + ", got " + v);
            return dflt;
        }
        return x;
    }

    private Double number(JsonObject o, String at, String key) {
        JsonElement v = o.get(key);
        if (v == null) {
            fail(q(at + "." + key) + " is required");
            return null;
        }
        if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) {
            fail(q(at + "." + key) + " must be a number, got " + v);
            return null;
        }
        return v.getAsDouble();
    }

    private static boolean isString(JsonElement v) {
        return v != null && v.isJsonPrimitive() && v.getAsJsonPrimitive().isString();
    }

    private static String expandHome(String p) {
        return p.startsWith("~/") ? System.getProperty("user.home") + p.substring(1) : p;
    }

    private static String name(Param.Type t) {
        return t.name().toLowerCase(Locale.ROOT);
    }

    private static String q(String path) {
        return "\"" + path + "\"";
    }

    private void fail(String msg) {
        errors.add(source + ": " + msg);
    }

    /** The grid's points in order (the last parameter varies fastest), each as key → value. */
    public List<Map<String, JsonElement>> gridPoints() {
        List<Map<String, JsonElement>> out = new ArrayList<>();
        out.add(new LinkedHashMap<>());
        for (Param p : params) {
            List<Map<String, JsonElement>> next = new ArrayList<>();
            for (Map<String, JsonElement> m : out) {
                for (JsonElement v : p.grid()) {
                    Map<String, JsonElement> n = new LinkedHashMap<>(m);
                    n.put(p.key(), v);
                    next.add(n);
                }
            }
            out = next;
        }
        return out;
    }
}
