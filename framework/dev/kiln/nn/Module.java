package dev.kiln.nn;

import ai.djl.ndarray.NDArray;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A node of a model's module tree. A module has a local name, ordered children and named parameters;
 * its path is its parent's path + "." + its name (the root's path is empty), and a parameter's path is
 * its HuggingFace checkpoint key ({@code bert.encoder.layer.0.attention.self.query.weight}). A child is
 * attached by constructing it with its parent and name, so every key is spelled once, as a path.
 *
 * <p>The arrays live in {@link Parameters} (the store loads, saves, casts and is optimized); modules keep
 * keys, not arrays, so the store may swap an array (e.g. for its fp16 copy) without the module noticing.
 * A plain {@code new Module(parent, "encoder")} is a container (HF's {@code nn.Module} with only children).
 */
public class Module {
    private final Parameters store;
    private final Module parent;
    private final String name;
    private final String path;
    /** Parameters (local name → key) and children (local name → module) in registration order. */
    private final LinkedHashMap<String, Object> members = new LinkedHashMap<>();

    /** A root module (path ""), whose parameters live in {@code params}. */
    protected Module(Parameters params) {
        this.store = params;
        this.parent = null;
        this.name = "";
        this.path = "";
    }

    /** A child of {@code parent} named {@code name} (one path segment: no dots). */
    public Module(Module parent, String name) {
        if (name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("module name '" + name + "' must be one non-empty path segment");
        this.store = parent.store;
        this.parent = parent;
        this.name = name;
        this.path = parent.path.isEmpty() ? name : parent.path + "." + name;
        parent.register(name, this);
    }

    private void register(String local, Object member) {
        if (members.containsKey(local)) throw new IllegalStateException("duplicate member " + join(path, local));
        members.put(local, member);
    }

    private static String join(String path, String local) {
        return path.isEmpty() ? local : path + "." + local;
    }

    /** Creates parameter {@code localName} of this module in the store; returns its key (= path). */
    protected String param(String localName, Parameters.Init init, long... shape) {
        String key = join(path, localName);
        register(localName, key);
        store.create(key, init, shape);
        return key;
    }

    /**
     * Adds parameter {@code localName} to this module from outside (a wrapper's own tensor that is not a
     * submodule's weight, e.g. AdaLoRA's {@code ...query.lora_E}); returns its key.
     */
    public String addParameter(String localName, Parameters.Init init, long... shape) {
        return param(localName, init, shape);
    }

    protected NDArray p(String key) {
        return store.get(key);
    }

    public String name() {
        return name;
    }

    /** Dotted path from the root; "" for the root. */
    public String path() {
        return path;
    }

    public Module parent() {
        return parent;
    }

    public Parameters store() {
        return store;
    }

    /** Direct children by local name, in registration order. */
    public Map<String, Module> children() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : members.entrySet()) if (e.getValue() instanceof Module m) out.put(e.getKey(), m);
        return out;
    }

    /** This module's own parameter keys by local name (not its children's). */
    public Map<String, String> localParameters() {
        LinkedHashMap<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : members.entrySet()) if (e.getValue() instanceof String k) out.put(e.getKey(), k);
        return out;
    }

    /** The descendant at a path relative to this module ("" is this module). */
    public Module get(String relativePath) {
        Module m = this;
        if (relativePath.isEmpty()) return m;
        for (String seg : relativePath.split("\\.")) {
            Object o = m.members.get(seg);
            if (!(o instanceof Module c)) throw new IllegalArgumentException("no module " + join(m.path, seg));
            m = c;
        }
        return m;
    }

    // ---- walks -------------------------------------------------------------------------------------------

    /** This module and every descendant, depth first in registration order, by path. */
    public Map<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        walk(out);
        return Collections.unmodifiableMap(out);
    }

    private void walk(Map<String, Module> out) {
        out.put(path, this);
        for (Object o : members.values()) if (o instanceof Module m) m.walk(out);
    }

    /** Every parameter in this subtree by key (= path), in registration order (the store's creation order). */
    public Map<String, NDArray> namedParameters() {
        LinkedHashMap<String, NDArray> out = new LinkedHashMap<>();
        for (String k : parameterKeys()) out.put(k, store.get(k));
        return Collections.unmodifiableMap(out);
    }

    /** The keys of {@link #namedParameters()}. */
    public List<String> parameterKeys() {
        List<String> out = new ArrayList<>();
        collectKeys(out);
        return out;
    }

    private void collectKeys(List<String> out) {
        for (Object o : members.values()) {
            if (o instanceof String k) out.add(k);
            else ((Module) o).collectKeys(out);
        }
    }

    /** Number of scalars in this subtree's parameters. */
    public long parameterCount() {
        long n = 0;
        for (NDArray a : namedParameters().values()) n += a.size();
        return n;
    }

    /**
     * The N of MFU's 6N: scalars of parameters that meet every token in a matmul or an elementwise op,
     * i.e. everything but the tables of {@link Embedding} modules, which are only looked up (projections'
     * weights and biases, and LayerNorm gains and biases, as Kiln has always counted). A task whose LM head
     * multiplies by a tied table counts that table itself.
     */
    public long matmulParameterCount() {
        long n = 0;
        for (Module m : namedModules().values()) {
            if (m instanceof Embedding) continue;
            for (String k : m.localParameters().values()) n += store.get(k).size();
        }
        return n;
    }

    /** nanoGPT's weight-decay rule: a parameter decays iff it has two or more dimensions. */
    public record DecayGroups(List<String> decay, List<String> noDecay) {}

    public DecayGroups decayGroups() {
        List<String> decay = new ArrayList<>();
        List<String> noDecay = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : namedParameters().entrySet()) {
            (e.getValue().getShape().dimension() >= 2 ? decay : noDecay).add(e.getKey());
        }
        return new DecayGroups(List.copyOf(decay), List.copyOf(noDecay));
    }

    /** Every {@link ProjectionModule} (Linear, Conv1D) in this subtree, by path. */
    public Map<String, ProjectionModule> projections() {
        LinkedHashMap<String, ProjectionModule> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : namedModules().entrySet()) {
            if (e.getValue() instanceof ProjectionModule p) out.put(e.getKey(), p);
        }
        return out;
    }

    // ---- wrapping ----------------------------------------------------------------------------------------

    /**
     * Wraps every projection in this subtree whose path matches the glob {@code pattern}: later forwards go
     * through {@code wrapper.apply(target)}, which usually calls {@code target.current()} (the computation
     * before this wrap, so wraps compose). The projection keeps its path and parameters; a wrapper adds its
     * own as children of the target ({@code new Linear(target, "lora_A", ...)} → {@code ...query.lora_A.weight}),
     * so they are saved, loaded and optimized like any other. Returns the wrapped paths.
     *
     * <p>Globs match whole paths: {@code *} is any run of characters within one segment, {@code **} any
     * run across segments, {@code ?} one character of a segment, {@code {a,b}} either alternative;
     * e.g. {@code bert.encoder.layer.*.attention.self.*}, {@code **.attn.c_attn}, {@code **.self.{query,value}}.
     *
     * @throws IllegalArgumentException when no projection matches; the message lists the projection paths
     */
    public List<String> wrap(String pattern, Function<ProjectionModule, Projection> wrapper) {
        Pattern re = glob(pattern);
        Map<String, ProjectionModule> all = projections();
        List<ProjectionModule> hits = new ArrayList<>();
        for (Map.Entry<String, ProjectionModule> e : all.entrySet()) if (re.matcher(e.getKey()).matches()) hits.add(e.getValue());
        if (hits.isEmpty()) {
            throw new IllegalArgumentException("no projection matches '" + pattern + "'; projections: " + summary(all.keySet()));
        }
        List<String> paths = new ArrayList<>();
        for (ProjectionModule p : hits) {
            Projection w = wrapper.apply(p);
            if (w == null) throw new IllegalArgumentException("wrapper returned null for " + p.path());
            p.setCurrent(w);
            paths.add(p.path());
        }
        return paths;
    }

    /** A glob over dotted paths as a regex (see {@link #wrap}). */
    public static Pattern glob(String glob) {
        StringBuilder re = new StringBuilder();
        int depth = 0;
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '*') {
                if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                    i++;
                    // "**." also matches zero segments
                    if (i + 1 < glob.length() && glob.charAt(i + 1) == '.') {
                        i++;
                        re.append("(?:.*\\.)?");
                    } else {
                        re.append(".*");
                    }
                } else {
                    re.append("[^.]*");
                }
            } else if (c == '?') {
                re.append("[^.]");
            } else if (c == '{') {
                depth++;
                re.append("(?:");
            } else if (c == '}' && depth > 0) {
                depth--;
                re.append(')');
            } else if (c == ',' && depth > 0) {
                re.append('|');
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        if (depth != 0) throw new IllegalArgumentException("unbalanced '{' in pattern '" + glob + "'");
        return Pattern.compile(re.toString());
    }

    /**
     * Paths with layer numbers folded: {@code bert.encoder.layer.*.attention.self.query (×12)}, in first-seen
     * order, so a 12-layer model's projections fit one line.
     */
    static String summary(Iterable<String> paths) {
        LinkedHashMap<String, Integer> folded = new LinkedHashMap<>();
        for (String p : paths) folded.merge(p.replaceAll("(^|\\.)\\d+(?=\\.|$)", "$1*"), 1, Integer::sum);
        if (folded.isEmpty()) return "(none)";
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Integer> e : folded.entrySet()) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(e.getKey());
            if (e.getValue() > 1) sb.append(" (×").append(e.getValue()).append(')');
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + (path.isEmpty() ? "<root>" : path) + ")";
    }
}
