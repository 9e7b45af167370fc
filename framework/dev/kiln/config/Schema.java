package dev.kiln.config;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.annotations.SerializedName;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The config's shape, read from the Java classes: each non-static, non-transient field is a key,
 * named like Gson names it (the {@code @SerializedName} value, else the field name in snake_case).
 */
final class Schema {
    private Schema() {}

    static final FieldNamingPolicy NAMING = FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES;

    /** JSON: a free-form object (e.g. model.config, HF config.json fields), checked by whoever reads it. */
    enum Kind { BOOLEAN, INT, LONG, DOUBLE, STRING, ENUM, PATH, LIST, MAP, JSON, SECTION }

    /** One key of a section, or the element type of a list or map. */
    static final class Prop {
        final Field field;
        final String key;
        final Type type;
        final Class<?> raw;
        final Kind kind;

        Prop(Field field, String key, Type type) {
            this.field = field;
            this.key = key;
            this.type = type;
            this.raw = rawClass(type);
            this.kind = kindOf(raw, type);
        }

        <A extends java.lang.annotation.Annotation> A rule(Class<A> a) {
            return field == null ? null : field.getAnnotation(a);
        }

        /**
         * The element type of a LIST (array or List) or the value type of a MAP. It keeps the
         * field, so the field's rules (range, choices) apply to each element.
         */
        Prop element() {
            Type t;
            if (raw.isArray()) t = raw.getComponentType();
            else if (type instanceof ParameterizedType pt) t = pt.getActualTypeArguments()[kind == Kind.MAP ? 1 : 0];
            else throw new IllegalStateException(raw + " needs a type argument");
            return new Prop(field, key, t);
        }

        boolean isTextual() {
            return kind == Kind.STRING || kind == Kind.ENUM || kind == Kind.PATH;
        }
    }

    private static final Map<Class<?>, Map<String, Prop>> CACHE = new ConcurrentHashMap<>();

    /**
     * Keys of a section class, in declaration order (superclass first). Alternate names from
     * {@code @SerializedName(alternate=...)} map to the same Prop, as Gson accepts them.
     */
    static Map<String, Prop> props(Class<?> c) {
        Map<String, Prop> m = CACHE.get(c);
        if (m != null) return m;
        m = new LinkedHashMap<>();
        List<Class<?>> chain = new ArrayList<>();
        for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass()) chain.add(0, k);
        for (Class<?> k : chain) {
            for (Field f : k.getDeclaredFields()) {
                int mod = f.getModifiers();
                if (Modifier.isStatic(mod) || Modifier.isTransient(mod) || f.isSynthetic()) continue;
                if (Modifier.isFinal(mod)) {
                    // javac inlines constant finals, so a value Gson writes would go unseen
                    throw new IllegalStateException(k.getName() + "." + f.getName() + ": config fields must not be final");
                }
                f.setAccessible(true);
                SerializedName sn = f.getAnnotation(SerializedName.class);
                Prop p = new Prop(f, sn != null ? sn.value() : NAMING.translateName(f), f.getGenericType());
                checkSupported(p, k.getName() + "." + f.getName());
                m.put(p.key, p);
                if (sn != null) for (String alt : sn.alternate()) m.put(alt, p);
            }
        }
        m = Collections.unmodifiableMap(m);
        CACHE.put(c, m);
        return m;
    }

    /** Distinct props (alternate names dropped), in order. */
    static List<Prop> list(Class<?> c) {
        List<Prop> out = new ArrayList<>();
        for (Map.Entry<String, Prop> e : props(c).entrySet()) if (e.getKey().equals(e.getValue().key)) out.add(e.getValue());
        return out;
    }

    private static void checkSupported(Prop p, String where) {
        if (p.kind == Kind.LIST || p.kind == Kind.MAP) {
            if (p.kind == Kind.MAP && p.type instanceof ParameterizedType pt && pt.getActualTypeArguments()[0] != String.class) {
                throw new IllegalStateException(where + ": map keys must be String");
            }
            checkSupported(p.element(), where + "[]");
        } else if (p.kind == Kind.SECTION) {
            props(p.raw);
        }
    }

    static Class<?> rawClass(Type t) {
        if (t instanceof Class<?> c) return c;
        if (t instanceof ParameterizedType pt) return (Class<?>) pt.getRawType();
        throw new IllegalStateException("unsupported config type " + t);
    }

    private static Kind kindOf(Class<?> c, Type t) {
        if (c == boolean.class || c == Boolean.class) return Kind.BOOLEAN;
        if (c == int.class || c == Integer.class) return Kind.INT;
        if (c == long.class || c == Long.class) return Kind.LONG;
        if (c == double.class || c == Double.class || c == float.class || c == Float.class) return Kind.DOUBLE;
        if (c == String.class) return Kind.STRING;
        if (c.isEnum()) return Kind.ENUM;
        if (Path.class.isAssignableFrom(c)) return Kind.PATH;
        if (c.isArray() || List.class == c) return Kind.LIST;
        if (Map.class == c) return Kind.MAP;
        if (c == com.google.gson.JsonObject.class) return Kind.JSON;
        if (c.isPrimitive() || c.getName().startsWith("java.") || c.isInterface()) {
            throw new IllegalStateException("unsupported config type " + t);
        }
        return Kind.SECTION;
    }

    /** JSON names of an enum's constants, in order. */
    static List<String> enumNames(Class<?> e) {
        List<String> out = new ArrayList<>();
        for (Field f : e.getFields()) {
            if (!f.isEnumConstant()) continue;
            SerializedName sn = f.getAnnotation(SerializedName.class);
            out.add(sn != null ? sn.value() : f.getName());
        }
        return out;
    }

    private static final Map<Class<?>, Object> DEFAULTS = new ConcurrentHashMap<>();

    static Object newInstance(Class<?> c) {
        try {
            Constructor<?> k = c.getDeclaredConstructor();
            k.setAccessible(true);
            return k.newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(c.getName() + " needs a no-argument constructor", e);
        }
    }

    /** A default instance, shared: read it, never change it. */
    static Object defaults(Class<?> c) {
        return DEFAULTS.computeIfAbsent(c, Schema::newInstance);
    }

    static Object defaultValue(Class<?> owner, Prop p) {
        try {
            return p.field.get(defaults(owner));
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Every JSON path under a section class: sections and their keys, depth first, as
     * {@code training.early_stopping.metric}. Maps and lists are leaves.
     */
    static List<String> paths(Class<?> c, String prefix) {
        List<String> out = new ArrayList<>();
        for (Prop p : list(c)) {
            String path = prefix.isEmpty() ? p.key : prefix + "." + p.key;
            out.add(path);
            if (p.kind == Kind.SECTION) out.addAll(paths(p.raw, path));
        }
        return out;
    }
}
