package dev.kiln.peft;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.kiln.config.RunConfig;
import dev.kiln.models.Architecture;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a PEFT run adds to a backbone, independent of where it came from: the run config's {@code peft} section
 * ({@link #fromConfig}) or a saved {@code adapter_config.json} ({@link #fromAdapterConfig}).
 *
 * <p>Targets come in two forms. From a config they are Kiln globs over projection paths ({@link #globs}); from
 * an adapter_config.json they are HF PEFT's {@code target_modules} ({@link #peftTargets}: a list of names, each
 * matching a module path equal to it or ending in "." + it, or one string matched as a regex against whole
 * paths), so an adapter written by HF PEFT selects the same projections here.
 */
public final class PeftSpec {
    public enum Method { LORA, ADALORA, BITFIT, ADAPTER }

    public Method method;
    // LoRA
    public int r = 8;
    public double alpha = 8;
    public double dropout = 0;
    public String bias = "none";
    // AdaLoRA (HF PEFT's AdaLoraConfig); alpha and dropout above are its lora_alpha / lora_dropout
    public int initR = 12;
    public int targetR = 8;
    public int tinit = 0;
    public int tfinal = 0;
    public int deltaT = 1;
    public double beta1 = 0.85;
    public double beta2 = 0.85;
    public double orthRegWeight = 0.5;
    /** The run's step count (PEFT's total_step); 0 until a trainer sets it. */
    public long totalStep;
    /** A saved rank_pattern (projection's lora_E key → kept triplets), or null. */
    public java.util.LinkedHashMap<String, boolean[]> rankPattern;
    // adapters
    public String adapterType = "houlsby";
    public int reductionFactor = 16;
    public String nonLinearity = "relu";
    /** Kiln globs (from a config); null means the architecture's default. */
    public List<String> globs;
    /** HF PEFT target_modules (from adapter_config.json): a JSON array of names or a regex string. */
    public JsonElement peftTargets;
    /** Seeds the LoRA A / adapter down-projection initialisation. */
    public long seed = 42;

    public double scaling() {
        return alpha / r;
    }

    /** The config's peft section, or null for method none. */
    public static PeftSpec fromConfig(RunConfig c) {
        RunConfig.Peft p = c.peft;
        if (p.method == RunConfig.PeftMethod.NONE) return null;
        PeftSpec s = new PeftSpec();
        s.seed = c.seed;
        switch (p.method) {
            case LORA -> {
                s.method = Method.LORA;
                s.r = p.lora.r;
                s.alpha = p.lora.alpha;
                s.dropout = p.lora.dropout;
                s.bias = p.lora.bias.name().toLowerCase(Locale.ROOT);
                s.globs = p.lora.targetModules == null ? null : List.copyOf(p.lora.targetModules);
            }
            case ADALORA -> {
                s.method = Method.ADALORA;
                RunConfig.AdaLora a = p.adalora;
                s.initR = a.initR;
                s.targetR = a.targetR;
                s.tinit = a.tinit;
                s.tfinal = a.tfinal;
                s.deltaT = a.deltaT;
                s.beta1 = a.beta1;
                s.beta2 = a.beta2;
                s.orthRegWeight = a.orthRegWeight;
                s.alpha = a.alpha;
                s.dropout = a.dropout;
                s.globs = a.targetModules == null ? null : List.copyOf(a.targetModules);
            }
            case BITFIT -> s.method = Method.BITFIT;
            case ADAPTER -> {
                s.method = Method.ADAPTER;
                s.adapterType = p.adapter.type.name().toLowerCase(Locale.ROOT);
                s.reductionFactor = p.adapter.reductionFactor;
                s.nonLinearity = p.adapter.nonLinearity.name().toLowerCase(Locale.ROOT);
            }
            default -> throw new IllegalStateException(p.method.toString());
        }
        return s;
    }

    /** HF PEFT's default LoRA targets for the backbone's architecture ({@link Architecture#loraTargets}). */
    public static List<String> defaultLoraGlobs(Architecture a) {
        List<String> g = a.loraTargets();
        if (g.isEmpty()) {
            throw new IllegalArgumentException("no default LoRA target_modules for " + a.displayName()
                    + "; set \"peft.lora.target_modules\"");
        }
        return g;
    }

    /**
     * Where bottleneck adapters go ({@link Architecture#adapterSites}): on the output projection of the attention
     * block (Houlsby) and of the feed-forward block (both), so the adapter acts on that output before the
     * residual add and LayerNorm.
     */
    public static List<String> adapterGlobs(Architecture a, String type) {
        List<String> g = a.adapterSites(type.equals("houlsby"));
        if (g.isEmpty()) throw new IllegalArgumentException("no adapter positions known for " + a.displayName());
        return g;
    }

    /** HF PEFT's peft_type for this method ({@code BITFIT} and {@code BOTTLENECK} exist in Kiln only). */
    public String peftType() {
        return switch (method) {
            case LORA -> "LORA";
            case ADALORA -> "ADALORA";
            case BITFIT -> "BITFIT";
            case ADAPTER -> "BOTTLENECK";
        };
    }

    /** The method's fields of adapter_config.json (the caller adds the common ones). */
    void writeFields(JsonObject o, JsonElement targetModules, boolean fanInFanOut) {
        o.addProperty("peft_type", peftType());
        switch (method) {
            case LORA -> {
                o.addProperty("r", r);
                o.addProperty("lora_alpha", alpha);
                o.addProperty("lora_dropout", dropout);
                o.add("target_modules", targetModules);
                o.add("exclude_modules", JsonNull.INSTANCE);
                o.addProperty("bias", bias);
                o.addProperty("fan_in_fan_out", fanInFanOut);
                o.addProperty("use_rslora", false);
                o.addProperty("use_dora", false);
                o.addProperty("init_lora_weights", true);
                o.add("layers_to_transform", JsonNull.INSTANCE);
                o.add("layers_pattern", JsonNull.INSTANCE);
                o.add("rank_pattern", new JsonObject());
                o.add("alpha_pattern", new JsonObject());
                o.addProperty("lora_bias", false);
            }
            case ADALORA -> {
                o.addProperty("r", 8); // PEFT's LoraConfig default; AdaLoRA ignores r (and warns when it differs)
                o.addProperty("lora_alpha", alpha);
                o.addProperty("lora_dropout", dropout);
                o.add("target_modules", targetModules);
                o.add("exclude_modules", JsonNull.INSTANCE);
                o.addProperty("bias", "none");
                o.addProperty("fan_in_fan_out", fanInFanOut);
                o.addProperty("use_rslora", false);
                o.addProperty("use_dora", false);
                o.addProperty("init_lora_weights", true);
                o.add("layers_to_transform", JsonNull.INSTANCE);
                o.add("layers_pattern", JsonNull.INSTANCE);
                o.add("alpha_pattern", new JsonObject());
                o.addProperty("lora_bias", false);
                o.addProperty("target_r", targetR);
                o.addProperty("init_r", initR);
                o.addProperty("tinit", tinit);
                o.addProperty("tfinal", tfinal);
                o.addProperty("deltaT", deltaT);
                o.addProperty("beta1", beta1);
                o.addProperty("beta2", beta2);
                o.addProperty("orth_reg_weight", orthRegWeight);
                o.addProperty("total_step", totalStep);
                if (rankPattern == null) {
                    o.add("rank_pattern", JsonNull.INSTANCE);
                } else {
                    JsonObject rp = new JsonObject();
                    rankPattern.forEach((k, keep) -> {
                        JsonArray a = new JsonArray();
                        for (boolean b : keep) a.add(b);
                        rp.add(k, a);
                    });
                    o.add("rank_pattern", rp);
                }
            }
            case BITFIT -> o.addProperty("bias", "all");
            case ADAPTER -> {
                o.addProperty("adapter_type", adapterType);
                o.addProperty("reduction_factor", reductionFactor);
                o.addProperty("non_linearity", nonLinearity);
                o.add("target_modules", targetModules);
            }
        }
    }

    /** Reads an adapter_config.json; {@code where} names the file in errors. */
    public static PeftSpec fromAdapterConfig(JsonObject o, String where) {
        PeftSpec s = new PeftSpec();
        String type = str(o, "peft_type", where);
        switch (type) {
            case "LORA" -> {
                s.method = Method.LORA;
                s.r = o.get("r").getAsInt();
                s.alpha = o.has("lora_alpha") ? o.get("lora_alpha").getAsDouble() : 8;
                s.dropout = o.has("lora_dropout") ? o.get("lora_dropout").getAsDouble() : 0;
                s.bias = o.has("bias") ? o.get("bias").getAsString() : "none";
                for (String unsupported : List.of("use_rslora", "use_dora")) {
                    if (o.has(unsupported) && o.get(unsupported).isJsonPrimitive() && o.get(unsupported).getAsBoolean()) {
                        throw new IllegalArgumentException(where + ": " + unsupported + " is true; Kiln loads plain LoRA only");
                    }
                }
                for (String patterned : List.of("rank_pattern", "alpha_pattern")) {
                    if (o.has(patterned) && o.get(patterned).isJsonObject() && !o.getAsJsonObject(patterned).isEmpty()) {
                        throw new IllegalArgumentException(where + ": " + patterned + " is set; Kiln loads one rank and alpha for all modules");
                    }
                }
            }
            case "ADALORA" -> {
                s.method = Method.ADALORA;
                s.initR = num(o, "init_r", where).intValue();
                s.targetR = o.has("target_r") ? o.get("target_r").getAsInt() : 8;
                s.tinit = o.has("tinit") ? o.get("tinit").getAsInt() : 0;
                s.tfinal = o.has("tfinal") ? o.get("tfinal").getAsInt() : 0;
                s.deltaT = o.has("deltaT") ? o.get("deltaT").getAsInt() : 1;
                s.beta1 = o.has("beta1") ? o.get("beta1").getAsDouble() : 0.85;
                s.beta2 = o.has("beta2") ? o.get("beta2").getAsDouble() : 0.85;
                s.orthRegWeight = o.has("orth_reg_weight") ? o.get("orth_reg_weight").getAsDouble() : 0.5;
                s.totalStep = o.has("total_step") && !o.get("total_step").isJsonNull() ? o.get("total_step").getAsLong() : 0;
                s.alpha = o.has("lora_alpha") ? o.get("lora_alpha").getAsDouble() : 8;
                s.dropout = o.has("lora_dropout") ? o.get("lora_dropout").getAsDouble() : 0;
                if (o.has("rank_pattern") && o.get("rank_pattern").isJsonObject()) {
                    s.rankPattern = new java.util.LinkedHashMap<>();
                    for (var e : o.getAsJsonObject("rank_pattern").entrySet()) {
                        if (!e.getKey().endsWith(".lora_E") || !e.getValue().isJsonArray()) {
                            throw new IllegalArgumentException(where + ": rank_pattern." + e.getKey()
                                    + " is not a <module>.lora_E key with a list of booleans");
                        }
                        JsonArray a = e.getValue().getAsJsonArray();
                        if (a.size() != s.initR) {
                            throw new IllegalArgumentException(where + ": rank_pattern." + e.getKey() + " has " + a.size()
                                    + " entries but init_r is " + s.initR);
                        }
                        boolean[] keep = new boolean[a.size()];
                        for (int i = 0; i < keep.length; i++) keep[i] = a.get(i).getAsBoolean();
                        s.rankPattern.put(e.getKey(), keep);
                    }
                }
            }
            case "BITFIT" -> s.method = Method.BITFIT;
            case "BOTTLENECK" -> {
                s.method = Method.ADAPTER;
                s.adapterType = str(o, "adapter_type", where);
                s.reductionFactor = o.get("reduction_factor").getAsInt();
                s.nonLinearity = str(o, "non_linearity", where);
            }
            default -> throw new IllegalArgumentException(where + ": peft_type " + type + " is not supported (LORA, ADALORA, BITFIT, BOTTLENECK)");
        }
        if (s.method != Method.BITFIT) {
            s.peftTargets = o.get("target_modules");
            if (s.peftTargets == null || s.peftTargets.isJsonNull()) {
                throw new IllegalArgumentException(where + ": target_modules is missing");
            }
        }
        return s;
    }

    private static Number num(JsonObject o, String k, String where) {
        if (!o.has(k) || !o.get(k).isJsonPrimitive()) throw new IllegalArgumentException(where + ": " + k + " is missing");
        return o.get(k).getAsNumber();
    }

    private static String str(JsonObject o, String k, String where) {
        if (!o.has(k) || !o.get(k).isJsonPrimitive()) throw new IllegalArgumentException(where + ": " + k + " is missing");
        return o.get(k).getAsString();
    }

    /** HF PEFT's module matching: a name list (equal, or a suffix after a dot) or a regex over the whole path. */
    static boolean peftMatches(JsonElement targets, String path) {
        if (targets.isJsonPrimitive()) return path.matches(targets.getAsString());
        for (JsonElement e : targets.getAsJsonArray()) {
            String t = e.getAsString();
            if (path.equals(t) || path.endsWith("." + t)) return true;
        }
        return false;
    }

    /**
     * target_modules as HF PEFT will read it: the distinct last segments of {@code wrapped} when those select
     * exactly the wrapped projections among {@code all}, else the full paths.
     */
    static JsonArray peftTargetNames(List<String> wrapped, Iterable<String> all) {
        List<String> names = new ArrayList<>();
        for (String p : wrapped) {
            String last = p.substring(p.lastIndexOf('.') + 1);
            if (!names.contains(last)) names.add(last);
        }
        JsonArray byName = new JsonArray();
        names.forEach(byName::add);
        List<String> selected = new ArrayList<>();
        for (String p : all) if (peftMatches(byName, p)) selected.add(p);
        if (new java.util.HashSet<>(selected).equals(new java.util.HashSet<>(wrapped))) return byName;
        JsonArray full = new JsonArray();
        wrapped.forEach(full::add);
        return full;
    }
}
