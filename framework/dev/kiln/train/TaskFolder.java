package dev.kiln.train;

import dev.kiln.models.Architecture;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.io.HfFolder;
import dev.kiln.nn.HostTensor;
import dev.kiln.models.Backbone;
import dev.kiln.text.Tokenizer;
import dev.kiln.util.AtomicFiles;
import dev.kiln.util.Devices;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * A fine-tuned model folder: a HF model folder plus {@code kiln_task.json} (task type and what the
 * predictor needs: labels, pooling, max length ...). Run directories resolve to their best/ or final/.
 */
public final class TaskFolder {
    public static final String META_FILE = "kiln_task.json";
    /**
     * Head parameters of a task whose computation is no HF class (mean pooling, sentence scoring): kept out of
     * model.safetensors, so the folder is an honest base model (BertModel / GPT2Model) for HF.
     */
    public static final String HEAD_FILE = "kiln_head.safetensors";

    private TaskFolder() {}

    public static void save(Path dir, String taskType, JsonObject hfConfig, LinkedHashMap<String, HostTensor> tensors,
                            Path tokenizerFrom, JsonObject meta) throws IOException {
        JsonObject m = meta.deepCopy();
        m.addProperty("task", taskType);
        m.addProperty("kiln_version", dev.kiln.util.Versions.kiln());
        HfFolder.writeFolder(dir, hfConfig, tensors, tokenizerFrom);
        AtomicFiles.writeJson(dir.resolve(META_FILE), m);
    }

    /**
     * Saves a task whose head computes something no HF class does: config.json names the base class
     * ({@code BertModel} / {@code GPT2Model}; none for a classic model; plus {@code extraConfig} fields such as labels), model.safetensors
     * holds the backbone only, and the parameters whose names start with one of {@code headPrefixes} go to
     * {@link #HEAD_FILE} (same names). kiln_task.json records the head file.
     */
    public static void saveWithKilnHead(Path dir, String taskType, Backbone backbone, JsonObject extraConfig,
                                        LinkedHashMap<String, HostTensor> tensors, List<String> headPrefixes,
                                        Path tokenizerFrom, JsonObject meta) throws IOException {
        JsonObject cfg = backbone.configJson();
        if (extraConfig != null) extraConfig.entrySet().forEach(e -> cfg.add(e.getKey(), e.getValue()));
        String baseClass = baseArchitecture(backbone);
        if (baseClass != null) {
            JsonArray arch = new JsonArray();
            arch.add(baseClass);
            cfg.add("architectures", arch);
        }
        LinkedHashMap<String, HostTensor> base = new LinkedHashMap<>();
        LinkedHashMap<String, HostTensor> head = new LinkedHashMap<>();
        tensors.forEach((k, v) -> (headPrefixes.stream().anyMatch(k::startsWith) ? head : base).put(k, v));
        JsonObject m = meta.deepCopy();
        m.addProperty("task", taskType);
        m.addProperty("kiln_version", dev.kiln.util.Versions.kiln());
        m.addProperty("head_file", HEAD_FILE);
        HfFolder.writeFolder(dir, cfg, base, tokenizerFrom, java.util.Map.of(HEAD_FILE, head));
        AtomicFiles.writeJson(dir.resolve(META_FILE), m);
    }

    /** The HF base class of a backbone ({@code BertModel}, {@code GPT2Model}), or null for a non-HF architecture. */
    public static String baseArchitecture(Backbone backbone) {
        return backbone.architecture().hfClass(Architecture.HeadKind.BASE, backbone, null);
    }

    /**
     * True when the backbone is a HF class (BERT, GPT-2), so a folder can name a HF head class; false for the
     * classic models, whose folders name no class and keep their task head in {@link #HEAD_FILE}.
     */
    public static boolean isHfModel(Backbone backbone) {
        return baseArchitecture(backbone) != null;
    }

    /**
     * Every tensor of a Kiln model folder: model.safetensors (or its shards) plus {@link #HEAD_FILE} when
     * there is one (folders written before the head file existed have their head in model.safetensors).
     */
    public static java.util.Map<String, HostTensor> readTensors(Path dir) throws IOException {
        if (dev.kiln.peft.PeftFolder.is(dir)) return dev.kiln.peft.PeftFolder.readTensors(dir); // adapter and heads
        java.util.Map<String, HostTensor> t = new LinkedHashMap<>(dev.kiln.io.SafeTensors.readCheckpoint(dir));
        Path head = dir.resolve(HEAD_FILE);
        if (Files.isRegularFile(head)) t.putAll(dev.kiln.io.SafeTensors.readCheckpoint(head));
        return t;
    }

    /**
     * The model folder for a run or model directory: the folder itself when it has kiln_task.json,
     * else its best/ (best dev metric), else final/.
     */
    public static Path resolve(Path runOrModel) throws IOException {
        if (Files.isRegularFile(runOrModel.resolve(META_FILE))) return runOrModel;
        for (String sub : new String[] {"best", "final"}) {
            Path p = runOrModel.resolve(sub);
            if (Files.isRegularFile(p.resolve(META_FILE))) return p;
        }
        throw new IOException(runOrModel + ": not a Kiln model or run folder (no " + META_FILE
                + " in it, nor in best/ or final/)");
    }

    public static JsonObject meta(Path modelDir) throws IOException {
        return JsonParser.parseString(Files.readString(modelDir.resolve(META_FILE))).getAsJsonObject();
    }

    /**
     * Loads head parameters (those under {@code prefix}) from the folder's checkpoint; every head
     * parameter must be there, or the folder is not the model it claims to be.
     */
    public static void loadHead(dev.kiln.nn.Parameters params, Path dir, String prefix) throws IOException {
        var tensors = readTensors(dir);
        var report = params.load(tensors, k -> k.startsWith(prefix) ? k : null);
        for (String missing : report.missing) {
            if (missing.startsWith(prefix)) {
                throw new IOException(dir + ": head parameter " + missing + " is not in the checkpoint");
            }
        }
    }

    /**
     * The backbone's config.json as a fine-tuned HF folder needs it: {@code architectures} ({@code hfClass},
     * the architecture's HF class for the task's head; none when null), {@code id2label}/{@code label2id} in
     * logit order, and what the architecture's HF task classes need besides
     * ({@link Architecture#addTaskConfig}: GPT-2's pad id, by which HF finds the last real token).
     */
    public static JsonObject labelledConfig(Backbone backbone, Tokenizer tok, String hfClass, List<String> labels) {
        JsonObject cfg = backbone.configJson();
        if (hfClass != null) {
            JsonArray arch = new JsonArray();
            arch.add(hfClass);
            cfg.add("architectures", arch);
        }
        JsonObject id2label = new JsonObject();
        JsonObject label2id = new JsonObject();
        for (int i = 0; i < labels.size(); i++) {
            id2label.addProperty(String.valueOf(i), labels.get(i));
            label2id.addProperty(labels.get(i), i);
        }
        cfg.add("id2label", id2label);
        cfg.add("label2id", label2id);
        backbone.architecture().addTaskConfig(cfg, tok);
        return cfg;
    }

    /**
     * A fine-tuned folder opened for prediction: its metadata, a backbone (dropout off) on {@code device}
     * and its tokenizer. The predictor builds its head on {@link #backbone} and calls {@link #loadHead};
     * closing releases the arrays and the tokenizer.
     */
    public static final class Opened implements AutoCloseable {
        public final Path dir;
        public final JsonObject meta;
        public final NDManager manager;
        public final Backbone backbone;
        public final Tokenizer tokenizer;

        private Opened(Path dir, JsonObject meta, NDManager manager, Backbone backbone,
                       Tokenizer tokenizer) {
            this.dir = dir;
            this.meta = meta;
            this.manager = manager;
            this.backbone = backbone;
            this.tokenizer = tokenizer;
        }

        /** Loads the head parameters (under {@code prefix}) the predictor has registered on the backbone. */
        public void loadHead(String prefix) throws IOException {
            TaskFolder.loadHead(backbone.params(), dir, prefix);
        }

        @Override
        public void close() {
            if (tokenizer != null) tokenizer.close();
            manager.close();
        }
    }

    /** Builds a predictor's backbone from a resolved task folder (dropout off). */
    @FunctionalInterface
    public interface BackboneLoader {
        Backbone load(Path dir, JsonObject meta, NDManager manager) throws IOException;
    }

    /** Resolves a run or model folder, checks it holds {@code taskType}, and loads backbone and tokenizer. */
    public static Opened open(Path runOrModel, String taskType, String device) throws IOException {
        return open(runOrModel, taskType, device, (dir, meta, manager) -> loadBackbone(dir, manager));
    }

    /**
     * As {@link #open(Path, String, String)}, with the backbone built by {@code loader} (a task whose backbone
     * carries other heads than {@link #loadBackbone}'s, such as an LM or MLM head).
     */
    public static Opened open(Path runOrModel, String taskType, String device, BackboneLoader loader) throws IOException {
        Found f = find(runOrModel, taskType);
        Path dir = f.dir();
        NDManager manager = NDManager.newBaseManager(Devices.parse(device));
        try {
            Backbone b = loader.load(dir, f.meta(), manager);
            return new Opened(dir, f.meta(), manager, b, b.architecture().loadTokenizer(dir));
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * The backbone of a model folder, dropout off: the folder's own weights, or for a PEFT folder
     * (adapter_config.json) its base model with the adapter applied. Heads are loaded by the predictor.
     */
    public static Backbone loadBackbone(Path dir, NDManager manager) throws IOException {
        if (dev.kiln.peft.PeftFolder.is(dir)) return dev.kiln.peft.PeftFolder.open(dir, manager).backbone();
        return HfFolder.loadBackbone(dir, manager, 0f, HfFolder.Strictness.TASK_FOLDER);
    }

    /** A resolved model folder of a known task and its kiln_task.json. */
    public record Found(Path dir, JsonObject meta) {}

    /** Resolves a run or model folder ({@link #resolve}) and checks it holds {@code taskType} ({@link #requireTask}). */
    public static Found find(Path runOrModel, String taskType) throws IOException {
        Path dir = resolve(runOrModel);
        return new Found(dir, requireTask(dir, taskType));
    }

    /** Checks the folder holds a model of {@code taskType}; the error names both. */
    public static JsonObject requireTask(Path modelDir, String taskType) throws IOException {
        JsonObject m = meta(modelDir);
        String t = m.has("task") ? m.get("task").getAsString() : "?";
        if (!t.equals(taskType)) {
            throw new IOException(modelDir + ": holds a '" + t + "' model, not '" + taskType + "'");
        }
        return m;
    }
}
