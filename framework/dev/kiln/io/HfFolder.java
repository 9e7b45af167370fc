package dev.kiln.io;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.models.BertConfig;
import dev.kiln.models.BertModel;
import dev.kiln.models.Gpt2Config;
import dev.kiln.models.Gpt2Model;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
            throw new IOException(cfg + ": not valid JSON (" + e.getMessage() + ")");
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
     * A backbone for a task: BERT (encoder and pooler, no pre-training heads) or GPT-2, by model_type.
     * {@code dropout} (nullable) replaces every dropout probability of the config.
     */
    public static dev.kiln.models.Backbone loadBackbone(Path dir, NDManager manager, Float dropout) throws IOException {
        String type = modelType(dir);
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
        Files.createDirectories(abs.getParent());
        Path tmp = Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".tmp-");
        try {
            Files.writeString(tmp.resolve("config.json"),
                    new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(config) + "\n");
            SafeTensors.write(tmp.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            if (tokenizerFrom != null) {
                for (String f : TOKENIZER_FILES) {
                    Path src = tokenizerFrom.resolve(f);
                    if (Files.isRegularFile(src)) Files.copy(src, tmp.resolve(f));
                }
            }
            if (Files.exists(abs)) {
                Path old = Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".old-");
                Files.delete(old);
                Files.move(abs, old);
                Files.move(tmp, abs);
                deleteTree(old);
            } else {
                Files.move(tmp, abs);
            }
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
        }
    }

    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.delete(q);
        }
    }
}
