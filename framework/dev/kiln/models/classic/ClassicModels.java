package dev.kiln.models.classic;

import dev.kiln.util.AtomicFiles;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.config.Checks;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.io.SafeTensors;
import dev.kiln.nn.Parameters;
import dev.kiln.text.Tokenizer;
import dev.kiln.text.WordVocab;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;

/**
 * The classic models, by name: the one place they are registered. {@code model.name} selects one for a run
 * (built here from {@code model.classic} and the training text), and {@code model_type} in a saved folder's
 * config.json selects the class that reopens it ({@link HfFolder#loadBackbone} asks {@link #isClassic}).
 *
 * <p>A saved folder is config.json ({@code model_type}, the sizes, {@code vocab_size}, {@code dropout}; no
 * {@code architectures}: these are not HF classes), model.safetensors under the names each model documents,
 * and the tokenizer files (a word vocabulary as vocab.txt + tokenizer.json, or the zoo tokenizer it used).
 */
public final class ClassicModels {
    private ClassicModels() {}

    /**
     * One classic model: its name ({@code model.name} and {@code model_type}), the {@code model.classic} keys
     * it reads besides the vocabulary ones, how it fills its config.json keys from them, and its constructor.
     */
    public record Entry(String name, String reference, List<String> options,
                               BiConsumer<ClassicOptions, JsonObject> configure,
                               BiFunction<JsonObject, Parameters, ClassicBackbone> create) {}

    private static final Map<String, Entry> REGISTRY = new LinkedHashMap<>();

    static {
        register(new Entry(Mlp.TYPE, "mean of word vectors + feed-forward layers",
                Mlp.OPTIONS, Mlp::configure, Mlp::new));
        register(new Entry(TextCnn.TYPE, "Kim (2014) CNN for sentence classification",
                TextCnn.OPTIONS, TextCnn::configure, TextCnn::new));
        register(new Entry(BiLstm.TYPE, "bidirectional LSTM",
                BiLstm.OPTIONS, BiLstm::configure, BiLstm::new));
    }

    private static void register(Entry a) {
        REGISTRY.put(a.name(), a);
    }

    /** Keys of {@code model.classic} about the word vocabulary and the initial table (every model reads them). */
    static final List<String> VOCAB_OPTIONS = List.of("vocab_size", "min_freq");

    /** Registered names, in registration order. */
    public static List<String> names() {
        return List.copyOf(REGISTRY.keySet());
    }

    public static boolean isClassic(String name) {
        return name != null && REGISTRY.containsKey(name);
    }

    public static Entry get(String name) {
        Entry a = REGISTRY.get(name);
        if (a == null) throw new IllegalArgumentException("unknown classic model '" + name + "' (registered: " + names() + ")");
        return a;
    }

    /** The model.classic keys with a value, by JSON name. */
    static Map<String, Object> given(ClassicOptions o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("embedding_dim", o.embeddingDim);
        m.put("hidden_size", o.hiddenSize);
        m.put("num_layers", o.numLayers);
        m.put("filter_sizes", o.filterSizes);
        m.put("num_filters", o.numFilters);
        m.put("activation", o.activation);
        m.put("vocab_size", o.vocabSize);
        m.put("min_freq", o.minFreq);
        m.put("embeddings", o.embeddings);
        m.values().removeIf(v -> v == null);
        return m;
    }

    /**
     * Config checks for the {@code model} section: {@code model.classic} only with a classic model, and only the
     * keys that model reads; the vocabulary keys only when the vocabulary is built from the data.
     */
    public static void check(String name, ClassicOptions o, String tokenizer, Checks c) {
        if (!isClassic(name)) {
            if (o != null) {
                c.error(c.at("classic") + " is for the classic models (" + String.join(", ", names()) + "), but "
                        + c.at("name") + " is \"" + name + "\"");
            }
            return;
        }
        if (o == null) return;
        Entry a = get(name);
        for (String key : given(o).keySet()) {
            if (key.equals("embeddings")) continue;
            if (VOCAB_OPTIONS.contains(key)) {
                if (tokenizer != null) {
                    c.error(c.at("classic." + key) + " sizes the word vocabulary built from the training data, but "
                            + c.at("tokenizer") + " is set, so the vocabulary is that tokenizer's; remove one");
                }
            } else if (!a.options().contains(key)) {
                c.error(c.at("classic." + key) + " is not an option of " + name + " (its options: "
                        + String.join(", ", a.options()) + ", vocab_size, min_freq, embeddings)");
            }
        }
    }

    /** A classic model ready for training, its tokenizer, and the folder its tokenizer files are copied from on save. */
    public record Built(Path tokenizerDir, ClassicBackbone backbone, Tokenizer tokenizer) {}

    /**
     * Builds {@code name} for a run: the tokenizer ({@code tokenizer} names a zoo model or folder whose tokenizer
     * is used as is; null builds a word vocabulary from {@code trainingText}), a random table or the word
     * embeddings of {@code o.embeddings}, and the model. {@code dropout} null: 0.5.
     */
    public static Built create(String name, ClassicOptions o, String tokenizer, Double dropout, long seed,
                               Iterable<String> trainingText, NDManager manager) throws IOException {
        Entry a = get(name);
        if (o == null) o = new ClassicOptions();
        Tokenizer tok;
        Path tokDir;
        if (tokenizer != null) {
            tokDir = ModelZoo.resolve(tokenizer);
            tok = Tokenizer.load(tokDir);
        } else {
            if (trainingText == null) throw new IllegalArgumentException(name + " needs training text to build its word vocabulary");
            List<String> words = WordVocab.build(trainingText, o.minFreq != null ? o.minFreq : 1,
                    o.vocabSize != null ? o.vocabSize : 20000);
            tokDir = scratchFolder();
            tok = WordVocab.save(words, tokDir);
        }
        try {
            ZooEmbeddings.Table table = null;
            Tokenizer zooTok = null;
            int dim = o.embeddingDim != null ? o.embeddingDim : 300;
            if (o.embeddings != null) {
                Path zoo = ModelZoo.resolve(o.embeddings);
                table = ZooEmbeddings.read(zoo);
                if (o.embeddingDim != null && o.embeddingDim != table.dim()) {
                    throw new IllegalArgumentException("model.classic.embedding_dim is " + o.embeddingDim + " but the word embeddings of "
                            + o.embeddings + " are " + table.dim() + " wide; leave embedding_dim unset");
                }
                dim = table.dim();
                zooTok = Tokenizer.load(zoo);
            }
            JsonObject cfg = new JsonObject();
            cfg.addProperty("model_type", a.name());
            cfg.addProperty("vocab_size", tok.vocabSize());
            cfg.addProperty("embedding_dim", dim);
            a.configure().accept(o, cfg);
            cfg.addProperty("dropout", dropout != null ? dropout : 0.5);
            cfg.addProperty("pad_token_id", tok.padId() != null ? tok.padId() : 0);
            cfg.addProperty("tokenizer", tokenizer != null ? tokenizer : "words");
            if (o.embeddings != null) cfg.addProperty("embeddings_from", o.embeddings);
            cfg.addProperty("seed", seed);
            JsonObject counts = new JsonObject();
            float[] rows = null;
            if (table != null) {
                try (Tokenizer z = zooTok) {
                    rows = ZooEmbeddings.rowsFor(tok, z, table, seed, counts);
                }
                cfg.add("embeddings_init", counts);
            }
            ClassicBackbone b = a.create().apply(cfg, new Parameters(manager, seed, 0.02f));
            if (rows != null) b.params().get(ClassicBackbone.EMBEDDINGS).set(FloatBuffer.wrap(rows));
            return new Built(tokDir, b, tok);
        } catch (IOException | RuntimeException e) {
            tok.close();
            throw e;
        }
    }

    /**
     * Reopens a saved classic model: config.json decides the class, and loading is as strict as for BERT and GPT-2
     * ({@link HfFolder#check}): every tensor of the model must be in model.safetensors; tensors it does not use are
     * named in a notice unless {@code strictness} says a task head loads them afterwards.
     */
    public static ClassicBackbone load(Path dir, NDManager manager, Float dropout, HfFolder.Strictness strictness)
            throws IOException {
        JsonObject cfg = HfFolder.readConfig(dir);
        String type = cfg.get("model_type").getAsString();
        Entry a = get(type);
        if (dropout != null) cfg.addProperty("dropout", dropout);
        ClassicBackbone b;
        try {
            b = a.create().apply(cfg, new Parameters(manager, 42, 0.02f));
        } catch (RuntimeException e) {
            throw new IOException(dir.resolve("config.json") + ": not a valid " + type + " config (" + e + ")");
        }
        var report = b.params().load(SafeTensors.readCheckpoint(dir), k -> k);
        HfFolder.check(dir, b.params(), report, strictness, Map.of());
        return b;
    }

    /** A folder for a word vocabulary's tokenizer files until the run saves them with the model; removed at exit. */
    private static Path scratchFolder() throws IOException {
        Path dir = Files.createTempDirectory("kiln-vocab-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                AtomicFiles.deleteTree(dir);
            } catch (IOException ignored) {
                // a temp folder; the OS cleans it eventually
            }
        }));
        return dir;
    }

    /** Names of every registered model with what it is, for error messages and docs. */
    public static List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Entry a : REGISTRY.values()) out.add(a.name() + " (" + a.reference() + ")");
        return out;
    }
}
