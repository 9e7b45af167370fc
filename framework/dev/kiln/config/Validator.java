package dev.kiln.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.kiln.config.Schema.Kind;
import dev.kiln.config.Schema.Prop;

import java.io.File;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Walks a parsed config tree against the section classes and returns a normalised copy (nulls
 * dropped so defaults apply, paths absolute, integers exact) ready for Gson, collecting every
 * problem as one line. No section-specific code: the classes and their {@link Rules} are the schema.
 */
final class Validator {
    final String source;
    private final Path configDir;
    private final Path workDir;
    final List<String> errors = new ArrayList<>();
    /** JSON path → the --set argument that wrote it, so errors there can say where the value came from. */
    private final Map<String, String> origins = new LinkedHashMap<>();
    /** Extra classes whose keys a section also accepts (the registered task's task and data options). */
    private final Map<String, Class<?>> extensions = new HashMap<>();
    /** Sections whose unknown keys go unreported (task and data while the task type is unknown). */
    private final Set<String> lenient = new HashSet<>();
    private List<String> allPaths = List.of();

    Validator(String source, Path configDir, Path workDir) {
        this.source = source;
        this.configDir = configDir;
        this.workDir = workDir;
    }

    void extend(String section, Class<?> extra) {
        if (extra != null) extensions.put(section, extra);
    }

    void lenient(String section) {
        lenient.add(section);
    }

    /** All known paths, for suggesting a key that sits in the wrong section. */
    void knownPaths(List<String> paths) {
        this.allPaths = paths;
    }

    /** Records {@code source: message}, noting the --set that supplied the value if one did. */
    void fail(String path, String message) {
        String origin = originOf(path);
        errors.add(source + ": " + message + (origin == null ? "" : " (from --set " + origin + ")"));
    }

    private String originOf(String path) {
        for (Map.Entry<String, String> e : origins.entrySet()) {
            String p = e.getKey();
            if (path.equals(p) || path.startsWith(p + ".") || path.startsWith(p + "[")) return e.getValue();
        }
        return null;
    }

    // ---- --set ----

    /**
     * Applies {@code a.b.c=value} to the tree. The path is checked against the schema (unknown
     * keys get the usual suggestions); the value is JSON when it parses as JSON, else a string.
     * For string-typed keys the raw text is kept, so {@code output.dir=2024} stays a string.
     */
    void applySet(JsonObject root, String set) {
        int eq = set.indexOf('=');
        String key = eq < 0 ? "" : set.substring(0, eq).trim();
        if (key.isEmpty()) {
            errors.add(source + ": --set " + set + ": expected KEY=VALUE, e.g. --set training.batch_size=8");
            return;
        }
        String raw = set.substring(eq + 1);
        String[] parts = key.split("\\.", -1);
        JsonObject node = root;
        String path = "";
        List<Class<?>> section = List.of(RunConfig.class); // the section we are in, or null
        Prop mapValue = null;                               // inside a map: its value type
        boolean free = false;                               // below an unchecked key
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i];
            String child = join(path, part);
            if (part.isEmpty()) {
                errors.add(source + ": --set " + set + ": empty key in \"" + key + "\"");
                return;
            }
            Prop p = null;
            if (!free) {
                if (mapValue != null) {
                    p = mapValue;
                } else {
                    Map<String, Prop> keys = keysOf(section);
                    p = keys.get(part);
                    if (p == null && lenient.contains(path)) {
                        free = true;
                    } else if (p == null) {
                        errors.add(source + ": --set " + set + ": " + unknownKeyMessage(path, part, canonical(keys)));
                        return;
                    }
                }
            }
            String name = p != null && mapValue == null ? p.key : part;
            if (i == parts.length - 1) {
                node.add(name, parseSetValue(raw, p));
                origins.put(child, set);
                return;
            }
            if (p != null) {
                if (p.kind == Kind.SECTION) {
                    section = sectionClasses(child, p.raw);
                    mapValue = null;
                } else if (p.kind == Kind.JSON) {
                    free = true; // its inner keys belong to whoever reads the object
                } else if (p.kind == Kind.MAP) {
                    mapValue = p.element();
                } else {
                    errors.add(source + ": --set " + set + ": \"" + child + "\" is a single value, not a section");
                    return;
                }
            }
            JsonElement next = node.get(name);
            if (next == null || !next.isJsonObject()) {
                next = new JsonObject();
                node.add(name, next);
            }
            node = next.getAsJsonObject();
            path = child;
        }
    }

    /** The same edit without any schema, used to learn the task type before the real pass. */
    static void applySetBlind(JsonObject root, String set) {
        int eq = set.indexOf('=');
        if (eq <= 0) return;
        String[] parts = set.substring(0, eq).trim().split("\\.", -1);
        JsonObject node = root;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonElement next = node.get(parts[i]);
            if (next == null || !next.isJsonObject()) {
                next = new JsonObject();
                node.add(parts[i], next);
            }
            node = next.getAsJsonObject();
        }
        node.add(parts[parts.length - 1], parseSetValue(set.substring(eq + 1), null));
    }

    private static JsonElement parseSetValue(String raw, Prop p) {
        JsonElement parsed = null;
        try {
            parsed = StrictJson.parse(raw);
        } catch (StrictJson.SyntaxError e) {
            // not JSON: a plain string
        }
        if (p != null && p.isTextual()) {
            boolean stringOrNull = parsed != null && (parsed.isJsonNull()
                    || parsed.isJsonPrimitive() && parsed.getAsJsonPrimitive().isString());
            return stringOrNull ? parsed : new JsonPrimitive(raw);
        }
        return parsed != null ? parsed : new JsonPrimitive(raw);
    }

    // ---- the walk ----

    JsonObject walkRoot(JsonObject root) {
        return walkObject(root, "", List.of(RunConfig.class));
    }

    private JsonObject walkObject(JsonObject obj, String path, List<Class<?>> classes) {
        Map<String, Prop> keys = keysOf(classes);
        JsonObject out = new JsonObject();
        for (Map.Entry<String, JsonElement> e : obj.entrySet()) {
            String child = join(path, e.getKey());
            Prop p = keys.get(e.getKey());
            if (p == null) {
                if (!lenient.contains(path)) fail(child, unknownKeyMessage(path, e.getKey(), canonical(keys)));
                continue;
            }
            if (e.getValue().isJsonNull()) continue; // null means "the default"
            JsonElement v = value(e.getValue(), p, child);
            if (v != null) out.add(p.key, v);
        }
        for (Class<?> c : classes) {
            for (Prop p : Schema.list(c)) {
                if (out.has(p.key) || givenNonNull(obj, keys, p)) continue; // present: checked above
                String child = join(path, p.key);
                Rules.Required req = p.rule(Rules.Required.class);
                boolean excused = req != null && !req.unless().isEmpty()
                        && obj.has(req.unless()) && !obj.get(req.unless()).isJsonNull();
                if (req != null && !excused) {
                    fail(child, quote(child) + " is required" + (req.value().isEmpty() ? "" : " (" + req.value() + ")"));
                } else if (p.kind == Kind.SECTION && Schema.defaultValue(c, p) != null) {
                    walkObject(new JsonObject(), child, sectionClasses(child, p.raw)); // its required keys
                }
            }
        }
        return out;
    }

    private static boolean givenNonNull(JsonObject obj, Map<String, Prop> keys, Prop p) {
        for (Map.Entry<String, JsonElement> e : obj.entrySet()) {
            if (keys.get(e.getKey()) == p && !e.getValue().isJsonNull()) return true;
        }
        return false;
    }

    private JsonElement value(JsonElement v, Prop p, String path) {
        switch (p.kind) {
            case BOOLEAN:
                return isPrimitive(v) && v.getAsJsonPrimitive().isBoolean() ? v : typeError(path, "true or false", v);
            case INT:
                return integer(v, p, path, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case LONG:
                return integer(v, p, path, Long.MIN_VALUE, Long.MAX_VALUE);
            case DOUBLE: {
                if (!isNumber(v)) return typeError(path, "a number", v);
                double d = v.getAsBigDecimal().doubleValue();
                if (Double.isInfinite(d)) {
                    fail(path, quote(path) + " is too large, got " + show(v));
                    return null;
                }
                return inRange(p, d, path, v) ? v : null;
            }
            case STRING:
                return string(v, p, path);
            case ENUM: {
                List<String> names = Schema.enumNames(p.raw);
                if (isString(v) && names.contains(v.getAsString())) return v;
                return oneOf(path, names, v);
            }
            case PATH:
                return path(v, p, path);
            case LIST: {
                if (!v.isJsonArray()) return typeError(path, "an array", v);
                JsonArray a = v.getAsJsonArray();
                Rules.Size size = p.rule(Rules.Size.class);
                if (size != null && a.size() != size.value()) {
                    fail(path, quote(path) + " must have " + size.value() + " elements, got " + a.size());
                    return null;
                }
                Prop el = p.element();
                JsonArray out = new JsonArray();
                boolean ok = true;
                for (int i = 0; i < a.size(); i++) {
                    String ep = path + "[" + i + "]";
                    JsonElement x = a.get(i).isJsonNull() ? typeError(ep, "a value, not null", a.get(i)) : value(a.get(i), el, ep);
                    if (x == null) ok = false;
                    else out.add(x);
                }
                return ok ? out : null;
            }
            case MAP: {
                if (!v.isJsonObject()) return typeError(path, "an object", v);
                Prop el = p.element();
                JsonObject out = new JsonObject();
                boolean ok = true;
                for (Map.Entry<String, JsonElement> e : v.getAsJsonObject().entrySet()) {
                    if (e.getValue().isJsonNull()) continue;
                    JsonElement x = value(e.getValue(), el, path + "." + e.getKey());
                    if (x == null) ok = false;
                    else out.add(e.getKey(), x);
                }
                return ok ? out : null;
            }
            case JSON:
                return v.isJsonObject() ? v.deepCopy() : typeError(path, "an object", v);
            case SECTION:
                if (!v.isJsonObject()) return typeError(path, "an object", v);
                return walkObject(v.getAsJsonObject(), path, sectionClasses(path, p.raw));
            default:
                throw new IllegalStateException(p.kind.toString());
        }
    }

    private JsonElement integer(JsonElement v, Prop p, String path, long lo, long hi) {
        if (!isNumber(v)) return typeError(path, "an integer", v);
        BigInteger i;
        try {
            i = v.getAsBigDecimal().toBigIntegerExact(); // 3 and 3.0 pass, 3.5 does not
        } catch (ArithmeticException e) {
            return typeError(path, "an integer", v);
        }
        if (i.compareTo(BigInteger.valueOf(lo)) < 0 || i.compareTo(BigInteger.valueOf(hi)) > 0) {
            fail(path, quote(path) + " is out of range for an integer, got " + show(v));
            return null;
        }
        return inRange(p, i.doubleValue(), path, v) ? new JsonPrimitive(i.longValue()) : null;
    }

    private boolean inRange(Prop p, double x, String path, JsonElement v) {
        Rules.Range r = p.rule(Rules.Range.class);
        if (r == null) return true;
        boolean aboveMin = x > r.min() || (!r.minExclusive() && x == r.min());
        boolean belowMax = x < r.max() || (!r.maxExclusive() && x == r.max());
        if (aboveMin && belowMax) return true;
        fail(path, quote(path) + " must be " + describe(r) + ", got " + show(v));
        return false;
    }

    /** "at least 1", "greater than 0", "in [0, 1)". */
    static String describe(Rules.Range r) {
        boolean hasMin = r.min() != Double.NEGATIVE_INFINITY;
        boolean hasMax = r.max() != Double.POSITIVE_INFINITY;
        if (hasMin && hasMax) {
            return "in " + (r.minExclusive() ? "(" : "[") + num(r.min()) + ", " + num(r.max()) + (r.maxExclusive() ? ")" : "]");
        }
        if (hasMin) return (r.minExclusive() ? "greater than " : "at least ") + num(r.min());
        return (r.maxExclusive() ? "less than " : "at most ") + num(r.max());
    }

    private JsonElement string(JsonElement v, Prop p, String path) {
        if (!isString(v)) return typeError(path, "a string", v);
        String s = v.getAsString();
        Rules.Matches m = p.rule(Rules.Matches.class);
        if (m != null && !s.matches(m.regex())) {
            List<String> literal = new ArrayList<>(); // suggest real values, not "gpu:N"
            for (String a : m.allowed()) if (a.matches(m.regex())) literal.add(a);
            String hint = Suggest.didYouMean(Suggest.similar(s, literal));
            if (hint.isEmpty() && !m.hint().isEmpty()) hint = " (" + m.hint() + ")";
            fail(path, quote(path) + " must be one of " + Suggest.quotedList(List.of(m.allowed()), " or ") + ", got " + show(v) + hint);
            return null;
        }
        Rules.Registered reg = p.rule(Rules.Registered.class);
        if (reg != null) {
            List<String> names = ConfigRegistry.names(reg.value());
            return names.contains(s) ? v : oneOf(path, names, v);
        }
        if (p.rule(Rules.NameOrPath.class) != null) return nameOrPath(s, path, v);
        return v;
    }

    private JsonElement path(JsonElement v, Prop p, String path) {
        if (!isString(v) || v.getAsString().isBlank()) return typeError(path, "a path", v);
        String s = expand(v.getAsString(), path);
        if (s == null) return null;
        boolean output = p.rule(Rules.OutputPath.class) != null;
        Path abs;
        try {
            abs = (output ? workDir : configDir).resolve(Paths.get(s)).normalize();
        } catch (InvalidPathException e) {
            return typeError(path, "a valid path", v);
        }
        if (!output && !Files.exists(abs)) {
            fail(path, quote(path) + ": file not found: " + abs + " (paths are relative to the config file's folder"
                    + ")");
            return null;
        }
        return new JsonPrimitive(abs.toString());
    }

    /**
     * Expands {@code ${NAME}} from the environment in a path ({@code ${KILN_HOME}} defaults to
     * ~/.kiln) and a leading {@code ~}; an unset variable is an error naming it.
     */
    private String expand(String s, String path) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < s.length()) {
            int a = s.indexOf("${", i);
            if (a < 0) {
                out.append(s, i, s.length());
                break;
            }
            int b = s.indexOf('}', a);
            if (b < 0) {
                fail(path, quote(path) + ": unclosed ${ in " + show(new JsonPrimitive(s)));
                return null;
            }
            out.append(s, i, a);
            String name = s.substring(a + 2, b);
            String val = name.equals("KILN_HOME") ? dev.kiln.util.KilnHome.home().toString() : System.getenv(name);
            if (val == null) {
                fail(path, quote(path) + ": environment variable " + name + " is not set");
                return null;
            }
            out.append(val);
            i = b + 1;
        }
        String r = out.toString();
        if (r.equals("~") || r.startsWith("~/")) r = System.getProperty("user.home") + r.substring(1);
        return r;
    }

    private JsonElement nameOrPath(String s, String path, JsonElement v) {
        boolean pathLike = s.contains("/") || s.contains(File.separator) || s.startsWith(".") || s.startsWith("~");
        Path abs;
        try {
            abs = configDir.resolve(s).normalize();
        } catch (InvalidPathException e) {
            return v; // cannot be a path here, so it is a name
        }
        if (Files.exists(abs)) return new JsonPrimitive(abs.toString());
        if (pathLike) {
            fail(path, quote(path) + ": not found: " + abs
                    + " (paths are relative to the config file's folder; a name without a slash is a model zoo name)");
            return null;
        }
        return v;
    }

    private JsonElement oneOf(String path, List<String> allowed, JsonElement v) {
        String hint = isString(v) ? Suggest.didYouMean(Suggest.similar(v.getAsString(), allowed)) : "";
        fail(path, quote(path) + " must be one of " + Suggest.quotedList(allowed, " or ") + ", got " + show(v) + hint);
        return null;
    }

    private JsonElement typeError(String path, String what, JsonElement v) {
        fail(path, quote(path) + " must be " + what + ", got " + show(v));
        return null;
    }

    String unknownKeyMessage(String section, String key, List<String> allowed) {
        List<String> s = Suggest.forKey(key, section, allowed, allPaths);
        String msg = "unknown key " + quote(join(section, key));
        if (!s.isEmpty()) return msg + Suggest.didYouMean(s);
        return msg + " (allowed" + (section.isEmpty() ? "" : " in " + quote(section)) + ": "
                + Suggest.quotedList(allowed, ", ") + ")";
    }

    // ---- helpers ----

    private List<Class<?>> sectionClasses(String path, Class<?> declared) {
        Class<?> extra = extensions.get(path);
        return extra == null ? List.of(declared) : List.of(declared, extra);
    }

    private static Map<String, Prop> keysOf(List<Class<?>> classes) {
        Map<String, Prop> m = new LinkedHashMap<>();
        for (Class<?> c : classes) m.putAll(Schema.props(c));
        return m;
    }

    private static List<String> canonical(Map<String, Prop> keys) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Prop> e : keys.entrySet()) if (e.getKey().equals(e.getValue().key)) out.add(e.getKey());
        return out;
    }

    static String join(String section, String key) {
        return section.isEmpty() ? key : section + "." + key;
    }

    static String quote(String path) {
        return "\"" + path + "\"";
    }

    private static boolean isPrimitive(JsonElement v) {
        return v.isJsonPrimitive();
    }

    private static boolean isNumber(JsonElement v) {
        return v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber();
    }

    private static boolean isString(JsonElement v) {
        return v.isJsonPrimitive() && v.getAsJsonPrimitive().isString();
    }

    /** A value as the user wrote it (JSON), shortened when long. */
    static String show(JsonElement v) {
        String s;
        if (isNumber(v)) s = v.getAsBigDecimal().toString().replace("E+", "e").replace('E', 'e');
        else s = v.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /** 1 rather than 1.0 in messages. */
    static String num(double d) {
        return BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }
}
