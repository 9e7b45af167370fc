package dev.kiln.peft;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kiln.models.Backbone;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Module;
import dev.kiln.nn.ProjectionModule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A backbone with a PEFT method applied through its module tree: LoRA branches or bottleneck adapters wrap
 * projections of {@link Backbone#body()} ({@link Module#wrap}), BitFit adds nothing. It knows which
 * parameters train ({@link #trainable()}: its own, the biases its method trains, and every head, i.e. HF PEFT's
 * modules_to_save) and writes them under HF PEFT's names ({@link #adapterState()}).
 */
public final class PeftModel {
    /** Saved keys are HF PEFT's: the module path under {@code base_model.model.}, adapter name dropped. */
    public static final String KEY_PREFIX = "base_model.model.";

    final PeftSpec spec;
    final Backbone backbone;
    final List<String> wrapped = new ArrayList<>();
    final List<LoraLayer> loras = new ArrayList<>();
    final List<AdaLoraLayer> adaLoras = new ArrayList<>();
    /** AdaLoRA: kept triplets per projection (lora_E key → mask) once pruning began, else null. */
    LinkedHashMap<String, boolean[]> rankPattern;
    /** Parameters the method added (lora_A/B, adapter_down/up). */
    final Set<String> added = new LinkedHashSet<>();
    /** Pretrained biases the method trains (BitFit, LoRA bias all / lora_only). */
    final Set<String> trainedBiases = new LinkedHashSet<>();
    private volatile boolean training;

    private PeftModel(PeftSpec spec, Backbone backbone) {
        this.spec = spec;
        this.backbone = backbone;
    }

    /** Applies {@code spec} to {@code backbone} in place. A target pattern that matches no projection is an error listing them. */
    public static PeftModel apply(PeftSpec spec, Backbone backbone) {
        PeftModel m = new PeftModel(spec, backbone);
        Module body = backbone.body();
        Set<String> before = new LinkedHashSet<>(backbone.params().all().keySet());
        if (spec.method != PeftSpec.Method.BITFIT) {
            List<String> targets = m.selectTargets();
            for (String path : targets) {
                // one projection at a time, so a projection that two patterns match is wrapped once
                body.wrap(literalGlob(path), p -> m.wrapper(p));
                m.wrapped.add(path);
            }
        }
        for (String k : backbone.params().all().keySet()) if (!before.contains(k)) m.added.add(k);
        boolean allBiases = spec.method == PeftSpec.Method.BITFIT || (spec.method == PeftSpec.Method.LORA && spec.bias.equals("all"));
        boolean loraOnly = spec.method == PeftSpec.Method.LORA && spec.bias.equals("lora_only");
        for (Module mod : body.namedModules().values()) {
            if (!allBiases && !(loraOnly && m.wrapped.contains(mod.path()))) continue;
            String b = mod.localParameters().get("bias");
            if (b != null && !m.added.contains(b)) m.trainedBiases.add(b);
        }
        return m;
    }

    /** A glob that matches exactly {@code path} (paths are dotted names without glob characters). */
    private static String literalGlob(String path) {
        if (path.matches(".*[*?{},].*")) throw new IllegalArgumentException("unexpected glob character in module path " + path);
        return path;
    }

    private dev.kiln.nn.Projection wrapper(ProjectionModule p) {
        if (spec.method == PeftSpec.Method.LORA) {
            LoraLayer l = new LoraLayer(p, spec.r, spec.alpha, spec.dropout, spec.seed, this);
            loras.add(l);
            return l;
        }
        if (spec.method == PeftSpec.Method.ADALORA) {
            AdaLoraLayer l = new AdaLoraLayer(p, spec.initR, spec.alpha, spec.dropout, spec.seed, this);
            adaLoras.add(l);
            return l;
        }
        return new BottleneckAdapter(p, spec.reductionFactor, spec.nonLinearity, spec.seed);
    }

    /** The body projections the spec selects, in model order; each config glob must match at least one. */
    private List<String> selectTargets() {
        Module body = backbone.body();
        Map<String, ProjectionModule> all = body.projections();
        Set<String> out = new LinkedHashSet<>();
        if (spec.peftTargets != null) {
            for (String p : all.keySet()) if (PeftSpec.peftMatches(spec.peftTargets, p)) out.add(p);
            if (out.isEmpty()) {
                throw new IllegalArgumentException("target_modules " + spec.peftTargets + " matches no projection of the base model; projections: "
                        + folded(all.keySet()));
            }
        } else {
            List<String> globs = spec.globs;
            if (globs == null) {
                globs = spec.method == PeftSpec.Method.LORA || spec.method == PeftSpec.Method.ADALORA ? PeftSpec.defaultLoraGlobs(backbone.architecture())
                        : PeftSpec.adapterGlobs(backbone.architecture(), spec.adapterType);
            }
            for (String g : globs) {
                Pattern re = Module.glob(g);
                boolean hit = false;
                for (String p : all.keySet()) {
                    if (re.matcher(p).matches()) {
                        out.add(p);
                        hit = true;
                    }
                }
                if (!hit) body.wrap(g, x -> null); // matches nothing: throws the error that lists the projections
            }
        }
        List<String> ordered = new ArrayList<>();
        for (String p : all.keySet()) if (out.contains(p)) ordered.add(p);
        return ordered;
    }

    /** Paths with layer numbers folded ({@code bert.encoder.layer.*.attention.self.query (×12)}). */
    static String folded(Iterable<String> paths) {
        LinkedHashMap<String, Integer> f = new LinkedHashMap<>();
        for (String p : paths) f.merge(p.replaceAll("(^|\\.)\\d+(?=\\.|$)", "$1*"), 1, Integer::sum);
        List<String> parts = new ArrayList<>();
        f.forEach((k, n) -> parts.add(n > 1 ? k + " (×" + n + ")" : k));
        return parts.isEmpty() ? "(none)" : String.join(", ", parts);
    }

    public PeftSpec spec() {
        return spec;
    }

    public Backbone backbone() {
        return backbone;
    }

    /** The projections this adapter wraps, by path. */
    public List<String> wrapped() {
        return List.copyOf(wrapped);
    }

    /** The parameters the method added to the model. */
    public Set<String> addedParameters() {
        return java.util.Collections.unmodifiableSet(added);
    }

    /** Whether forwards run in training mode (LoRA dropout); the PEFT task sets it around each loss. */
    public boolean training() {
        return training;
    }

    public void setTraining(boolean t) {
        training = t;
    }

    /**
     * True for what trains: the added parameters, the biases the method trains, and everything outside the body
     * (the task heads, PEFT's modules_to_save). The body's keys are read now, so call it once the heads exist.
     */
    public Predicate<String> trainable() {
        Set<String> body = new LinkedHashSet<>(backbone.body().parameterKeys());
        return k -> added.contains(k) || trainedBiases.contains(k) || !body.contains(k);
    }

    /** The head modules beside the body (PEFT's modules_to_save): root children with parameters. */
    public List<String> modulesToSave() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Module> e : backbone.root().children().entrySet()) {
            if (e.getValue() != backbone.body() && !e.getValue().parameterKeys().isEmpty()) out.add(e.getKey());
        }
        return out;
    }

    /**
     * What a PEFT folder holds: the trainable parameters under HF PEFT's keys ({@link #KEY_PREFIX} + path). AdaLoRA
     * keeps only the unpruned triplets once a rank pattern exists (PEFT's resize_state_dict_by_rank_pattern).
     */
    public LinkedHashMap<String, HostTensor> adapterState() {
        Predicate<String> t = trainable();
        Map<String, Object[]> cut = new java.util.HashMap<>();
        if (rankPattern != null) {
            for (AdaLoraLayer l : adaLoras) {
                boolean[] keep = rankPattern.get(l.eKey);
                cut.put(l.aKey, new Object[] {keep, 0});
                cut.put(l.eKey, new Object[] {keep, 0});
                cut.put(l.bKey, new Object[] {keep, 1});
            }
        }
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, ai.djl.ndarray.NDArray> e : backbone.params().all().entrySet()) {
            if (!t.test(e.getKey())) continue;
            HostTensor h = HostTensor.of(e.getValue());
            Object[] c = cut.get(e.getKey());
            out.put(KEY_PREFIX + e.getKey(), c == null ? h : select(h, (boolean[]) c[0], (int) c[1], false));
        }
        return out;
    }

    /**
     * Rows (dim 0) or columns (dim 1) of a 2-d tensor where {@code keep} is true; with {@code expand}, the inverse:
     * a tensor with those rows/columns spread back to keep.length places, zeros elsewhere.
     */
    static HostTensor select(HostTensor h, boolean[] keep, int dim, boolean expand) {
        long[] shape = h.shape();
        int kept = 0;
        for (boolean b : keep) kept += b ? 1 : 0;
        int full = keep.length;
        int other = (int) shape[1 - dim];
        if (shape[dim] != (expand ? kept : full)) {
            throw new IllegalArgumentException("tensor of shape " + java.util.Arrays.toString(shape) + " does not fit a rank pattern of "
                    + kept + " kept in " + full);
        }
        float[] v = h.toFloats();
        int rows = dim == 0 ? (expand ? full : kept) : other;
        int cols = dim == 0 ? other : (expand ? full : kept);
        float[] o = new float[rows * cols];
        int src = 0;
        for (int i = 0; i < full; i++) {
            if (!keep[i]) continue;
            for (int j = 0; j < other; j++) {
                int fullIdx = dim == 0 ? i * other + j : j * full + i;
                int keptIdx = dim == 0 ? src * other + j : j * kept + src;
                if (expand) o[fullIdx] = v[keptIdx];
                else o[keptIdx] = v[fullIdx];
            }
            src++;
        }
        return HostTensor.ofFloats(dim == 0 ? new long[] {rows, other} : new long[] {other, cols}, o);
    }

    /** AdaLoRA's kept triplets (lora_E key → mask), or null before any pruning or for other methods. */
    public Map<String, boolean[]> rankPattern() {
        return rankPattern == null ? null : java.util.Collections.unmodifiableMap(rankPattern);
    }

    /**
     * AdaLoRA's orthogonality penalty (PEFT: the mean over all lora_A and lora_B of ‖PᵀP − I‖_F), in {@code s};
     * null for other methods.
     */
    public ai.djl.ndarray.NDArray orthPenalty(ai.djl.ndarray.NDManager s) {
        if (adaLoras.isEmpty()) return null;
        ai.djl.ndarray.NDArray sum = null;
        for (AdaLoraLayer l : adaLoras) {
            ai.djl.ndarray.NDArray p = l.orthPenalty(s);
            sum = sum == null ? p : sum.add(p);
        }
        return sum.div(dev.kiln.nn.Functional.scalar(sum, 2.0 * adaLoras.size()));
    }

    /** adapter_config.json as HF PEFT writes it (LoRA), or Kiln's own fields for BitFit and bottleneck adapters. */
    public JsonObject adapterConfig(String baseModel, String taskType) {
        JsonObject o = new JsonObject();
        o.addProperty("base_model_name_or_path", baseModel);
        o.add("revision", com.google.gson.JsonNull.INSTANCE);
        if (taskType != null) o.addProperty("task_type", taskType);
        else o.add("task_type", com.google.gson.JsonNull.INSTANCE);
        o.addProperty("inference_mode", true);
        boolean conv = false;
        for (String p : wrapped) conv |= backbone.root().get(p) instanceof dev.kiln.nn.Conv1D;
        JsonElement targets = spec.method == PeftSpec.Method.BITFIT ? null
                : spec.method == PeftSpec.Method.LORA || spec.method == PeftSpec.Method.ADALORA ? PeftSpec.peftTargetNames(wrapped, backbone.body().projections().keySet())
                : fullPaths();
        spec.rankPattern = rankPattern;
        spec.writeFields(o, targets, conv);
        com.google.gson.JsonArray mts = new com.google.gson.JsonArray();
        modulesToSave().forEach(mts::add);
        o.add("modules_to_save", mts.isEmpty() ? com.google.gson.JsonNull.INSTANCE : mts);
        o.add("auto_mapping", com.google.gson.JsonNull.INSTANCE);
        return o;
    }

    private com.google.gson.JsonArray fullPaths() {
        com.google.gson.JsonArray a = new com.google.gson.JsonArray();
        wrapped.forEach(a::add);
        return a;
    }

    /**
     * Folds LoRA into the weights (W += B·A·alpha/r, AdaLoRA W += B·(A∘E)·alpha/(init_r + 1e-5), transposed for Conv1D); the branches then add nothing, so
     * outputs stay the same and the base keys alone describe the model. BitFit needs nothing; bottleneck adapters
     * are nonlinear and cannot be merged.
     */
    public void merge() {
        if (spec.method == PeftSpec.Method.ADAPTER) {
            throw new IllegalArgumentException("bottleneck adapters are nonlinear and cannot be merged into the weights; export without --merge");
        }
        for (LoraLayer l : loras) l.merge();
        for (AdaLoraLayer l : adaLoras) l.merge();
    }
}
