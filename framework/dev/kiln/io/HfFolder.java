package dev.kiln.io;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.models.BertConfig;
import dev.kiln.models.BertModel;
import dev.kiln.models.Gpt2Config;
import dev.kiln.models.Gpt2Model;
import dev.kiln.nn.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A HuggingFace model folder: {@code config.json}, {@code model.safetensors} (or a sharded index) and
 * tokenizer files. Loads into our models by key name and writes them back in the same layout.
 */
public final class HfFolder {
    private HfFolder() {}

    /** Tokenizer files copied along on export, when the source folder has them. */
    /** The config.json key that marks a folder written by Kiln. */
    public static final String KILN_VERSION = "kiln_version";
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt");

    public static JsonObject readConfig(Path dir) throws IOException {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) {
            throw new IOException(dir + ": no config.json (expected a HuggingFace model folder)");
        }
        try {
            return JsonParser.parseString(Files.readString(cfg)).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IOException(cfg + ": not valid JSON (" + dev.kiln.util.JsonErrors.oneLine(e) + ")");
        }
    }

    /** {@code model_type} from config.json ("bert", "gpt2"), guessed from the fields when absent. */
    public static String modelType(Path dir) throws IOException {
        JsonObject o = readConfig(dir);
        if (o.has("model_type")) return o.get("model_type").getAsString();
        if (o.has("n_embd")) return "gpt2";
        if (o.has("hidden_size")) return "bert";
        throw new IOException(dir.resolve("config.json") + ": no model_type and no known fields");
    }

    /**
     * Loads a BERT. {@code heads} null means: whatever the checkpoint has (pooler, MLM, NSP);
     * parts asked for but absent keep their initial values and are listed in the report.
     */
    public static BertModel loadBert(Path dir, NDManager manager, BertModel.Heads heads) throws IOException {
        return loadBert(dir, manager, heads, null);
    }

    /** As {@link #loadBert(Path, NDManager, BertModel.Heads)}, with config.json fields replaced by {@code overrides}. */
    public static BertModel loadBert(Path dir, NDManager manager, BertModel.Heads heads, JsonObject overrides)
            throws IOException {
        BertConfig config = BertConfig.fromJson(merge(requireType(dir, "bert"), overrides));
        Map<String, HostTensor> tensors = SafeTensors.readCheckpoint(dir);
        if (heads == null) {
            heads = new BertModel.Heads();
            heads.pooler = tensors.keySet().stream().anyMatch(k -> k.contains("pooler."));
            heads.mlm = tensors.keySet().stream().anyMatch(k -> k.startsWith("cls.predictions"));
            heads.nsp = tensors.keySet().stream().anyMatch(k -> k.startsWith("cls.seq_relationship"));
        } else if (heads.poolerIfPresent) {
            heads.pooler = tensors.keySet().stream().anyMatch(k -> k.contains("pooler."));
        }
        BertModel model = new BertModel(config, new Parameters(manager, 42, config.initializerRange), heads);
        final boolean mlm = heads.mlm;
        final boolean nsp = heads.nsp;
        // pre-training heads that were not asked for are skipped on purpose, not "unexpected"
        model.loadReport = model.params.load(tensors, k -> {
            String n = BertModel.mapCheckpointKey(k);
            if (n == null) return null;
            if (!mlm && n.startsWith("cls.predictions")) return null;
            if (!nsp && n.startsWith("cls.seq_relationship")) return null;
            return n;
        });
        return model;
    }

    public static Gpt2Model loadGpt2(Path dir, NDManager manager) throws IOException {
        return loadGpt2(dir, manager, null);
    }

    public static Gpt2Model loadGpt2(Path dir, NDManager manager, JsonObject overrides) throws IOException {
        Gpt2Config config = Gpt2Config.fromJson(merge(requireType(dir, "gpt2"), overrides));
        Map<String, HostTensor> tensors = SafeTensors.readCheckpoint(dir);
        Gpt2Model model = new Gpt2Model(config, new Parameters(manager, 42, config.initializerRange));
        model.loadReport = model.params.load(tensors, Gpt2Model::mapCheckpointKey);
        return model;
    }

    /**
     * A backbone for a task: BERT (encoder and pooler, no pre-training heads), GPT-2 or a classic model, by model_type.
     * {@code dropout} (nullable) replaces every dropout probability of the config.
     */
    public static dev.kiln.models.Backbone loadBackbone(Path dir, NDManager manager, Float dropout) throws IOException {
        String type = modelType(dir);
        if (dev.kiln.models.classic.ClassicModels.isClassic(type)) {
            return dev.kiln.models.classic.ClassicModels.load(dir, manager, dropout);
        }
        JsonObject o = new JsonObject();
        switch (type) {
            case "bert":
                if (dropout != null) {
                    o.addProperty("hidden_dropout_prob", dropout);
                    o.addProperty("attention_probs_dropout_prob", dropout);
                }
                return loadBert(dir, manager, BertModel.Heads.forFineTuning(), o);
            case "gpt2":
                if (dropout != null) {
                    o.addProperty("resid_pdrop", dropout);
                    o.addProperty("embd_pdrop", dropout);
                    o.addProperty("attn_pdrop", dropout);
                }
                return loadGpt2(dir, manager, o);
            default:
                throw new IOException(dir.resolve("config.json") + ": model_type '" + type + "' is not supported (bert, gpt2)");
        }
    }

    private static JsonObject merge(JsonObject base, JsonObject overrides) {
        if (overrides == null) return base;
        JsonObject o = base.deepCopy();
        for (Map.Entry<String, com.google.gson.JsonElement> e : overrides.entrySet()) o.add(e.getKey(), e.getValue());
        return o;
    }

    private static JsonObject requireType(Path dir, String type) throws IOException {
        String t = modelType(dir);
        if (!t.equals(type)) {
            throw new IOException(dir.resolve("config.json") + ": model_type is '" + t + "', expected '" + type + "'");
        }
        return readConfig(dir);
    }

    /** Writes config.json + model.safetensors (+ tokenizer files from {@code tokenizerFrom}) atomically. */
    public static void save(BertModel model, Path dir, Path tokenizerFrom) throws IOException {
        JsonObject cfg = model.config.toJson();
        if (model.mlm == null && model.nsp == null) {
            com.google.gson.JsonArray a = new com.google.gson.JsonArray();
            a.add("BertModel");
            cfg.add("architectures", a);
        }
        writeFolder(dir, cfg, model.params.stateDict(), tokenizerFrom);
    }

    public static void save(Gpt2Model model, Path dir, Path tokenizerFrom) throws IOException {
        writeFolder(dir, model.config.toJson(), model.params.stateDict(), tokenizerFrom);
    }

    /**
     * Builds the folder beside {@code dir} and renames it into place, so readers never see a
     * half-written model. An existing folder is replaced.
     */
    public static void writeFolder(Path dir, JsonObject config, LinkedHashMap<String, HostTensor> tensors,
                                   Path tokenizerFrom) throws IOException {
        Path abs = dir.toAbsolutePath();
        requireReplaceable(abs);
        Files.createDirectories(abs.getParent());
        Path tmp = newHiddenDir(abs.getParent(), "." + abs.getFileName() + ".tmp-");
        try {
            // provenance, as HF writes transformers_version: also how Kiln knows the folder is its own to replace
            JsonObject written = config.deepCopy();
            written.addProperty(KILN_VERSION, dev.kiln.util.Versions.kiln());
            Files.writeString(tmp.resolve("config.json"),
                    new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(written) + "\n");
            SafeTensors.write(tmp.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            if (tokenizerFrom != null) {
                for (String f : TOKENIZER_FILES) {
                    Path src = tokenizerFrom.resolve(f);
                    if (Files.isRegularFile(src)) Files.copy(src, tmp.resolve(f));
                }
            }
            if (Files.exists(abs)) {
                Path old = newHiddenDir(abs.getParent(), "." + abs.getFileName() + ".old-");
                Files.delete(old);
                Files.move(abs, old);
                Files.move(tmp, abs);
                deleteTree(old);
            } else {
                Files.move(tmp, abs);
            }
        } catch (IOException e) {
            throw named(abs, e);
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
        }
    }

    /** Files Kiln writes in a model folder: weights, config, tokenizer, task metadata, model card. */
    public static boolean isOwnFile(String name) {
        return name.equals("config.json") || name.equals("kiln_task.json") || name.equals("README.md")
                || name.equals("generation_config.json") || TOKENIZER_FILES.contains(name)
                || OWN_WEIGHTS.matcher(name).matches();
    }

    private static final java.util.regex.Pattern OWN_WEIGHTS =
            java.util.regex.Pattern.compile("model(-\\d+-of-\\d+)?\\.safetensors(\\.index\\.json)?");

    /**
     * Refuses to replace {@code dir} when it holds anything Kiln does not write in a model folder (a user's
     * notes in final/, a sub-folder): replacing would delete it.
     */
    public static void requireReplaceable(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            if (Files.exists(dir)) throw new IllegalArgumentException(dir + " is a file, not a model folder; not replacing it");
            return;
        }
        List<String> foreign = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (Files.isDirectory(p) || !isOwnFile(n)) foreign.add(n);
            }
        }
        if (!foreign.isEmpty()) {
            java.util.Collections.sort(foreign);
            throw new IllegalArgumentException(dir + " holds files Kiln did not write (" + String.join(", ",
                    foreign.subList(0, Math.min(3, foreign.size()))) + (foreign.size() > 3 ? ", ..." : "")
                    + "); Kiln will not replace it: move them out or choose another folder");
        }
    }

    /**
     * For folders a user names (export, init-gpt2): {@code dir} must not exist, be empty, or be a folder Kiln
     * wrote before (kiln_task.json, or {@value #KILN_VERSION} in config.json); a user's own model folder is never replaced.
     */
    public static void requireNewTarget(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + " is a file; give a new folder path");
        try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isEmpty()) return;
        }
        if (!Files.isRegularFile(dir.resolve("kiln_task.json")) && !writtenByKiln(dir)) {
            throw new IllegalArgumentException(dir + " exists and is not empty; Kiln writes only new or empty folders"
                    + " (or replaces its own exports): choose another folder");
        }
        requireReplaceable(dir);
    }

    /** True when config.json carries the {@value #KILN_VERSION} that {@link #writeFolder} adds. */
    public static boolean writtenByKiln(Path dir) {
        try {
            return readConfig(dir).has(KILN_VERSION);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Deletes the files Kiln writes in a model folder, and the folder when nothing else is left in it. */
    public static void deleteOwnFolder(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        boolean left = false;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (!Files.isDirectory(p) && isOwnFile(p.getFileName().toString())) Files.delete(p);
                else left = true;
            }
        }
        if (!left) Files.delete(dir);
    }

    /**
     * A new folder named {@code prefix + random} under {@code parent}, created with the user's umask (unlike
     * {@link Files#createTempDirectory}, which makes it owner-only: renamed into place, that would make run
     * folders unreadable to the group).
     */
    public static Path newHiddenDir(Path parent, String prefix) throws IOException {
        java.util.SplittableRandom r = new java.util.SplittableRandom();
        for (int i = 0; ; i++) {
            Path p = parent.resolve(prefix + Long.toUnsignedString(r.nextLong(), 36));
            try {
                return Files.createDirectory(p);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (i > 100) throw e;
            }
        }
    }

    /** {@code e} with {@code target} in its message when it lacks a path ("No space left on device" alone). */
    public static IOException named(Path target, IOException e) {
        String m = String.valueOf(e.getMessage());
        if (e instanceof java.nio.file.FileSystemException || m.contains(target.toString())) return e;
        return new IOException("writing " + target + ": " + m, e);
    }

    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.delete(q);
        }
    }
}
