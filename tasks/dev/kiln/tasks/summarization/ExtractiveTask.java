package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.config.MainMetric;
import dev.kiln.metrics.Rouge;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Losses;
import dev.kiln.nn.Parameters;
import dev.kiln.text.SentenceSplitter;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Extractive summarization with BERT: articles are split into sentences, every sentence gets a score
 * from its vector (see {@link SentenceInputs}, {@link SentenceScorer}), trained with binary cross-entropy
 * (mean over sentences) against oracle labels from the reference; a summary is the top-k sentences in
 * document order with trigram blocking.
 */
public final class ExtractiveTask implements TrainableTask {
    /** The extracted summary's ROUGE-L against the reference, the best/ checkpoint's criterion. */
    public static final MainMetric MAIN_METRIC = MainMetric.max("rougeL");

    public static final String TYPE = "summarize-extractive";

    /** One article: its sentences, the encoded input and a label per covered sentence. */
    record Example(List<String> sentences, SentenceInputs.Encoded input, float[] labels, String summary) {}

    final SentenceScorer scorer;
    final Path modelDir;
    final ExtractiveOptions opts;
    final SummaryDataSet data;
    final List<Example> train;
    final List<Example> dev;
    /** Share of training sentences labelled 1 (saved with the model, to sanity-check labels). */
    final double positiveRate;

    ExtractiveTask(SentenceScorer scorer, Path modelDir, ExtractiveOptions opts, SummaryDataSet data,
                   List<ArticleSummary> trainData, List<ArticleSummary> devData) {
        this.scorer = scorer;
        this.modelDir = modelDir;
        this.opts = opts;
        this.data = data;
        Rouge rouge = new Rouge(opts.rougeStemmer);
        this.train = examples(trainData, rouge);
        this.dev = examples(devData, rouge);
        long pos = 0;
        long all = 0;
        for (Example e : train) {
            for (float l : e.labels()) pos += l > 0 ? 1 : 0;
            all += e.labels().length;
        }
        this.positiveRate = all == 0 ? 0 : pos / (double) all;
    }

    private List<Example> examples(List<ArticleSummary> rows, Rouge rouge) {
        List<Example> out = new ArrayList<>(rows.size());
        for (ArticleSummary a : rows) {
            List<String> sents = SentenceSplitter.sentences(a.article());
            SentenceInputs.Encoded enc = scorer.encode(sents);
            // labels among the sentences the model sees: the oracle picks the best summary it can produce
            boolean[] lab = Extraction.labels(opts.labels, sents.subList(0, enc.covered()), a.summary(), opts.oracleMaxSentences, rouge);
            float[] y = new float[enc.covered()];
            for (int i = 0; i < y.length; i++) y[i] = lab[i] ? 1f : 0f;
            out.add(new Example(sents, enc, y, a.summary()));
        }
        return out;
    }

    record HostBatch(SentenceScorer.Inputs in, float[] labels) implements Batch {
        public int size() { return in.x().ids().length; }
        public long targets() { return labels.length; }
        public long tokens() { return in.x().tokens(); }
        public long paddedTokens() { return in.x().padded(); }
    }

    private HostBatch batch(List<Example> ex) {
        List<SentenceInputs.Encoded> encs = new ArrayList<>();
        int n = 0;
        for (Example e : ex) {
            encs.add(e.input());
            n += e.labels().length;
        }
        float[] y = new float[n];
        int k = 0;
        for (Example e : ex) for (float l : e.labels()) y[k++] = l;
        return new HostBatch(scorer.inputs(encs), y);
    }

    @Override public Parameters parameters() { return scorer.bert.params; }
    @Override public Backbone backbone() { return scorer.bert; }

    /** Every parameter but the embedding tables: a sentence scorer only looks them up (no vocabulary projection). */
    @Override
    public long flopParameters() {
        return scorer.bert.root().matmulParameterCount();
    }
    @Override public int trainSize() { return train.size(); }
    @Override public MainMetric declaredMainMetric() { return MAIN_METRIC; }

    @Override
    public Batch collate(int[] indexes) {
        List<Example> ex = new ArrayList<>();
        for (int i : indexes) ex.add(train.get(i));
        return batch(ex);
    }

    @Override
    public Loss loss(Batch batch, NDManager m, boolean training) {
        HostBatch b = (HostBatch) batch;
        NDArray logits = scorer.logits(b.in(), m, training);
        return new Loss(Losses.binaryCrossEntropySum(logits, m.create(b.labels())));
    }

    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        if (dev.isEmpty()) return Map.of();
        List<Example> ex = opts.evalMaxExamples == null ? dev : dev.subList(0, Math.min(dev.size(), opts.evalMaxExamples));
        double lossSum = 0;
        long n = 0;
        List<String> preds = new ArrayList<>();
        List<String> refs = new ArrayList<>();
        for (int s = 0; s < ex.size(); s += opts.evalBatchSize) {
            List<Example> chunk = ex.subList(s, Math.min(ex.size(), s + opts.evalBatchSize));
            HostBatch b = batch(chunk);
            float[] flat;
            try (NDManager m = parent.newSubManager()) {
                NDArray logits = scorer.logits(b.in(), m, false);
                lossSum += Losses.binaryCrossEntropySum(logits, m.create(b.labels())).getFloat();
                flat = logits.toFloatArray();
            }
            n += b.targets();
            int k = 0;
            for (Example e : chunk) {
                float[] sc = new float[e.input().covered()];
                System.arraycopy(flat, k, sc, 0, sc.length);
                k += sc.length;
                preds.add(Extraction.lines(e.sentences(), Extraction.select(sc, e.sentences(), opts.topK, opts.trigramBlocking)));
                refs.add(e.summary());
            }
        }
        Map<String, Double> out = new LinkedHashMap<>(SummaryScores.metrics(SummaryScores.score(preds, refs, opts.rougeStemmer), ""));
        out.put("loss", lossSum / Math.max(1, n));
        out.putAll(baselines(ex));
        lastEval = SummaryScores.outputs(preds, refs);
        return out;
    }

    private dev.kiln.train.EvalOutputs.Texts lastEval;

    @Override
    public dev.kiln.train.EvalOutputs evalOutputs() {
        return lastEval;
    }

    private Map<String, Double> baselines;

    /**
     * What the model must beat on these dev examples, computed once: lead-k's ROUGE-1/L and the loss of a
     * constant score at the training positive rate (the loss of a scorer that learnt only the label prior).
     */
    private Map<String, Double> baselines(List<Example> ex) {
        if (baselines != null) return baselines;
        List<String> lead = new ArrayList<>();
        List<String> refs = new ArrayList<>();
        double prior = 0;
        long n = 0;
        double p = Math.min(1 - 1e-6, Math.max(1e-6, positiveRate));
        for (Example e : ex) {
            lead.add(Extraction.lines(e.sentences(), Extraction.lead(e.sentences().size(), opts.topK)));
            refs.add(e.summary());
            for (float y : e.labels()) prior -= y > 0 ? Math.log(p) : Math.log(1 - p);
            n += e.labels().length;
        }
        Map<String, Double> lk = SummaryScores.metrics(SummaryScores.score(lead, refs, opts.rougeStemmer), "lead" + opts.topK + "_");
        baselines = new LinkedHashMap<>();
        baselines.put("lead" + opts.topK + "_rouge1", lk.get("lead" + opts.topK + "_rouge1"));
        baselines.put("lead" + opts.topK + "_rougeL", lk.get("lead" + opts.topK + "_rougeL"));
        baselines.put("prior_loss", prior / Math.max(1, n));
        return baselines;
    }

    @Override
    public void save(Path dir) throws IOException {
        JsonObject meta = new JsonObject();
        meta.addProperty("max_length", scorer.maxLength);
        meta.addProperty("top_k", opts.topK);
        meta.addProperty("trigram_blocking", opts.trigramBlocking);
        meta.addProperty("rouge_stemmer", opts.rougeStemmer);
        meta.addProperty("labels", opts.labels);
        meta.addProperty("train_positive_rate", positiveRate);
        meta.addProperty("sentence_vector", scorer.sentenceVector());
        meta.addProperty("input", "bertsum: [CLS] sentence [SEP] per sentence, interval segments; score = classifier(sentence vector)");
        meta.add("data", data.toJson());
        // Sentence scoring (the logit at each sentence's [CLS], BertSum inputs) is no HF head class: the folder is a
        // BertModel for HF, the scorer's classifier.* lives in kiln_head.safetensors (docs/export.md).
        TaskFolder.saveWithKilnHead(dir, TYPE, scorer.bert, null, scorer.bert.params.stateDict(),
                java.util.List.of(SentenceScorer.HEAD + "."), modelDir, meta);
    }

    @Override
    public void close() {
        scorer.tok.close();
    }
}
