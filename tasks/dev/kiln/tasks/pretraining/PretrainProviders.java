package dev.kiln.tasks.pretraining;

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

    public static final class Gpt implements TaskProvider {
        @Override public String type() { return GptPretrainTask.TYPE; }

        @Override
        public void registerConfig() {
            ConfigRegistry.registerTask(GptPretrainTask.TYPE, PretrainOptions.class, PretrainData.class)
                    .mainMetric("loss", RunConfig.Mode.MIN).newModels(true);
        }

        @Override
        public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
            PretrainSetup s = new PretrainSetup(cfg, "gpt");
            try {
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
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        }

        /** One JSON line per input line: its tokens' perplexity under the model. */
        @Override
        public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
            TaskFolder.Opened f = TaskFolder.open(modelDir, GptPretrainTask.TYPE, device, (dir, meta, m) -> {
                Gpt2Model g = HfFolder.loadGpt2(PeftFolder.weightsFolder(dir), m, null, PeftFolder.strictness(dir, HfFolder.Strictness.STRICT));
                PeftFolder.applyTo(dir, g); // a PEFT run's folder: base model + adapter
                return g;
            });
            Gpt2Model gpt = (Gpt2Model) f.backbone;
            Tokenizer tok = f.tokenizer;
            TextEncoder enc = TextEncoder.of(tok);
            return PredictLines.predictor(f, in -> {
                String line = in.text();
                int[] ids = enc.encode(line);
                long[] all = new long[ids.length + 1];
                all[0] = tok.eosId(); // a text starts after an end-of-text, as in training
                for (int i = 0; i < ids.length; i++) all[i + 1] = ids[i];
                LmScorer.Score sc = LmScorer.score(gpt, java.util.Arrays.copyOf(all, Math.min(all.length, gpt.config.nPositions)));
                JsonObject r = new JsonObject();
                r.addProperty("text", line);
                r.addProperty("tokens", ids.length);
                r.addProperty("perplexity", sc.perplexity());
                return r;
            });
        }

        /** Held-out loss and perplexity of the model on a text file or folder. */
        @Override
        public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
            Path dir = TaskFolder.resolve(modelDir);
            JsonObject meta = TaskFolder.requireTask(dir, GptPretrainTask.TYPE);
            Path tmp = Files.createTempDirectory("kiln-eval-");
            try (NDManager m = NDManager.newBaseManager(Devices.parse(device)); Tokenizer tok = Tokenizer.load(dir)) {
                Gpt2Model gpt = HfFolder.loadGpt2(PeftFolder.weightsFolder(dir), m, null, PeftFolder.strictness(dir, HfFolder.Strictness.STRICT));
                PeftFolder.applyTo(dir, gpt); // a PEFT run's folder: base model + adapter
                TokenStore st = tempStore("gpt", dir, meta, data, tok, tmp);
                GptBlocks blocks = GptBlocks.all(st, meta.get("block_size").getAsInt());
                if (blocks.size() == 0) throw new IllegalArgumentException(data + ": fewer tokens than one block");
                GptPretrainTask t = new GptPretrainTask(gpt, blocks, blocks, new PretrainOptions(), dir, "", 0f, () -> { });
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("model", dir.toString());
                out.put("data", data.toString());
                out.putAll(t.evaluate(m));
                return out;
            } finally {
                HfFolder.deleteTree(tmp);
            }
        }
    }

    public static final class Bert implements TaskProvider {
        @Override public String type() { return BertPretrainTask.TYPE; }

        @Override
        public void registerConfig() {
            ConfigRegistry.registerTask(BertPretrainTask.TYPE, BertPretrainOptions.class, PretrainData.class)
                    .mainMetric("mlm_loss", RunConfig.Mode.MIN).newModels(true);
        }

        static MlmMasker masker(Tokenizer tok, BertPretrainOptions o, int maxLength) {
            int maxPred = o.maxPredictionsPerSeq != null ? o.maxPredictionsPerSeq : (int) Math.ceil(o.mlmProbability * maxLength);
            return new MlmMasker(tok, o.mlmProbability, o.maskReplaceProb, o.randomReplaceProb, maxPred, o.wholeWordMasking);
        }

        @Override
        public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
            BertPretrainOptions o = cfg.taskOptions(BertPretrainOptions.class);
            PretrainSetup s = new PretrainSetup(cfg, "bert");
            try {
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
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        }

        /** Fill-mask for each input line that has a [MASK]: the top 5 tokens. */
        @Override
        public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
            TaskFolder.Opened f = TaskFolder.open(modelDir, BertPretrainTask.TYPE, device, (dir, meta, m) -> {
                BertModel.Heads h = BertModel.Heads.encoderOnly();
                h.mlm = true;
                BertModel b = HfFolder.loadBert(PeftFolder.weightsFolder(dir), m, h, null, PeftFolder.strictness(dir, HfFolder.Strictness.TASK_FOLDER));
                PeftFolder.applyTo(dir, b); // a PEFT run's folder: base model + adapter
                return b;
            });
            BertModel bert = (BertModel) f.backbone;
            return PredictLines.predictor(f, in -> {
                String line = in.text();
                JsonObject r = new JsonObject();
                r.addProperty("text", line);
                com.google.gson.JsonArray cands = new com.google.gson.JsonArray();
                for (FillMask.Candidate c : FillMask.predict(bert, f.tokenizer, line, 5)) {
                    JsonObject o = new JsonObject();
                    o.addProperty("token", c.token());
                    o.addProperty("score", c.score());
                    cands.add(o);
                }
                r.add("candidates", cands);
                return r;
            });
        }

        /** Held-out MLM (and NSP) metrics on a text file or folder, with the fixed evaluation masks. */
        @Override
        public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
            Path dir = TaskFolder.resolve(modelDir);
            JsonObject meta = TaskFolder.requireTask(dir, BertPretrainTask.TYPE);
            boolean nsp = meta.get("nsp").getAsBoolean();
            int len = meta.get("max_length").getAsInt();
            Path tmp = Files.createTempDirectory("kiln-eval-");
            try (NDManager m = NDManager.newBaseManager(Devices.parse(device)); Tokenizer tok = Tokenizer.load(dir)) {
                BertModel.Heads h = new BertModel.Heads();
                h.mlm = true;
                h.nsp = nsp;
                h.pooler = nsp;
                BertModel bert = HfFolder.loadBert(PeftFolder.weightsFolder(dir), m, h, null, PeftFolder.strictness(dir, HfFolder.Strictness.TASK_FOLDER));
                PeftFolder.applyTo(dir, bert); // a PEFT run's folder: base model + adapter
                TokenStore st = tempStore("bert", dir, meta, data, tok, tmp);
                BertPretrainOptions o = new BertPretrainOptions();
                o.nsp = nsp;
                BertPairs pairs = BertPairs.open(st, 0, st.documents(), len, o.shortSeqProb, nsp, 42);
                BertPretrainTask t = new BertPretrainTask(bert, tok, pairs, pairs, masker(tok, o, len), o, 42, dir, "", len, 0f, () -> { });
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("model", dir.toString());
                out.put("data", data.toString());
                out.putAll(t.evaluate(m));
                return out;
            } finally {
                HfFolder.deleteTree(tmp);
            }
        }
    }
}
