package dev.kiln.peft;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.io.SafeTensors;
import dev.kiln.models.Backbone;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TrainableTask;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A model folder of a PEFT run, in HF PEFT's layout: {@code adapter_config.json}, {@code adapter_model.safetensors}
 * (the trainable parameters under {@code base_model.model.<path>}), tokenizer files, and Kiln's kiln_task.json,
 * whose {@code peft} entry keeps the task's HF config.json (for a merged export) and the base model's type.
 * The base model is {@code base_model_name_or_path} of adapter_config.json: a folder or a zoo name.
 */
public final class PeftFolder {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private PeftFolder() {}

    public static boolean is(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG_FILE));
    }

    /**
     * Writes {@code task}'s folder as a PEFT folder: the task saves itself beside {@code dir} first (its
     * kiln_task.json, config.json and tokenizer files are what a predictor and a merged export need), then the
     * adapter folder is built from that and renamed into place.
     */
    static void save(Path dir, TrainableTask task, PeftModel model, String baseModel, String peftTaskType) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        HfFolder.requireReplaceable(abs);
        Files.createDirectories(abs.getParent());
        Path tmp = AtomicFiles.newDirectory(abs.getParent(), "." + abs.getFileName() + ".peft-");
        try {
            Path full = tmp.resolve("full");
            task.save(full);
            Path out = tmp.resolve("adapter");
            Files.createDirectories(out);
            JsonObject meta = TaskFolder.meta(full);
            JsonObject peft = new JsonObject();
            peft.addProperty("base_model_type", model.backbone().modelType());
            peft.add("hf_config", HfFolder.readConfig(full));
            meta.add("peft", peft);
            AtomicFiles.writeJson(out.resolve(CONFIG_FILE), model.adapterConfig(baseModel, peftTaskType));
            SafeTensors.write(out.resolve(WEIGHTS_FILE), model.adapterState(), Map.of("format", "pt"));
            for (String f : HfFolder.TOKENIZER_FILES) {
                if (Files.isRegularFile(full.resolve(f))) Files.copy(full.resolve(f), out.resolve(f));
            }
            AtomicFiles.writeJson(out.resolve(TaskFolder.META_FILE), meta);
            AtomicFiles.publish(out, abs);
        } catch (IOException e) {
            throw dev.kiln.util.IoErrors.named(abs, e);
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }


    public static JsonObject adapterConfig(Path dir) throws IOException {
        Path f = dir.resolve(CONFIG_FILE);
        try {
            return JsonParser.parseString(Files.readString(f)).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IOException(f + ": not a JSON object (" + e.getMessage() + ")");
        }
    }

    /**
     * The saved parameters under Kiln's keys (HF PEFT's {@code base_model.model.} prefix removed). AdaLoRA tensors
     * saved with a rank_pattern (only the kept triplets) come back at init_r, zeros in the pruned places (λ = 0
     * there, so the model computes the same).
     */
    public static Map<String, HostTensor> readTensors(Path dir) throws IOException {
        Path f = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(f)) throw new IOException(dir + ": " + CONFIG_FILE + " without " + WEIGHTS_FILE);
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : SafeTensors.read(f).entrySet()) {
            String k = e.getKey();
            if (!k.startsWith(PeftModel.KEY_PREFIX)) {
                throw new IOException(f + ": tensor " + k + " is not under " + PeftModel.KEY_PREFIX + " (not a PEFT adapter file)");
            }
            out.put(k.substring(PeftModel.KEY_PREFIX.length()), e.getValue());
        }
        JsonObject cfg = adapterConfig(dir);
        if (cfg.has("peft_type") && "ADALORA".equals(cfg.get("peft_type").getAsString())) {
            PeftSpec spec = PeftSpec.fromAdapterConfig(cfg, dir.resolve(CONFIG_FILE).toString());
            if (spec.rankPattern != null) {
                for (Map.Entry<String, boolean[]> e : spec.rankPattern.entrySet()) {
                    String prefix = e.getKey().substring(0, e.getKey().length() - ".lora_E".length());
                    String[] keys = {prefix + ".lora_A", prefix + ".lora_E", prefix + ".lora_B"};
                    for (int i = 0; i < 3; i++) {
                        HostTensor t = out.get(keys[i]);
                        if (t == null) throw new IOException(f + " lacks " + PeftModel.KEY_PREFIX + keys[i] + " named by rank_pattern");
                        try {
                            out.put(keys[i], PeftModel.select(t, e.getValue(), i == 2 ? 1 : 0, true));
                        } catch (IllegalArgumentException x) {
                            throw new IOException(f + ": " + PeftModel.KEY_PREFIX + keys[i] + ": " + x.getMessage());
                        }
                    }
                }
            }
        }
        return out;
    }

    /** The base model folder an adapter was trained on. */
    public static Path baseModel(Path dir) throws IOException {
        JsonObject cfg = adapterConfig(dir);
        if (!cfg.has("base_model_name_or_path") || cfg.get("base_model_name_or_path").isJsonNull()) {
            throw new IOException(dir.resolve(CONFIG_FILE) + ": base_model_name_or_path is missing");
        }
        String base = cfg.get("base_model_name_or_path").getAsString();
        Path p = Path.of(base);
        if (Files.isDirectory(p)) return p;
        try {
            return ModelZoo.resolve(base);
        } catch (IOException | RuntimeException e) {
            throw new IOException(dir.resolve(CONFIG_FILE) + ": base model '" + base + "' is neither a folder nor a zoo model ("
                    + e.getMessage() + ")");
        }
    }

    /**
     * Loads the base model (dropout off), applies the adapter's method and loads its body parameters. Heads are
     * the predictor's: it builds them and loads them with {@link TaskFolder#loadHead}, which reads this folder too.
     * A base model of another type, or a saved tensor whose shape the base model does not give, is a one-line error.
     */
    public static PeftModel open(Path dir, NDManager manager) throws IOException {
        return attach(dir, HfFolder.loadBackbone(baseModel(dir), manager, 0f), false);
    }

    /**
     * For a predictor that builds a whole model itself (pretraining heads included): the folder to load it from,
     * i.e. the base model of a PEFT folder, else {@code dir}; then {@link #applyTo}.
     */
    public static Path weightsFolder(Path dir) throws IOException {
        return is(dir) ? baseModel(dir) : dir;
    }

    /**
     * The strictness to load {@link #weightsFolder} with: for a PEFT folder, heads the base lacks are fine (the
     * adapter file holds them); else {@code normal}.
     */
    public static HfFolder.Strictness strictness(Path dir, HfFolder.Strictness normal) {
        return is(dir) ? HfFolder.Strictness.NEW_HEADS : normal;
    }

    /**
     * Applies the adapter of PEFT folder {@code dir} to {@code model}, loaded from its base model, and loads every
     * saved tensor, heads included: a saved head the model lacks is an error. Does nothing for other folders.
     */
    public static void applyTo(Path dir, Backbone model) throws IOException {
        if (is(dir)) attach(dir, model, true);
    }

    /** Applies the adapter to {@code b} and loads its body tensors ({@code withHeads}: all its tensors). */
    private static PeftModel attach(Path dir, Backbone b, boolean withHeads) throws IOException {
        Path base = baseModel(dir);
        PeftSpec spec = PeftSpec.fromAdapterConfig(adapterConfig(dir), dir.resolve(CONFIG_FILE).toString());
        JsonObject meta = Files.isRegularFile(dir.resolve(TaskFolder.META_FILE)) ? TaskFolder.meta(dir) : new JsonObject();
        if (meta.has("peft") && meta.getAsJsonObject("peft").has("base_model_type")) {
            String want = meta.getAsJsonObject("peft").get("base_model_type").getAsString();
            if (dev.kiln.models.Architectures.forType(want).getClass() != b.architecture().getClass()) {
                throw new IllegalArgumentException(dir + ": the adapter was trained on a " + want + " model, but its base "
                        + base + " is " + b.modelType());
            }
        }
        PeftModel m;
        try {
            m = PeftModel.apply(spec, b);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": the adapter does not fit its base model " + base + ": " + e.getMessage(), e);
        }
        Map<String, HostTensor> saved = readTensors(dir);
        Set<String> need = new HashSet<>(m.added);
        need.addAll(m.trainedBiases);
        Set<String> bodyKeys = new HashSet<>(b.body().parameterKeys());
        Parameters p = b.params();
        LinkedHashMap<String, HostTensor> load = new LinkedHashMap<>();
        for (String k : p.all().keySet()) {
            HostTensor t = saved.get(k);
            if (t == null) {
                if (need.contains(k)) throw new IllegalArgumentException(dir + ": " + WEIGHTS_FILE + " lacks " + PeftModel.KEY_PREFIX + k);
                continue;
            }
            if (!withHeads && !bodyKeys.contains(k)) continue;
            long[] want = p.get(k).getShape().getShape();
            if (!Arrays.equals(want, t.shape())) {
                throw new IllegalArgumentException(dir + ": adapter tensor " + PeftModel.KEY_PREFIX + k + " has shape "
                        + Arrays.toString(t.shape()) + " but base model " + base + " needs " + Arrays.toString(want)
                        + ": the adapter was trained on another base model");
            }
            load.put(k, t);
        }
        if (withHeads) {
            for (String k : saved.keySet()) {
                if (!p.has(k)) throw new IllegalArgumentException(dir + ": " + WEIGHTS_FILE + " holds " + PeftModel.KEY_PREFIX + k
                        + ", which the model built for this task does not have");
            }
        }
        p.load(load, k -> k);
        if (spec.rankPattern != null) m.rankPattern = new LinkedHashMap<>(spec.rankPattern);
        return m;
    }

    /** Copies a PEFT folder (re-reading its tensors, so a corrupt file fails here) to {@code dst}. */
    public static Path exportAdapter(Path src, Path dst) throws IOException {
        HfFolder.requireNewTarget(dst);
        return AtomicFiles.buildFolder(dst, tmp -> {
            SafeTensors.write(tmp.resolve(WEIGHTS_FILE), SafeTensors.read(src.resolve(WEIGHTS_FILE)), Map.of("format", "pt"));
            for (String f : concat(CONFIG_FILE, TaskFolder.META_FILE)) {
                if (Files.isRegularFile(src.resolve(f))) Files.copy(src.resolve(f), tmp.resolve(f));
            }
        });
    }

    private static java.util.List<String> concat(String... more) {
        java.util.List<String> all = new java.util.ArrayList<>(HfFolder.TOKENIZER_FILES);
        all.addAll(Arrays.asList(more));
        return all;
    }

    /**
     * An ordinary HF folder with the adapter merged into the weights (LoRA: W += B·A·alpha/r; BitFit: the trained
     * biases), the task's config.json and head as the task itself saves them, and kiln_task.json, so HF and Kiln's
     * predictors load it without PEFT.
     */
    public static Path exportMerged(Path src, Path dst) throws IOException {
        HfFolder.requireNewTarget(dst);
        JsonObject meta = TaskFolder.meta(src);
        if (!meta.has("peft") || !meta.getAsJsonObject("peft").has("hf_config")) {
            throw new IOException(src + ": kiln_task.json has no peft.hf_config (not written by Kiln), so the merged folder's config.json is unknown");
        }
        JsonObject hfConfig = meta.getAsJsonObject("peft").getAsJsonObject("hf_config").deepCopy();
        hfConfig.remove(HfFolder.KILN_VERSION);
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            PeftModel m = open(src, manager);
            m.merge();
            Set<String> bodyKeys = new HashSet<>(m.backbone().body().parameterKeys());
            LinkedHashMap<String, HostTensor> weights = new LinkedHashMap<>();
            for (Map.Entry<String, HostTensor> e : m.backbone().params().stateDict().entrySet()) {
                if (!m.added.contains(e.getKey())) weights.put(e.getKey(), e.getValue());
            }
            LinkedHashMap<String, HostTensor> head = new LinkedHashMap<>();
            for (Map.Entry<String, HostTensor> e : readTensors(src).entrySet()) {
                if (!bodyKeys.contains(e.getKey())) head.put(e.getKey(), e.getValue());
            }
            JsonObject outMeta = meta.deepCopy();
            outMeta.remove("peft");
            outMeta.addProperty("merged_from_adapter", src.toAbsolutePath().toString());
            if (meta.has("head_file")) {
                HfFolder.writeFolder(dst, hfConfig, weights, src, Map.of(TaskFolder.HEAD_FILE, head));
            } else {
                weights.putAll(head);
                HfFolder.writeFolder(dst, hfConfig, weights, src);
            }
            AtomicFiles.writeJson(dst.resolve(TaskFolder.META_FILE), outMeta);
        }
        return dst.toAbsolutePath().normalize();
    }
}
