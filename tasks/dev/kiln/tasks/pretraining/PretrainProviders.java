package dev.kiln.tasks.pretraining;

import dev.kiln.util.AtomicFiles;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.inference.FillMask;
import dev.kiln.inference.LmScorer;
import dev.kiln.io.HfFolder;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.peft.PeftFolder;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.PredictLines;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskProvider;
import dev.kiln.train.TrainableTask;
import dev.kiln.util.Devices;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The two pretraining task registrations (ServiceLoader needs one class per provider). */
public final class PretrainProviders {
    private PretrainProviders() {}

    /** Data settings saved with the model, so {@code kiln evaluate} reads held-out text the same way. */
    static JsonObject dataMeta(RunConfig cfg, PretrainSetup setup) {
        // a prepared corpus (Shards) says how its text was read: evaluate reads raw text the same way
        JsonObject m = setup.train.meta();
        if (m.has("reading")) return m.getAsJsonObject("reading");
        PretrainData d = setup.data;
        JsonObject o = new JsonObject();
        o.addProperty("documents", d.documents);
        if (d.documentMarker != null) o.addProperty("document_marker", d.documentMarker);
        if (d.include != null) o.addProperty("include", d.include);
        o.addProperty("encoding", cfg.data.encoding);
        return o;
    }

    /** A temporary store of {@code data} read with the model's saved data settings. */
    static TokenStore tempStore(String kind, Path modelDir, JsonObject meta, Path data, Tokenizer tok, Path tmp) throws IOException {
        JsonObject d = meta.has("data") ? meta.getAsJsonObject("data") : new JsonObject();
        Corpus.Settings s = new Corpus.Settings(
                TextSource.Documents.parse(d.has("documents") ? d.get("documents").getAsString() : "file"),
                d.has("document_marker") ? d.get("document_marker").getAsString() : null,
                Charset.forName(d.has("encoding") ? d.get("encoding").getAsString() : "utf-8"));
        List<Path> files = TextSource.files(data, d.has("include") ? d.get("include").getAsString() : null);
        return Corpus.store(kind, tmp, files, s, tok, modelDir);
    }

    /** Builds a pretraining task on its prepared corpus and tokenizer. */
    @FunctionalInterface
    interface Build {
        TrainableTask build(PretrainSetup s) throws IOException;
    }

    /** A task built on a new {@link PretrainSetup}, which is closed (its token stores released) when building fails. */
    static TrainableTask create(RunConfig cfg, String kind, Build build) throws IOException {
        PretrainSetup s = new PretrainSetup(cfg, kind);
        try {
            return build.build(s);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The GPT-2 of a pretraining folder; a PEFT run's folder is its base model with the adapter applied. */
    static Gpt2Model loadGpt(Path dir, NDManager m) throws IOException {
        Gpt2Model g = HfFolder.loadGpt2(PeftFolder.weightsFolder(dir), m, null, PeftFolder.strictness(dir, HfFolder.Strictness.STRICT));
        PeftFolder.applyTo(dir, g);
        return g;
    }

    /** The BERT of a pretraining folder with {@code heads}; a PEFT run's folder as {@link #loadGpt}. */
    static BertModel loadBert(Path dir, NDManager m, BertModel.Heads heads) throws IOException {
        BertModel b = HfFolder.loadBert(PeftFolder.weightsFolder(dir), m, heads, null, PeftFolder.strictness(dir, HfFolder.Strictness.TASK_FOLDER));
        PeftFolder.applyTo(dir, b);
        return b;
    }

    /** Builds the task that scores held-out text: the folder's model on {@code m}, the text tokenised into {@code tmp}. */
    @FunctionalInterface
    interface HeldOut {
        TrainableTask task(Path dir, JsonObject meta, NDManager m, Tokenizer tok, Path tmp) throws IOException;
    }

    /** {@code evaluate} of a pretraining folder: the held-out task's metrics, its temporary token store removed after. */
    static Map<String, Object> evaluate(Path modelDir, String type, String device, Path data, HeldOut heldOut) throws IOException {
        Path dir = TaskFolder.resolve(modelDir);
        JsonObject meta = TaskFolder.requireTask(dir, type);
        Path tmp = Files.createTempDirectory("kiln-eval-");
        try (NDManager m = NDManager.newBaseManager(Devices.parse(device)); Tokenizer tok = Tokenizer.load(dir)) {
            TrainableTask t = heldOut.task(dir, meta, m, tok, tmp);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", dir.toString());
            out.put("data", data.toString());
            out.putAll(t.evaluate(m));
            return out;
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }

    public static final class Gpt implements TaskProvider {
        @Override public String type() { return GptPretrainTask.TYPE; }

        @Override
        public void registerConfig() {
            ConfigRegistry.registerTask(GptPretrainTask.TYPE, PretrainOptions.class, PretrainData.class)
                    .mainMetric(GptPretrainTask.MAIN_METRIC).newModels(true);
        }

        @Override
        public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
            return PretrainProviders.create(cfg, "gpt", s -> {
                Gpt2Model gpt = s.gpt(manager);
                int bs = cfg.data.maxLength;
                GptBlocks train = GptBlocks.all(s.train, bs);
                GptBlocks dev = null;
                if (s.dev != null && s.dev != s.train) {
                    dev = GptBlocks.all(s.dev, bs);
                } else if (s.dev != null) {
                    int k = s.devCount(train.size(), "blocks");
                    dev = new GptBlocks(s.train, bs, train.size() - k, k);
                    train = new GptBlocks(s.train, bs, 0, train.size() - k);
                }
                if (train.size() == 0) throw cfg.error("data.train", "holds fewer than max_length + 1 tokens: no training block");
                if (dev != null && dev.size() == 0) throw cfg.error("data.dev", "holds fewer than max_length + 1 tokens: no held-out block");
                System.err.printf("pretrain-gpt: %,d training blocks of %d tokens%s%n", train.size(), bs,
                        dev == null ? ", no held-out data" : ", " + dev.size() + " held-out");
                GptPretrainTask t = new GptPretrainTask(gpt, train, dev, cfg.taskOptions(PretrainOptions.class), s.tokDir,
                        s.tokenizerName, (float) cfg.training.labelSmoothing, s);
                t.dataMeta = dataMeta(cfg, s);
                return t;
            });
        }

        /** A text generator over the trained model. */
        @Override
        public Typed<dev.kiln.generate.Generator> typed() {
            return new Typed<>(dev.kiln.generate.Generator.class,
                    (dir, device) -> dev.kiln.generate.Generator.load(TaskFolder.find(dir, GptPretrainTask.TYPE).dir().toString(), device));
        }

        /** One JSON line per input line: its tokens' perplexity under the model. */
        @Override
        public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
            TaskFolder.Opened f = TaskFolder.open(modelDir, GptPretrainTask.TYPE, device, (dir, meta, m) -> loadGpt(dir, m));
            Gpt2Model gpt = (Gpt2Model) f.backbone;
            Tokenizer tok = f.tokenizer;
            TextEncoder enc = TextEncoder.of(tok);
            // a chunk of lines at once, in length-sorted batches; output keeps input order
            return PredictLines.batched(f, ins -> {
                List<long[]> seqs = new java.util.ArrayList<>(ins.size());
                int[] counts = new int[ins.size()];
                for (int k = 0; k < ins.size(); k++) {
                    int[] ids = enc.encode(ins.get(k).text());
                    counts[k] = ids.length;
                    long[] all = new long[ids.length + 1];
                    all[0] = tok.eosId(); // a text starts after an end-of-text, as in training
                    for (int i = 0; i < ids.length; i++) all[i + 1] = ids[i];
                    seqs.add(java.util.Arrays.copyOf(all, Math.min(all.length, gpt.config.nPositions)));
                }
                List<LmScorer.Score> sc = LmScorer.scoreBatch(gpt, seqs,
                        dev.kiln.inference.LengthBatches.size(dev.kiln.inference.LengthBatches.DEFAULT_SIZE));
                List<JsonObject> out = new java.util.ArrayList<>(ins.size());
                for (int k = 0; k < ins.size(); k++) {
                    JsonObject r = new JsonObject();
                    r.addProperty("text", ins.get(k).text());
                    r.addProperty("tokens", counts[k]);
                    r.addProperty("perplexity", sc.get(k).perplexity());
                    out.add(r);
                }
                return out;
            });
        }

        /** Held-out loss and perplexity of the model on a text file or folder. */
        @Override
        public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
            return PretrainProviders.evaluate(modelDir, GptPretrainTask.TYPE, device, data, (dir, meta, m, tok, tmp) -> {
                Gpt2Model gpt = loadGpt(dir, m);
                TokenStore st = tempStore("gpt", dir, meta, data, tok, tmp);
                GptBlocks blocks = GptBlocks.all(st, meta.get("block_size").getAsInt());
                if (blocks.size() == 0) throw new IllegalArgumentException(data + ": fewer tokens than one block");
                return new GptPretrainTask(gpt, blocks, blocks, new PretrainOptions(), dir, "", 0f, () -> { });
            });
        }
    }

    public static final class Bert implements TaskProvider {
        @Override public String type() { return BertPretrainTask.TYPE; }

        @Override
        public void registerConfig() {
            ConfigRegistry.registerTask(BertPretrainTask.TYPE, BertPretrainOptions.class, PretrainData.class)
                    .mainMetric(BertPretrainTask.MAIN_METRIC).newModels(true);
        }

        static MlmMasker masker(Tokenizer tok, BertPretrainOptions o, int maxLength) {
            int maxPred = o.maxPredictionsPerSeq != null ? o.maxPredictionsPerSeq : (int) Math.ceil(o.mlmProbability * maxLength);
            return new MlmMasker(tok, o.mlmProbability, o.maskReplaceProb, o.randomReplaceProb, maxPred, o.wholeWordMasking);
        }

        @Override
        public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
            BertPretrainOptions o = cfg.taskOptions(BertPretrainOptions.class);
            return PretrainProviders.create(cfg, "bert", s -> {
                BertModel bert = s.bert(manager, o.nsp);
                int len = cfg.data.maxLength;
                BertPairs train;
                BertPairs dev = null;
                long docs = s.train.documents();
                if (s.dev != null && s.dev != s.train) {
                    train = BertPairs.open(s.train, 0, docs, len, o.shortSeqProb, o.nsp, cfg.seed);
                    dev = BertPairs.open(s.dev, 0, s.dev.documents(), len, o.shortSeqProb, o.nsp, cfg.seed);
                } else if (s.dev != null) {
                    int k = s.devCount(docs, "documents");
                    train = BertPairs.open(s.train, 0, docs - k, len, o.shortSeqProb, o.nsp, cfg.seed);
                    dev = BertPairs.open(s.train, docs - k, docs, len, o.shortSeqProb, o.nsp, cfg.seed);
                } else {
                    train = BertPairs.open(s.train, 0, docs, len, o.shortSeqProb, o.nsp, cfg.seed);
                }
                System.err.printf("pretrain-bert: %,d training instances from %,d documents%s%n", train.size(), docs,
                        dev == null ? ", no held-out data" : ", " + dev.size() + " held-out");
                BertPretrainTask t = new BertPretrainTask(bert, s.tok, train, dev, masker(s.tok, o, len), o, cfg.seed, s.tokDir,
                        s.tokenizerName, len, (float) cfg.training.labelSmoothing, s);
                t.dataMeta = dataMeta(cfg, s);
                return t;
            });
        }

        /** Fill-mask for each input line that has a [MASK]: the top 5 tokens. */
        @Override
        public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
            TaskFolder.Opened f = TaskFolder.open(modelDir, BertPretrainTask.TYPE, device, (dir, meta, m) -> {
                BertModel.Heads h = BertModel.Heads.encoderOnly();
                h.mlm = true;
                return loadBert(dir, m, h);
            });
            BertModel bert = (BertModel) f.backbone;
            // a chunk of lines at once, in length-sorted batches; output keeps input order
            return PredictLines.batched(f, ins -> {
                List<String> lines = ins.stream().map(PredictLines.Input::text).toList();
                List<List<FillMask.Candidate>> got = FillMask.predictBatch(bert, f.tokenizer, lines, 5,
                        dev.kiln.inference.LengthBatches.size(dev.kiln.inference.LengthBatches.DEFAULT_SIZE));
                List<JsonObject> out = new java.util.ArrayList<>(lines.size());
                for (int i = 0; i < lines.size(); i++) {
                    JsonObject r = new JsonObject();
                    r.addProperty("text", lines.get(i));
                    com.google.gson.JsonArray cands = new com.google.gson.JsonArray();
                    for (FillMask.Candidate c : got.get(i)) {
                        JsonObject o = new JsonObject();
                        o.addProperty("token", c.token());
                        o.addProperty("score", c.score());
                        cands.add(o);
                    }
                    r.add("candidates", cands);
                    out.add(r);
                }
                return out;
            });
        }

        /** Held-out MLM (and NSP) metrics on a text file or folder, with the fixed evaluation masks. */
        @Override
        public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
            return PretrainProviders.evaluate(modelDir, BertPretrainTask.TYPE, device, data, (dir, meta, m, tok, tmp) -> {
                boolean nsp = meta.get("nsp").getAsBoolean();
                int len = meta.get("max_length").getAsInt();
                BertModel.Heads h = new BertModel.Heads();
                h.mlm = true;
                h.nsp = nsp;
                h.pooler = nsp;
                BertModel bert = loadBert(dir, m, h);
                TokenStore st = tempStore("bert", dir, meta, data, tok, tmp);
                BertPretrainOptions o = new BertPretrainOptions();
                o.nsp = nsp;
                BertPairs pairs = BertPairs.open(st, 0, st.documents(), len, o.shortSeqProb, nsp, 42);
                return new BertPretrainTask(bert, tok, pairs, pairs, masker(tok, o, len), o, 42, dir, "", len, 0f, () -> { });
            });
        }
    }
}
