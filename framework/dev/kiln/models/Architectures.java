package dev.kiln.models;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The registered {@link Architecture}s, by config.json {@code model_type}. Registering one is a line in
 * {@code framework/META-INF/services/dev.kiln.models.Architecture} (found with {@link ServiceLoader}, as
 * tasks are).
 */
public final class Architectures {
    private Architectures() {}

    private static volatile Map<String, Architecture> all;

    /** Every registered architecture by model_type, in registration order. */
    public static Map<String, Architecture> all() {
        Map<String, Architecture> m = all;
        if (m == null) {
            LinkedHashMap<String, Architecture> found = new LinkedHashMap<>();
            for (Architecture a : ServiceLoader.load(Architecture.class, Architectures.class.getClassLoader())) {
                Architecture prev = found.putIfAbsent(a.modelType(), a);
                if (prev != null) {
                    throw new IllegalStateException("model_type '" + a.modelType() + "' is registered twice ("
                            + prev.getClass().getName() + ", " + a.getClass().getName() + ")");
                }
            }
            all = m = Collections.unmodifiableMap(found);
        }
        return m;
    }

    /** The architecture for a model_type; an unknown one is a one-line error naming the registered ones. */
    public static Architecture forType(String modelType) {
        Architecture a = all().get(modelType);
        if (a == null) {
            throw new IllegalArgumentException("model_type '" + modelType + "' is not supported; Kiln knows "
                    + String.join(", ", all().keySet()));
        }
        return a;
    }

    /** The architecture of a HF model folder, from its config.json. */
    public static Architecture of(Path dir) throws IOException {
        return of(dir, HfFolder.readConfig(dir));
    }

    /** As {@link #of(Path)}, for a config.json already read ({@code dir} names it in errors). */
    public static Architecture of(Path dir, JsonObject config) throws IOException {
        JsonElement t = config.get("model_type");
        if (t != null && t.isJsonPrimitive()) {
            try {
                return forType(t.getAsString());
            } catch (IllegalArgumentException e) {
                throw new IOException(dir.resolve("config.json") + ": " + e.getMessage());
            }
        }
        for (Architecture a : all().values()) {
            if (a.recognizes(config)) return a;
        }
        throw new IOException(dir.resolve("config.json") + ": no model_type and no fields of a known architecture ("
                + String.join(", ", all().keySet()) + ")");
    }

    /**
     * config.json of {@code dir}, checked to be {@code expected}'s, with {@code overrides} (nullable) merged over
     * it: what an architecture's loader parses.
     */
    public static JsonObject config(Path dir, Architecture expected, JsonObject overrides) throws IOException {
        JsonObject o = HfFolder.readConfig(dir);
        Architecture a = of(dir, o);
        if (!a.getClass().equals(expected.getClass())) {
            throw new IOException(dir.resolve("config.json") + ": model_type is '" + a.modelType() + "', expected '"
                    + expected.modelType() + "'");
        }
        if (overrides == null) return o;
        for (Map.Entry<String, JsonElement> e : overrides.entrySet()) o.add(e.getKey(), e.getValue());
        return o;
    }

    /** The backbone of any registered architecture, by the folder's model_type. */
    public static Backbone loadBackbone(Path dir, NDManager manager, Float dropout, HfFolder.Strictness strictness)
            throws IOException {
        return of(dir).loadBackbone(dir, manager, dropout, strictness);
    }
}
