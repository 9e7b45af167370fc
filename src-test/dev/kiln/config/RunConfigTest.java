package dev.kiln.config;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.config.RunConfig.Mode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunConfigTest {
    /** A task with its own keys in both sections, as real tasks register them. */
    public static final class DummyTask implements Validated {
        @Rules.Range(min = 2)
        public int numLabels = 2;
        public List<String> labels;

        @Override
        public void validate(Checks c) {
            if (labels != null && labels.size() != numLabels) {
                c.error("labels", "must have num_labels (" + numLabels + ") entries, got " + labels.size());
            }
        }
    }

    public static final class DummyData {
        public String idField = "id";
        public Path vocab;
    }

    @BeforeAll
    static void register() {
        ConfigRegistry.registerTask("dummy", DummyTask.class, DummyData.class).mainMetric("accuracy").formats("label-text");
    }

    @TempDir
    Path dir;

    @BeforeEach
    void dataFiles() throws IOException {
        Files.writeString(dir.resolve("train.jsonl"), "{\"text\":\"a\",\"label\":0}\n");
        Files.writeString(dir.resolve("dev.jsonl"), "{\"text\":\"b\",\"label\":1}\n");
    }

    private static final String MINIMAL = "{\"model\": {\"name\": \"bert-tiny\"}, \"task\": {\"type\": \"dummy\"},"
            + " \"data\": {\"train\": \"train.jsonl\"}";

    /** The minimal config plus extra top-level members, e.g. {@code "training": {...}}; a "model" member replaces its model. */
    private Path config(String extra) throws IOException {
        String base = extra.startsWith("\"model\"") ? MINIMAL.replace("\"model\": {\"name\": \"bert-tiny\"}, ", "") : MINIMAL;
        return write("config.json", base + (extra.isEmpty() ? "" : ", " + extra) + "}");
    }

    private Path write(String name, String json) throws IOException {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, json);
        return f;
    }

    private String error(Path file, String... sets) {
        return assertThrows(ConfigException.class, () -> RunConfig.load(file, List.of(sets))).getMessage();
    }

    private String error(String extra) throws IOException {
        return error(config(extra));
    }

    private String abs(String rel) {
        return dir.resolve(rel).toAbsolutePath().normalize().toString();
    }

    // ---- defaults ----

    @Test
    void defaults() throws IOException {
        RunConfig c = RunConfig.load(config(""));
        assertEquals("bert-tiny", c.model.name);
        assertEquals("auto", c.model.device);
        assertNull(c.model.dropout);
        assertEquals("dummy", c.task.type);
        assertEquals(Paths.get(abs("train.jsonl")), c.data.train);
        assertNull(c.data.dev);
        assertEquals("auto", c.data.format);
        assertEquals("text", c.data.textField);
        assertNull(c.data.textPairField);
        assertEquals("label", c.data.labelField);
        assertEquals(128, c.data.maxLength);
        assertNull(c.data.devFraction);
        assertEquals("jsonl", c.data.formatOf(c.data.train));
        assertEquals(3, c.training.epochs);
        assertEquals(-1, c.training.maxSteps);
        assertEquals(32, c.training.batchSize);
        assertEquals(1, c.training.gradientAccumulationSteps);
        assertEquals(1.0, c.training.maxGradNorm);
        assertEquals(0, c.training.evalEverySteps);
        assertTrue(c.training.evalEachEpoch);
        assertEquals(10, c.training.logEverySteps);
        assertEquals("none", c.training.freeze);
        assertNull(c.training.earlyStopping);
        assertEquals(0.0, c.training.labelSmoothing);
        assertEquals("adamw", c.optimizer.type);
        assertEquals(5e-5, c.optimizer.lr);
        assertEquals(0.01, c.optimizer.weightDecay);
        assertArrayEquals(new double[] {0.9, 0.999}, c.optimizer.betas);
        assertEquals(1e-8, c.optimizer.eps);
        assertEquals(0.9, c.optimizer.momentum);
        assertFalse(c.optimizer.nesterov);
        assertEquals(RunConfig.ScheduleType.LINEAR, c.schedule.type);
        assertEquals(0, c.schedule.warmupSteps);
        assertEquals(0.0, c.schedule.warmupRatio);
        assertEquals(RunConfig.PrecisionMode.FP32, c.precision.mode);
        assertEquals(65536.0, c.precision.initialLossScale);
        assertEquals(2000, c.precision.growthInterval);
        assertTrue(c.logging.tensorboard);
        assertTrue(c.logging.plot);
        assertEquals(dev.kiln.log.Progress.Mode.AUTO, c.logging.progress);
        assertEquals(0, c.checkpointing.everySteps);
        assertEquals(2, c.checkpointing.keepLast);
        assertTrue(c.checkpointing.keepBest);
        assertEquals("accuracy", c.checkpointing.metric); // the task's main metric
        assertEquals(Mode.MAX, c.checkpointing.mode);
        assertEquals(Paths.get("").toAbsolutePath().resolve("runs/config"), c.output.dir);
        assertEquals(42, c.seed);
        assertEquals(2, c.taskOptions(DummyTask.class).numLabels);
        assertEquals("id", c.dataOptions(DummyData.class).idField);
        assertEquals("config.json", c.source());
    }

    @Test
    void earlyStoppingDrivesCheckpointMetricAndModes() throws IOException {
        RunConfig c = RunConfig.load(config("\"training\": {\"early_stopping\": {\"metric\": \"dev_loss\"}}"), List.of("data.dev=dev.jsonl"));
        assertEquals(Mode.MIN, c.training.earlyStopping.mode);
        assertEquals(3, c.training.earlyStopping.patience);
        assertEquals("dev_loss", c.checkpointing.metric);
        assertEquals(Mode.MIN, c.checkpointing.mode);
        assertTrue(c.checkpointing.mode.improves(0.5, 0.6, 0.01));
        assertFalse(Mode.MAX.improves(0.605, 0.6, 0.01));
    }

    @Test
    void nullMeansDefault() throws IOException {
        RunConfig c = RunConfig.load(config("\"training\": {\"batch_size\": null}, \"logging\": null"));
        assertEquals(32, c.training.batchSize);
        assertTrue(c.logging.tensorboard);
    }

    // ---- unknown keys ----

    @Test
    void unknownKeyWithSuggestion() throws IOException {
        assertEquals("config.json: unknown key \"training.batchsize\" (did you mean \"training.batch_size\"?)",
                error("\"training\": {\"batchsize\": 8}"));
        assertEquals("config.json: unknown key \"optimiser\" (did you mean \"optimizer\"?)", error("\"optimiser\": {}"));
        assertEquals("config.json: unknown key \"training.batchSize\" (did you mean \"training.batch_size\"?)",
                error("\"training\": {\"batchSize\": 8}"));
    }

    @Test
    void nestedUnknownKey() throws IOException {
        assertEquals("config.json: unknown key \"training.early_stopping.patiance\" (did you mean \"training.early_stopping.patience\"?)",
                error("\"training\": {\"early_stopping\": {\"metric\": \"f1\", \"patiance\": 2}}"));
    }

    @Test
    void unknownKeyInWrongSectionOrWithHfName() throws IOException {
        assertEquals("config.json: unknown key \"training.lr\" (did you mean \"optimizer.lr\"?)", error("\"training\": {\"lr\": 1e-4}"));
        assertEquals("config.json: unknown key \"training.learning_rate\" (did you mean \"optimizer.lr\"?)",
                error("\"training\": {\"learning_rate\": 1e-4}"));
    }

    @Test
    void unknownKeyListsAllowedKeysWhenNothingIsClose() throws IOException {
        assertEquals("config.json: unknown key \"logging.colour\" (allowed in \"logging\": \"tensorboard\", \"plot\", \"progress\")",
                error("\"logging\": {\"colour\": true}"));
    }

    @Test
    void taskSpecificKeysAreCheckedAgainstTheRegisteredTask() throws IOException {
        Path f = write("config.json", "{\"model\": {\"name\": \"m\"}, \"task\": {\"type\": \"dummy\", \"num_label\": 3},"
                + " \"data\": {\"train\": \"train.jsonl\", \"id_field\": \"uid\", \"vocab\": \"missing.txt\"}}");
        assertEquals(String.join("\n",
                "config.json: unknown key \"task.num_label\" (did you mean \"task.num_labels\"?)",
                "config.json: \"data.vocab\": file not found: " + abs("missing.txt") + " (paths are relative to the config file's folder)"),
                error(f));
        Path ok = write("config.json", "{\"model\": {\"name\": \"m\"}, \"task\": {\"type\": \"dummy\", \"num_labels\": 3},"
                + " \"data\": {\"train\": \"train.jsonl\", \"id_field\": \"uid\"}}");
        RunConfig c = RunConfig.load(ok);
        assertEquals(3, c.taskOptions(DummyTask.class).numLabels);
        assertEquals("uid", c.dataOptions(DummyData.class).idField);
        assertThrows(IllegalStateException.class, () -> c.taskOptions(DummyData.class));
    }

    // ---- types, ranges, enums ----

    @Test
    void wrongType() throws IOException {
        assertEquals("config.json: \"training.batch_size\" must be an integer, got \"32x\"", error("\"training\": {\"batch_size\": \"32x\"}"));
        assertEquals("config.json: \"training.batch_size\" must be an integer, got 3.5", error("\"training\": {\"batch_size\": 3.5}"));
        assertEquals("config.json: \"logging.plot\" must be true or false, got \"yes\"", error("\"logging\": {\"plot\": \"yes\"}"));
        assertEquals("config.json: \"optimizer.lr\" must be a number, got \"fast\"", error("\"optimizer\": {\"lr\": \"fast\"}"));
        assertEquals("config.json: \"training\" must be an object, got 5", error("\"training\": 5"));
        assertEquals("config.json: \"optimizer.betas\" must be an array, got 0.9", error("\"optimizer\": {\"betas\": 0.9}"));
        // 3.0 is an integer
        assertEquals(3, RunConfig.load(config("\"training\": {\"epochs\": 3.0}")).training.epochs);
    }

    @Test
    void outOfRange() throws IOException {
        assertEquals("config.json: \"training.batch_size\" must be at least 1, got 0", error("\"training\": {\"batch_size\": 0}"));
        assertEquals("config.json: \"optimizer.lr\" must be greater than 0, got 0", error("\"optimizer\": {\"lr\": 0}"));
        assertEquals("config.json: \"model.dropout\" must be in [0, 1), got 1", error("\"model\": {\"name\": \"m\", \"dropout\": 1}"));
        assertEquals("config.json: \"optimizer.betas[1]\" must be in [0, 1), got 1.0", error("\"optimizer\": {\"betas\": [0.9, 1.0]}"));
        assertEquals("config.json: \"optimizer.betas\" must have 2 elements, got 3", error("\"optimizer\": {\"betas\": [0.9, 0.99, 0.999]}"));
        assertEquals("config.json: \"schedule.warmup_ratio\" must be in [0, 1], got 1.5", error("\"schedule\": {\"warmup_ratio\": 1.5}"));
        assertEquals("config.json: \"optimizer.momentum\" must be in [0, 1), got 1.2", error("\"optimizer\": {\"type\": \"adamw\", \"momentum\": 1.2}"));
        assertEquals("config.json: \"seed\" is out of range for an integer, got 1e30", error("\"seed\": 1e30"));
    }

    @Test
    void enumsListAllowedValues() throws IOException {
        assertEquals("config.json: \"optimizer.type\" must be one of \"adamw\" or \"sgd\", got \"adam\" (did you mean \"adamw\"?)",
                error("\"optimizer\": {\"type\": \"adam\"}"));
        assertEquals("config.json: \"model.device\" must be one of \"auto\", \"cpu\", \"gpu\" or \"gpu:N\", got \"tpu\" (did you mean \"cpu\" or \"gpu\"?)",
                error("\"model\": {\"name\": \"m\", \"device\": \"tpu\"}"));
        assertEquals("config.json: \"training.freeze\" must be one of \"none\", \"embeddings\", \"bottom:N\" or \"all-but-head\", got \"bottom:0\""
                + " (bottom:N freezes the embeddings and the lowest N layers, N at least 1)",
                error("\"training\": {\"freeze\": \"bottom:0\"}"));
        assertEquals("config.json: \"data.format\" must be one of \"auto\", \"jsonl\", \"json\", \"csv\", \"tsv\", \"txt\" or \"label-text\","
                + " got \"jsnl\" (did you mean \"jsonl\"?)", error(write("config.json", MINIMAL.replace("\"train.jsonl\"", "\"train.jsonl\", \"format\": \"jsnl\"") + "}")));
        RunConfig c = RunConfig.load(config("\"model\": {\"name\": \"m\", \"device\": \"gpu:1\"}, \"training\": {\"freeze\": \"bottom:4\"}"));
        assertEquals("gpu:1", c.model.device);
        assertEquals(4, c.training.freezeBottomLayers());
    }

    // ---- cross-field ----

    @Test
    void crossFieldChecks() throws IOException {
        assertEquals("config.json: \"schedule.warmup_steps\" and \"schedule.warmup_ratio\" are both set; use one",
                error("\"schedule\": {\"warmup_steps\": 100, \"warmup_ratio\": 0.1}"));
        assertEquals("config.json: \"training.early_stopping.metric\" is required (the dev metric to watch, e.g. \"accuracy\" or \"loss\")",
                error("\"training\": {\"early_stopping\": {\"patience\": 2}}"));
        assertEquals("config.json: \"precision.mode\": fp16-mixed needs a GPU, but \"model.device\" is \"cpu\" (use \"fp32\" on CPU)",
                error("\"model\": {\"name\": \"m\", \"device\": \"cpu\"}, \"precision\": {\"mode\": \"fp16-mixed\"}"));
        assertEquals("config.json: \"training.early_stopping\" needs dev data: set \"data.dev\" or \"data.dev_fraction\"",
                error("\"training\": {\"early_stopping\": {\"metric\": \"f1\"}}"));
        assertEquals("config.json: \"training.early_stopping\" needs evaluations, but \"training.eval_every_steps\" is 0 and"
                + " \"training.eval_each_epoch\" is false",
                error(config("\"training\": {\"eval_each_epoch\": false, \"early_stopping\": {\"metric\": \"f1\"}}"), "data.dev_fraction=0.1"));
        assertEquals("config.json: \"data.dev\" and \"data.dev_fraction\" are both set; use one (dev_fraction splits the dev set off the training file)",
                error(config(""), "data.dev=dev.jsonl", "data.dev_fraction=0.1"));
        assertEquals("config.json: \"training.max_steps\" must be -1 (the epochs decide) or at least 1, got 0",
                error("\"training\": {\"max_steps\": 0}"));
        assertEquals("config.json: \"training.max_tokens_per_batch\" and \"training.group_by_length\" are both set; use one"
                        + " (a token budget already batches examples of similar length)",
                error("\"training\": {\"max_tokens_per_batch\": 4096, \"group_by_length\": true}"));
        assertEquals("config.json: \"training.max_tokens_per_batch\" is 100, below \"data.max_length\" 128: an example that long"
                        + " would not fit; raise the budget or lower data.max_length",
                error("\"training\": {\"max_tokens_per_batch\": 100}"));
        assertEquals("config.json: \"optimizer.nesterov\" needs \"optimizer.momentum\" greater than 0",
                error("\"optimizer\": {\"type\": \"sgd\", \"momentum\": 0, \"nesterov\": true}"));
        assertEquals("config.json: \"task.labels\" must have num_labels (2) entries, got 3 (from --set task.labels=[\"a\",\"b\",\"c\"])",
                error(config(""), "task.labels=[\"a\",\"b\",\"c\"]"));
        // sgd-only keys are fine with adamw
        RunConfig c = RunConfig.load(config("\"optimizer\": {\"type\": \"adamw\", \"momentum\": 0.5, \"nesterov\": true}"));
        assertEquals(0.5, c.optimizer.momentum);
    }

    @Test
    void allProblemsAreReportedOneLineEach() throws IOException {
        ConfigException e = assertThrows(ConfigException.class, () -> RunConfig.load(
                config("\"training\": {\"batchsize\": 8, \"epochs\": 0}, \"optimizer\": {\"lr\": -1}")));
        assertEquals(List.of(
                "config.json: unknown key \"training.batchsize\" (did you mean \"training.batch_size\"?)",
                "config.json: \"training.epochs\" must be at least 1, got 0",
                "config.json: \"optimizer.lr\" must be greater than 0, got -1"), e.errors());
        assertEquals(String.join("\n", e.errors()), e.getMessage());
        assertTrue(e instanceof IllegalArgumentException);
    }

    @Test
    void requiredKeys() throws IOException {
        List<String> types = ConfigRegistry.taskTypes();
        assertEquals(String.join("\n",
                "config.json: \"task.type\" is required (registered task types: " + Suggest.quotedList(types, ", ") + ")",
                "config.json: \"model.name\" is required (a model zoo name or a HuggingFace model folder)",
                "config.json: \"data.train\" is required (the training data file)"),
                error(write("config.json", "{}")));
    }

    @Test
    void invalidJson() throws IOException {
        assertEquals("config.json: invalid JSON: duplicate key \"training.epochs\" at line 1 column 36",
                error(write("config.json", "{\"training\": {\"epochs\": 1, \"epochs\": 2}}")));
        String msg = error(write("config.json", "{\"training\": {\"epochs\": 1,}}"));
        assertTrue(msg.startsWith("config.json: invalid JSON: ") && msg.contains("line 1") && !msg.contains("\n"), msg);
        assertEquals("config.json: invalid JSON: unexpected text after the end at line 1 column 5", error(write("config.json", "{} {}")));
    }

    // ---- files and paths ----

    @Test
    void missingFile() throws IOException {
        assertEquals("config.json: \"data.train\": file not found: " + abs("missing.jsonl") + " (paths are relative to the config file's folder)",
                error(write("config.json", MINIMAL.replace("train.jsonl", "missing.jsonl") + "}")));
        assertEquals("config.json: \"data.dev\": environment variable KILN_UNSET_FOR_TEST is not set (from --set data.dev=${KILN_UNSET_FOR_TEST}/dev.jsonl)",
                error(config(""), "data.dev=${KILN_UNSET_FOR_TEST}/dev.jsonl"));
        // ${KILN_HOME} always expands (default ~/.kiln), so a quick-start config can name fetched data
        assertEquals("config.json: \"data.dev\": file not found: " + dev.kiln.util.KilnHome.home().resolve("nope/dev.jsonl")
                        + " (paths are relative to the config file's folder) (from --set data.dev=${KILN_HOME}/nope/dev.jsonl)",
                error(config(""), "data.dev=${KILN_HOME}/nope/dev.jsonl"));
        assertEquals("config.json: \"model.name\": not found: " + abs("models/nope")
                        + " (paths are relative to the config file's folder; a name without a slash is a model zoo name) (from --set model.name=models/nope)",
                error(config(""), "model.name=models/nope"));
        Path nowhere = dir.resolve("nope.json");
        assertEquals("nope.json: file not found: " + nowhere.toAbsolutePath(), error(nowhere));
    }

    @Test
    void relativePathsResolveAgainstTheConfigFolder() throws IOException {
        Files.createDirectories(dir.resolve("shared/datasets/x"));
        Files.writeString(dir.resolve("shared/datasets/x/train.txt"), "1 good\n");
        Files.createDirectories(dir.resolve("repo/models/tiny"));
        Path f = write("repo/configs/x.json", "{\"model\": {\"name\": \"../models/tiny\"}, \"task\": {\"type\": \"dummy\"},"
                + " \"data\": {\"train\": \"../../shared/datasets/x/train.txt\", \"format\": \"label-text\"}, \"output\": {\"dir\": \"out/x\"}}");
        RunConfig c = RunConfig.load(f);
        assertEquals(Paths.get(abs("shared/datasets/x/train.txt")), c.data.train);
        assertEquals(abs("repo/models/tiny"), c.model.name);
        assertEquals("label-text", c.data.formatOf(c.data.train));
        // the output folder is where the run is started from, and the default is named after the config
        assertEquals(Paths.get("").toAbsolutePath().resolve("out/x"), c.output.dir);
        assertEquals(Paths.get("").toAbsolutePath().resolve("runs/x"), RunConfig.load(f, List.of("output.dir=null")).output.dir);
    }

    // ---- --set ----

    @Test
    void setOverrides() throws IOException {
        RunConfig c = RunConfig.load(config("\"training\": {\"batch_size\": 16}"), List.of(
                "training.batch_size=8",
                "model.name=other-model",
                "logging.plot=false",
                "optimizer.lr=3e-4",
                "optimizer.betas=[0.8, 0.95]",
                "schedule.type=cosine",
                "training.early_stopping.metric=f1",
                "training.early_stopping.patience=5",
                "data.dev=dev.jsonl",
                "output.dir=2024",
                "task.num_labels=4",
                "seed=7"));
        assertEquals(8, c.training.batchSize);
        assertEquals("other-model", c.model.name);
        assertFalse(c.logging.plot);
        assertEquals(3e-4, c.optimizer.lr);
        assertArrayEquals(new double[] {0.8, 0.95}, c.optimizer.betas);
        assertEquals(RunConfig.ScheduleType.COSINE, c.schedule.type);
        assertEquals("f1", c.training.earlyStopping.metric);
        assertEquals(5, c.training.earlyStopping.patience);
        assertEquals(Mode.MAX, c.training.earlyStopping.mode);
        assertEquals(Paths.get(abs("dev.jsonl")), c.data.dev);
        assertEquals(Paths.get("").toAbsolutePath().resolve("2024"), c.output.dir); // a string key keeps the text
        assertEquals(4, c.taskOptions(DummyTask.class).numLabels);
        assertEquals(7, c.seed);
        // a whole section as JSON, and null back to the default
        RunConfig d = RunConfig.load(config("\"model\": {\"name\": \"m\", \"dropout\": 0.2}"),
                List.of("model.dropout=null", "schedule={\"type\": \"constant\", \"warmup_steps\": 10}"));
        assertNull(d.model.dropout);
        assertEquals(RunConfig.ScheduleType.CONSTANT, d.schedule.type);
        assertEquals(10, d.schedule.warmupSteps);
    }

    @Test
    void setErrors() throws IOException {
        Path f = config("");
        assertEquals("config.json: --set training.bach_size=8: unknown key \"training.bach_size\" (did you mean \"training.batch_size\"?)",
                error(f, "training.bach_size=8"));
        assertEquals("config.json: --set trainig.batch_size=8: unknown key \"trainig\" (did you mean \"training\"?)",
                error(f, "trainig.batch_size=8"));
        assertEquals("config.json: --set optimizer.lr.x=1: \"optimizer.lr\" is a single value, not a section", error(f, "optimizer.lr.x=1"));
        assertEquals("config.json: --set batch_size: expected KEY=VALUE, e.g. --set training.batch_size=8", error(f, "batch_size"));
        assertEquals("config.json: \"training.batch_size\" must be an integer, got \"8x\" (from --set training.batch_size=8x)",
                error(f, "training.batch_size=8x"));
        assertEquals("config.json: --set task.num_label=3: unknown key \"task.num_label\" (did you mean \"task.num_labels\"?)",
                error(f, "task.num_label=3"));
    }

    @Test
    void unknownTaskType() throws IOException {
        List<String> types = ConfigRegistry.taskTypes();
        assertEquals("config.json: \"task.type\": unknown task type \"dumy\" (did you mean \"dummy\"?); registered task types: "
                + Suggest.quotedList(types, ", ") + " (from --set task.type=dumy)", error(config(""), "task.type=dumy"));
        // keys of an unknown task are not reported: the type is the problem
        assertEquals("config.json: \"task.type\": unknown task type \"nothing-like-it\"; registered task types: "
                + Suggest.quotedList(types, ", ") + " (from --set task.type=nothing-like-it)",
                error(config(""), "task.num_labels=3", "task.type=nothing-like-it"));
    }

    // ---- resolved config ----

    @Test
    void toJsonRoundTrip() throws IOException {
        RunConfig c = RunConfig.load(config("\"training\": {\"early_stopping\": {\"metric\": \"f1\"}, \"freeze\": \"embeddings\"},"
                        + " \"optimizer\": {\"type\": \"sgd\", \"betas\": [0.8, 0.9]}, \"seed\": 3"),
                List.of("data.dev=dev.jsonl", "task.labels=[\"x\", \"y\"]", "data.vocab=train.jsonl"));
        Path saved = dir.resolve("runs/config/config.json");
        Files.createDirectories(saved.getParent());
        c.save(saved);
        String json = Files.readString(saved);
        assertTrue(json.contains("\"early_stopping\": {"), json);
        assertTrue(json.contains("\"dropout\": null"), json); // every key is written, unset ones as null
        assertTrue(json.contains("\"num_labels\": 2") && json.contains("\"id_field\": \"id\""), json);
        assertTrue(json.contains("\"train\": \"" + abs("train.jsonl") + "\""), json);
        RunConfig again = RunConfig.load(saved);
        assertEquals(c, again);
        assertEquals(c.hashCode(), again.hashCode());
        assertEquals(json, again.toJson());
        assertEquals(c.output.dir, again.output.dir);
        assertEquals(List.of("x", "y"), again.taskOptions(DummyTask.class).labels);
        assertFalse(c.equals(RunConfig.load(config(""))));
    }

    @Test
    void errorHelperUsesTheSameStyle() throws IOException {
        RunConfig c = RunConfig.load(config(""));
        assertEquals("config.json: \"data.max_length\" is 128 but the model has 64 positions",
                c.error("data.max_length", "is 128 but the model has 64 positions").getMessage());
    }

    // ---- docs ----

    @Test
    void everyFieldIsDocumented() throws IOException {
        Path docs = Paths.get("docs/config.md");
        assertTrue(Files.isRegularFile(docs), "run from the project root: " + docs.toAbsolutePath());
        String md = Files.readString(docs);
        List<String> missing = new ArrayList<>();
        for (String p : Schema.paths(RunConfig.class, "")) if (!md.contains("`" + p + "`")) missing.add(p);
        assertEquals(List.of(), missing, "keys missing from docs/config.md");
        // and the reference tables document nothing that does not exist
        List<String> known = Schema.paths(RunConfig.class, "");
        List<String> stale = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^\\| `([a-z_.]+)` \\|").matcher(md);
        while (m.find()) if (!known.contains(m.group(1))) stale.add(m.group(1));
        assertEquals(List.of(), stale, "docs/config.md documents keys that do not exist");
    }

    @Test
    void docsExampleLoadsAndShowsEveryKey() throws IOException {
        String md = Files.readString(Paths.get("docs/config.md"));
        int start = md.indexOf("```json\n") + 8;
        String example = md.substring(start, md.indexOf("```", start));
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/sst2-train.jsonl"), "{}\n");
        Files.writeString(dir.resolve("data/sst2-dev.jsonl"), "{}\n");
        Files.writeString(dir.resolve("sst2-bert.json"), example);
        RunConfig c = RunConfig.load(dir.resolve("sst2-bert.json"), List.of("task.type=dummy"));
        assertEquals(2e-5, c.optimizer.lr);
        JsonObject resolved = c.toJsonTree();
        resolved.getAsJsonObject("task").remove("num_labels"); // the dummy task's own keys
        resolved.getAsJsonObject("task").remove("labels");
        resolved.getAsJsonObject("data").remove("id_field");
        resolved.getAsJsonObject("data").remove("vocab");
        assertEquals(keys(resolved, ""), keys(JsonParser.parseString(example).getAsJsonObject(), ""));
    }

    private static List<String> keys(JsonObject o, String prefix) {
        List<String> out = new ArrayList<>();
        for (var e : o.entrySet()) {
            out.add(prefix + e.getKey());
            if (e.getValue().isJsonObject()) out.addAll(keys(e.getValue().getAsJsonObject(), prefix + e.getKey() + "."));
        }
        return out;
    }

    @Test
    void suggestions() {
        assertEquals(List.of("batch_size"), Suggest.similar("batchSize", List.of("batch_size", "epochs")));
        assertEquals(List.of("warmup_steps", "warmup_ratio"), Suggest.similar("warmup", List.of("type", "warmup_steps", "warmup_ratio")));
        assertEquals(List.of(), Suggest.similar("xy", List.of("lr", "eps")));
        assertEquals(" (did you mean \"a\" or \"b\"?)", Suggest.didYouMean(List.of("a", "b")));
    }

    public static final class Clash {
        public int maxLength = 3;
    }

    public static final class Unsupported {
        public Object anything;
    }

    @Test
    void registryRefusesClashesAndUnsupportedTypes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConfigRegistry.registerTask("x", null, Clash.class));
        assertTrue(e.getMessage().contains("\"data.max_length\""), e.getMessage());
        assertThrows(IllegalStateException.class, () -> ConfigRegistry.registerTask("x", Unsupported.class, null));
        assertNull(ConfigRegistry.task("x"));
    }
}
