package dev.kiln.config;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.TypeAdapter;
import com.google.gson.annotations.SerializedName;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;
import dev.kiln.config.Rules.Matches;
import dev.kiln.config.Rules.NameOrPath;
import dev.kiln.config.Rules.OutputPath;
import dev.kiln.config.Rules.Range;
import dev.kiln.config.Rules.Registered;
import dev.kiln.config.Rules.Required;
import dev.kiln.config.Rules.Size;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One run, as described by its JSON config. Sections are public fields with their defaults;
 * JSON keys are the snake_case field names. Load with {@link #load}, which validates everything
 * before any work starts; the reference for every key is docs/config.md.
 */
public final class RunConfig implements Validated {
    public Model model = new Model();
    public Task task = new Task();
    public Data data = new Data();
    public Training training = new Training();
    public Peft peft = new Peft();
    public Optimizer optimizer = new Optimizer();
    public Schedule schedule = new Schedule();
    public Precision precision = new Precision();
    public Logging logging = new Logging();
    public Checkpointing checkpointing = new Checkpointing();
    public Output output = new Output();
    public long seed = 42;

    private transient String source = "config.json";
    private transient ConfigRegistry.TaskSpec spec;
    private transient Object taskOptions;
    private transient Object dataOptions;

    // ---- sections ----

    public static final class Model implements Validated {
        @Required(value = "a model zoo name or a HuggingFace model folder", unless = "config")
        @NameOrPath
        public String name;
        /** A new, randomly initialised model instead of {@link #name}: HF config.json fields (pretraining from scratch). */
        public JsonObject config;
        /** Tokenizer when it does not come from {@link #name}: a zoo name or folder, or a name the task knows ("gpt2", "char"). */
        @NameOrPath
        public String tokenizer;
        @Matches(regex = "auto|cpu|gpu(:[0-9]+)?", allowed = {"auto", "cpu", "gpu", "gpu:N"}, hint = "\"gpu\" is the first CUDA GPU, \"gpu:N\" the one with index N")
        public String device = "auto";
        /**
         * Data-parallel training: one model replica per entry, each batch split across them (see train/DataParallel).
         * Null: one replica on {@link #device}. A device may repeat (several replicas on one device).
         */
        @Matches(regex = "cpu|gpu(:[0-9]+)?", allowed = {"cpu", "gpu", "gpu:N"}, hint = "one entry per replica: \"gpu:0\", \"gpu:1\", ...")
        public List<String> devices;
        /** Overrides the checkpoint's dropout probabilities when set. */
        @Range(min = 0, max = 1, maxExclusive = true)
        public Double dropout;
        /** Options of a classic model (model.name "mlp", "textcnn", "bilstm"); null: its defaults. */
        public dev.kiln.models.classic.ClassicOptions classic;

        /** The devices training runs on, replica 0 first: {@link #devices}, or the one {@link #device}. */
        public List<String> trainingDevices() {
            return devices != null ? devices : List.of(device);
        }

        @Override
        public void validate(Checks c) {
            if (devices != null && devices.isEmpty()) {
                c.error(c.at("devices") + " is empty; list at least one device, e.g. [\"gpu:0\", \"gpu:1\"], or remove it to use "
                        + c.at("device"));
            }
            if (devices != null && !device.equals("auto")) {
                c.error(c.at("device") + " and " + c.at("devices") + " are both set; keep " + c.at("devices")
                        + " (training on several devices) or " + c.at("device") + " (one)");
            }
            if (name != null && config != null) {
                c.error(c.at("name") + " and " + c.at("config") + " are both set; use " + c.at("name")
                        + " to start from a checkpoint or " + c.at("config") + " for a new model");
            }
            dev.kiln.models.classic.ClassicModels.check(name, classic, tokenizer, c);
        }

        /** A classic model (built from the data, not loaded from a checkpoint) is named. */
        public boolean isClassic() {
            return dev.kiln.models.classic.ClassicModels.isClassic(name);
        }
    }

    /** The common task keys; the registered task's options class adds the rest. */
    public static final class Task {
        public String type;
    }

    public static final class Data implements Validated {
        /** Formats every task accepts; tasks register more (ConfigRegistry.TaskSpec.formats). */
        public static final List<String> FORMATS = List.of("auto", "jsonl", "json", "csv", "tsv", "txt");

        @Required("the training data file")
        public Path train;
        public Path dev;
        public Path test;
        public String format = "auto";
        public String encoding = "utf-8";
        public String textField = "text";
        public String textPairField;
        public String labelField = "label";
        @Range(min = 1)
        public int maxLength = 128;
        @Range(min = 0, max = 1, minExclusive = true, maxExclusive = true)
        public Double devFraction;

        /** The format of {@code file}: the configured one, or by extension under "auto" (null if unknown). */
        public String formatOf(Path file) {
            if (!format.equals("auto")) return format;
            String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (n.endsWith(".jsonl") || n.endsWith(".ndjson")) return "jsonl";
            for (String ext : List.of("json", "csv", "tsv", "txt")) if (n.endsWith("." + ext)) return ext;
            return null;
        }

        /** The configured encoding as a Charset (validated at load). */
        public Charset charset() {
            return Charset.forName(encoding);
        }

        @Override
        public void validate(Checks c) {
            if (dev != null && devFraction != null) {
                c.error(c.at("dev") + " and " + c.at("dev_fraction") + " are both set; use one (dev_fraction splits the dev set off the training file)");
            }
            boolean known;
            try {
                known = Charset.isSupported(encoding);
            } catch (IllegalArgumentException e) {
                known = false;
            }
            if (!known) c.error("encoding", "must be a charset name such as \"utf-8\" or \"iso-8859-1\", got \"" + encoding + "\"");
        }
    }

    public static final class Training implements Validated {
        @Range(min = 1)
        public int epochs = 3;
        /** -1: the epochs decide; otherwise the run stops after this many optimizer steps. */
        @Range(min = -1)
        public int maxSteps = -1;
        @Range(min = 1)
        public int batchSize = 32;
        @Range(min = 1)
        public int gradientAccumulationSteps = 1;
        /** HF's group_by_length: batches of examples of similar length, less padding (dev.kiln.train.BatchPlan). */
        public boolean groupByLength = false;
        /** null: fixed batches of batch_size; else fairseq's --max-tokens: padded tokens per micro-batch. */
        @Range(min = 1)
        public Integer maxTokensPerBatch;
        /** libtorch intra-op threads; null: libtorch's default, one per core. Not part of the resume check. */
        @Range(min = 1)
        public Integer threads;
        @Range(min = 0)
        public double maxGradNorm = 1.0;
        @Range(min = 0)
        public int evalEverySteps = 0;
        public boolean evalEachEpoch = true;
        public boolean evalOnStart = false;
        @Range(min = 1)
        public int logEverySteps = 10;
        @Matches(regex = "none|embeddings|bottom:[1-9][0-9]*|all-but-head", allowed = {"none", "embeddings", "bottom:N", "all-but-head"},
                hint = "bottom:N freezes the embeddings and the lowest N layers, N at least 1")
        public String freeze = "none";
        /** null: no early stopping. */
        public EarlyStopping earlyStopping;
        @Range(min = 0, max = 1, maxExclusive = true)
        public double labelSmoothing = 0;

        /** N for {@code freeze: "bottom:N"}, else 0. */
        public int freezeBottomLayers() {
            return freeze.startsWith("bottom:") ? Integer.parseInt(freeze.substring(7)) : 0;
        }

        @Override
        public void validate(Checks c) {
            if (maxSteps == 0) c.error("max_steps", "must be -1 (the epochs decide) or at least 1, got 0");
            if (maxTokensPerBatch != null && groupByLength) {
                c.error(c.at("max_tokens_per_batch") + " and " + c.at("group_by_length") + " are both set; use one "
                        + "(a token budget already batches examples of similar length)");
            }
            int maxLength = c.config().data == null ? 0 : c.config().data.maxLength;
            if (maxTokensPerBatch != null && maxTokensPerBatch < maxLength) {
                c.error(c.at("max_tokens_per_batch") + " is " + maxTokensPerBatch + ", below \"data.max_length\" " + maxLength
                        + ": an example that long would not fit; raise the budget or lower data.max_length");
            }
            if (earlyStopping != null && evalEverySteps == 0 && !evalEachEpoch) {
                c.error(c.at("early_stopping") + " needs evaluations, but " + c.at("eval_every_steps") + " is 0 and "
                        + c.at("eval_each_epoch") + " is false");
            }
        }
    }

    public static final class EarlyStopping {
        @Required("the dev metric to watch, e.g. \"accuracy\" or \"loss\"")
        public String metric;
        /** null: "min" for loss-like metric names, else "max" (resolved at load). */
        public Mode mode;
        /** Evaluations without improvement before stopping. */
        @Range(min = 1)
        public int patience = 3;
        @Range(min = 0)
        public double minDelta = 0;
    }

    /** Parameter-efficient fine-tuning (dev.kiln.peft; docs/peft.md). Only the keys of the chosen method are used. */
    public static final class Peft implements Validated {
        public PeftMethod method = PeftMethod.NONE;
        public Lora lora = new Lora();
        public AdaLora adalora = new AdaLora();
        public Adapter adapter = new Adapter();

        @Override
        public void validate(Checks c) {
            if (method != PeftMethod.NONE && !c.config().training.freeze.equals("none")) {
                c.error(c.at("method") + " decides what trains; \"training.freeze\" must stay \"none\" with it, got \""
                        + c.config().training.freeze + "\"");
            }
            if (method != PeftMethod.NONE && c.config().model.name == null) {
                c.error(c.at("method") + " adapts a pretrained model: it needs \"model.name\", not \"model.config\"");
            }
        }
    }

    /** HF PEFT's LoraConfig: r, lora_alpha, lora_dropout, target_modules, bias (defaults as PEFT's). */
    public static final class Lora implements Validated {
        @Range(min = 1)
        public int r = 8;
        @Range(min = 0, minExclusive = true)
        public double alpha = 8;
        @Range(min = 0, max = 1, maxExclusive = true)
        public double dropout = 0.0;
        /** Globs over projection paths; null: PEFT's default for the architecture (BERT query, value; GPT-2 c_attn). */
        public List<String> targetModules;
        public LoraBias bias = LoraBias.NONE;

        @Override
        public void validate(Checks c) {
            if (targetModules == null) return;
            if (targetModules.isEmpty()) c.error("target_modules", "is empty; leave it out (null) for the architecture's default");
            for (String t : targetModules) {
                if (t == null || t.isBlank()) c.error("target_modules", "has an empty pattern");
            }
        }
    }

    /**
     * HF PEFT's AdaLoraConfig (Zhang et al. 2023): init_r, target_r, tinit, tfinal, deltaT (here delta_t), beta1,
     * beta2, orth_reg_weight, lora_alpha, lora_dropout, target_modules (defaults as PEFT's). total_step is the run's.
     */
    public static final class AdaLora implements Validated {
        @Range(min = 1)
        public int initR = 12;
        @Range(min = 1)
        public int targetR = 8;
        @Range(min = 0)
        public int tinit = 0;
        @Range(min = 0)
        public int tfinal = 0;
        @Range(min = 1)
        public int deltaT = 1;
        @Range(min = 0, max = 1, minExclusive = true, maxExclusive = true)
        public double beta1 = 0.85;
        @Range(min = 0, max = 1, minExclusive = true, maxExclusive = true)
        public double beta2 = 0.85;
        @Range(min = 0)
        public double orthRegWeight = 0.5;
        @Range(min = 0, minExclusive = true)
        public double alpha = 8;
        @Range(min = 0, max = 1, maxExclusive = true)
        public double dropout = 0.0;
        /** Globs over projection paths; null: PEFT's default for the architecture (BERT query, value; GPT-2 c_attn). */
        public List<String> targetModules;

        @Override
        public void validate(Checks c) {
            if (targetR > initR) c.error("target_r", "(" + targetR + ") exceeds init_r (" + initR + "): AdaLoRA only prunes");
            if (targetModules == null) return;
            if (targetModules.isEmpty()) c.error("target_modules", "is empty; leave it out (null) for the architecture's default");
            for (String t : targetModules) {
                if (t == null || t.isBlank()) c.error("target_modules", "has an empty pattern");
            }
        }
    }

    /** Bottleneck adapters (Houlsby et al. 2019; Pfeiffer et al. 2020). */
    public static final class Adapter {
        public AdapterType type = AdapterType.HOULSBY;
        /** Hidden size / bottleneck size. */
        @Range(min = 1)
        public int reductionFactor = 16;
        public NonLinearity nonLinearity = NonLinearity.RELU;
    }

    public enum PeftMethod {
        @SerializedName("none") NONE,
        @SerializedName("lora") LORA,
        @SerializedName("adalora") ADALORA,
        @SerializedName("bitfit") BITFIT,
        @SerializedName("adapter") ADAPTER
    }

    public enum LoraBias {
        @SerializedName("none") NONE,
        @SerializedName("all") ALL,
        @SerializedName("lora_only") LORA_ONLY
    }

    public enum AdapterType {
        @SerializedName("houlsby") HOULSBY,
        @SerializedName("pfeiffer") PFEIFFER
    }

    public enum NonLinearity {
        @SerializedName("relu") RELU,
        @SerializedName("gelu") GELU,
        @SerializedName("gelu_new") GELU_NEW,
        @SerializedName("swish") SWISH,
        @SerializedName("tanh") TANH
    }

    public static final class Optimizer implements Validated {
        /** An optimizer registered in {@code dev.kiln.train.Optimizers}. */
        @Registered("optimizer")
        public String type = "adamw";
        @Range(min = 0, minExclusive = true)
        public double lr = 5e-5;
        @Range(min = 0)
        public double weightDecay = 0.01;
        @Size(2)
        @Range(min = 0, max = 1, maxExclusive = true)
        public double[] betas = {0.9, 0.999};
        @Range(min = 0, minExclusive = true)
        public double eps = 1e-8;
        @Range(min = 0, max = 1, maxExclusive = true)
        public double momentum = 0.9;
        public boolean nesterov = false;

        @Override
        public void validate(Checks c) {
            if (type.equals("sgd") && nesterov && momentum == 0) {
                c.error("nesterov", "needs " + c.at("momentum") + " greater than 0");
            }
        }
    }

    public static final class Schedule implements Validated {
        public ScheduleType type = ScheduleType.LINEAR;
        @Range(min = 0)
        public int warmupSteps = 0;
        @Range(min = 0, max = 1)
        public double warmupRatio = 0.0;

        @Override
        public void validate(Checks c) {
            if (warmupSteps > 0 && warmupRatio > 0) {
                c.error(c.at("warmup_steps") + " and " + c.at("warmup_ratio") + " are both set; use one");
            }
        }
    }

    public static final class Precision {
        public PrecisionMode mode = PrecisionMode.FP32;
        @Range(min = 1)
        public double initialLossScale = 65536;
        /** Clean steps before the loss scale doubles. */
        @Range(min = 1)
        public int growthInterval = 2000;
    }

    public static final class Logging {
        public boolean tensorboard = true;
        public boolean plot = true;
        public dev.kiln.log.Progress.Mode progress = dev.kiln.log.Progress.Mode.AUTO;
    }

    public static final class Checkpointing {
        /** 0: save at each evaluation and epoch end. */
        @Range(min = 0)
        public int everySteps = 0;
        @Range(min = 0)
        public int keepLast = 2;
        public boolean keepBest = true;
        /** null: early_stopping.metric, else the task's main metric (resolved at load). */
        public String metric;
        /** null: early_stopping.mode or the task's, else guessed from the metric name (resolved at load). */
        public Mode mode;
    }

    public static final class Output {
        /** null: runs/&lt;config file name without .json&gt; under the working directory (resolved at load). */
        @OutputPath
        public Path dir;
    }

    public enum ScheduleType {
        @SerializedName("constant") CONSTANT,
        @SerializedName("linear") LINEAR,
        @SerializedName("cosine") COSINE
    }

    public enum PrecisionMode {
        @SerializedName("fp32") FP32,
        @SerializedName("fp16-mixed") FP16_MIXED
    }

    /** Whether a larger or a smaller metric value is better. */
    public enum Mode {
        @SerializedName("max") MAX,
        @SerializedName("min") MIN;

        /** MIN for names that read as costs (loss, perplexity, ppl, error), MAX otherwise. */
        public static Mode infer(String metric) {
            String m = metric.toLowerCase(Locale.ROOT);
            return m.contains("loss") || m.contains("perplexity") || m.contains("ppl") || m.contains("error") ? MIN : MAX;
        }

        /** Whether {@code value} beats {@code best} by more than {@code minDelta}. */
        public boolean improves(double value, double best, double minDelta) {
            return this == MAX ? value > best + minDelta : value < best - minDelta;
        }
    }

    // ---- loading ----

    private static final Gson GSON = SettingsJson.builder()
            .registerTypeHierarchyAdapter(Path.class, new PathAdapter().nullSafe())
            .serializeNulls()
            .create();

    /** Every config key path (the registered tasks' task and data keys included), for command-line hints. */
    public static List<String> knownPaths() {
        java.util.LinkedHashSet<String> paths = new java.util.LinkedHashSet<>(Schema.paths(RunConfig.class, ""));
        for (String type : ConfigRegistry.taskTypes()) {
            ConfigRegistry.TaskSpec spec = ConfigRegistry.task(type);
            if (spec.taskOptionsClass() != null) paths.addAll(Schema.paths(spec.taskOptionsClass(), "task"));
            if (spec.dataOptionsClass() != null) paths.addAll(Schema.paths(spec.dataOptionsClass(), "data"));
        }
        return new ArrayList<>(paths);
    }

    public static RunConfig load(Path configJson) {
        return load(configJson, List.of());
    }

    /**
     * Reads, overrides and validates a config. {@code sets} are {@code a.b.c=value} edits applied
     * before validation. Relative input paths resolve against the config file's folder; the
     * output folder against the working directory.
     *
     * @throws ConfigException listing every problem, one line each
     */
    public static RunConfig load(Path configJson, List<String> sets) {
        Path file = configJson.toAbsolutePath().normalize();
        String name = file.getFileName().toString();
        if (!Files.isRegularFile(file)) throw new ConfigException(name + ": file not found: " + file);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(name + ": cannot read " + file + ": " + e.getMessage());
        }
        return parse(text, name, file.getParent(), sets);
    }

    /**
     * Like {@link #load} for JSON text that is not in a file (notebooks, tests): {@code sourceName}
     * prefixes messages and names the default output folder; {@code baseDir} anchors relative paths.
     */
    public static RunConfig parse(String json, String sourceName, Path baseDir, List<String> sets) {
        Path workDir = Paths.get("").toAbsolutePath();
        Validator v = new Validator(sourceName, baseDir.toAbsolutePath().normalize(), workDir);
        JsonElement parsed;
        try {
            parsed = StrictJson.parse(json);
        } catch (StrictJson.SyntaxError e) {
            throw new ConfigException(sourceName + ": invalid JSON: " + e.getMessage());
        }
        if (!parsed.isJsonObject()) throw new ConfigException(sourceName + ": the top level must be a JSON object {...}");
        JsonObject tree = parsed.getAsJsonObject();

        // the task type decides which task and data keys exist, so find it first (--set may change it)
        JsonObject probe = tree.deepCopy();
        for (String s : sets) Validator.applySetBlind(probe, s);
        String[] taskError = new String[1];
        ConfigRegistry.TaskSpec spec = lookUpTask(probe, taskError);
        if (spec == null) {
            v.lenient("task");
            v.lenient("data");
        } else {
            v.extend("task", spec.taskOptionsClass());
            v.extend("data", spec.dataOptionsClass());
        }
        List<String> paths = new ArrayList<>(Schema.paths(RunConfig.class, ""));
        if (spec != null && spec.taskOptionsClass() != null) paths.addAll(Schema.paths(spec.taskOptionsClass(), "task"));
        if (spec != null && spec.dataOptionsClass() != null) paths.addAll(Schema.paths(spec.dataOptionsClass(), "data"));
        v.knownPaths(paths);

        for (String s : sets) v.applySet(tree, s);
        if (taskError[0] != null) v.fail("task.type", taskError[0]); // after the sets, so it can name one
        JsonObject normal = v.walkRoot(tree);
        if (!v.errors.isEmpty()) throw new ConfigException(v.errors);

        RunConfig c = GSON.fromJson(normal, RunConfig.class);
        c.source = sourceName;
        c.spec = spec;
        JsonObject task = normal.has("task") ? normal.getAsJsonObject("task") : new JsonObject();
        JsonObject data = normal.has("data") ? normal.getAsJsonObject("data") : new JsonObject();
        if (spec.taskOptionsClass() != null) c.taskOptions = GSON.fromJson(task, spec.taskOptionsClass());
        if (spec.dataOptionsClass() != null) c.dataOptions = GSON.fromJson(data, spec.dataOptionsClass());
        c.resolveDefaults(sourceName, workDir);

        runChecks(c, "", c, v);
        runChecks(c.taskOptions, "task", c, v);
        runChecks(c.dataOptions, "data", c, v);
        if (!v.errors.isEmpty()) throw new ConfigException(v.errors);
        return c;
    }

    /** The registered task named by task.type, or null with the reason in {@code error[0]} (none if the walk will report it). */
    private static ConfigRegistry.TaskSpec lookUpTask(JsonObject probe, String[] error) {
        JsonElement task = probe.get("task");
        JsonElement type = task != null && task.isJsonObject() ? task.getAsJsonObject().get("type") : null;
        List<String> types = ConfigRegistry.taskTypes();
        String registered = types.isEmpty() ? "no task types are registered"
                : "registered task types: " + Suggest.quotedList(types, ", ");
        if (type == null || type.isJsonNull()) {
            if (task == null || task.isJsonObject() || task.isJsonNull()) error[0] = "\"task.type\" is required (" + registered + ")";
            return null;
        }
        if (!type.isJsonPrimitive() || !type.getAsJsonPrimitive().isString()) return null; // the walk reports the type
        ConfigRegistry.TaskSpec spec = ConfigRegistry.task(type.getAsString());
        if (spec == null) {
            error[0] = "\"task.type\": unknown task type " + type
                    + Suggest.didYouMean(Suggest.similar(type.getAsString(), types)) + "; " + registered;
        }
        return spec;
    }

    /** Calls {@link Validated#validate} on every section, innermost first, so whole-config checks come last. */
    private static void runChecks(Object section, String path, RunConfig root, Validator v) {
        if (section == null) return;
        for (Schema.Prop p : Schema.list(section.getClass())) {
            if (p.kind != Schema.Kind.SECTION) continue;
            try {
                runChecks(p.field.get(section), Validator.join(path, p.key), root, v);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        if (section instanceof Validated s) s.validate(new Checks(path, root, v::fail));
    }

    private void resolveDefaults(String sourceName, Path workDir) {
        if (output.dir == null) {
            String stem = sourceName.endsWith(".json") ? sourceName.substring(0, sourceName.length() - 5) : sourceName;
            output.dir = workDir.resolve("runs").resolve(stem).normalize();
        }
        EarlyStopping es = training.earlyStopping;
        if (es != null && es.mode == null) es.mode = spec.main().direction(es.metric);
        if (checkpointing.metric == null) {
            checkpointing.metric = es != null ? es.metric : spec.mainMetric();
        }
        if (checkpointing.mode == null) {
            String m = checkpointing.metric;
            checkpointing.mode = es != null && m.equals(es.metric) ? es.mode : spec.main().direction(m);
        }
    }

    /**
     * The one fp16-on-CPU message: fp16-mixed with {@code device} as configured, which ran on {@code resolved}
     * (null when the configured name says it all). Checked at load for "cpu" and again when "auto" resolves.
     */
    public static String fp16NeedsGpu(String device, String resolved) {
        return "\"precision.mode\": fp16-mixed needs a GPU, but \"model.device\" is \"" + device + "\""
                + (resolved == null || resolved.equals(device) ? "" : ", which is " + resolved + " here")
                + " (use \"fp32\" on CPU)";
    }

    /** Cross-section checks. */
    @Override
    public void validate(Checks c) {
        if (precision.mode == PrecisionMode.FP16_MIXED && model.device.equals("cpu")) {
            c.error(fp16NeedsGpu(model.device, null));
        }
        if (precision.mode == PrecisionMode.FP16_MIXED && model.devices != null && model.devices.contains("cpu")) {
            c.error("\"precision.mode\": fp16-mixed needs a GPU, but \"model.devices\" lists \"cpu\" (use \"fp32\" on CPU)");
        }
        if (training.earlyStopping != null && data.dev == null && data.devFraction == null) {
            c.error("\"training.early_stopping\" needs dev data: set \"data.dev\" or \"data.dev_fraction\"");
        }
        if (!spec.newModels()) {
            for (String k : new String[] {"config", "tokenizer"}) {
                boolean set = k.equals("config") ? model.config != null : model.tokenizer != null && !model.isClassic();
                if (set) {
                    c.error("\"model." + k + "\" is for tasks that build a new model (pretraining); task \""
                            + spec.type() + "\" fine-tunes \"model.name\" with its own tokenizer");
                }
            }
        }
        List<String> formats = spec.formats();
        if (!formats.contains(data.format)) {
            c.error("\"data.format\" must be one of " + Suggest.quotedList(formats, " or ") + ", got \"" + data.format + "\""
                    + Suggest.didYouMean(Suggest.similar(data.format, formats)));
        }
    }

    // ---- use ----

    /** The task's own {@code task} keys, as the class it registered. */
    public <T> T taskOptions(Class<T> type) {
        return options(taskOptions, spec.taskOptionsClass(), type, "task");
    }

    /** The task's own {@code data} keys, as the class it registered. */
    public <T> T dataOptions(Class<T> type) {
        return options(dataOptions, spec.dataOptionsClass(), type, "data");
    }

    private <T> T options(Object value, Class<?> registered, Class<T> asked, String section) {
        if (registered == null) {
            throw new IllegalStateException("task \"" + task.type + "\" registered no " + section + " options class");
        }
        if (!asked.isAssignableFrom(registered)) {
            throw new IllegalStateException("task \"" + task.type + "\" registered " + registered.getName()
                    + " for its " + section + " options, not " + asked.getName());
        }
        return asked.cast(value);
    }

    /** The registration of this config's task type. */
    public ConfigRegistry.TaskSpec taskSpec() {
        return spec;
    }

    /** The config file name, as it prefixes messages. */
    public String source() {
        return source;
    }

    /**
     * An error found after loading (a data file without the label field, max_length beyond the
     * model's positions), in the same style as load's: {@code config.json: "path" message}.
     */
    public ConfigException error(String path, String message) {
        return new ConfigException(source + ": \"" + path + "\" " + message);
    }

    /** The fully resolved config: every key with its value, paths absolute, task keys included. */
    public JsonObject toJsonTree() {
        JsonObject t = GSON.toJsonTree(this).getAsJsonObject();
        if (taskOptions != null) merge(t.getAsJsonObject("task"), GSON.toJsonTree(taskOptions).getAsJsonObject());
        if (dataOptions != null) merge(t.getAsJsonObject("data"), GSON.toJsonTree(dataOptions).getAsJsonObject());
        return t;
    }

    /** {@link #toJsonTree} as pretty-printed JSON; loading it again gives an equal config. */
    public String toJson() {
        return AtomicFiles.json(toJsonTree());
    }

    /** Writes {@link #toJson} atomically, e.g. to the run directory's config.json. */
    public void save(Path file) throws IOException {
        AtomicFiles.writeJson(file, toJsonTree());
    }

    private static void merge(JsonObject into, JsonObject from) {
        for (Map.Entry<String, JsonElement> e : from.entrySet()) into.add(e.getKey(), e.getValue());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RunConfig r && toJsonTree().equals(r.toJsonTree());
    }

    @Override
    public int hashCode() {
        return toJsonTree().hashCode();
    }

    @Override
    public String toString() {
        return toJson();
    }

    private static final class PathAdapter extends TypeAdapter<Path> {
        @Override
        public void write(JsonWriter out, Path p) throws IOException {
            out.value(p.toString());
        }

        @Override
        public Path read(JsonReader in) throws IOException {
            return Paths.get(in.nextString());
        }
    }
}
