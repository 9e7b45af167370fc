package dev.kiln.tasks.summarization;

import dev.kiln.models.bert.BertArchitecture;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.models.bert.BertModel;
import dev.kiln.inference.LengthBatches;
import dev.kiln.train.Pretrained;
import dev.kiln.train.PredictLines;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskProvider;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Registers {@code summarize-extractive} (sentence extraction with BERT) with the config system and the CLI. */
public final class ExtractiveProvider implements TaskProvider {

    @Override
    public String type() {
        return ExtractiveTask.TYPE;
    }

    @Override
    public void registerConfig() {
        ConfigRegistry.registerTask(ExtractiveTask.TYPE, ExtractiveOptions.class, SummaryData.class)
                .mainMetric(ExtractiveTask.MAIN_METRIC);
    }

    @Override
    public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
        ExtractiveOptions opts = cfg.taskOptions(ExtractiveOptions.class);
        SummaryDataSet ds = SummaryDataSet.of(cfg);
        SummaryDataSet.Parts parts = ds.load(cfg);
        Pretrained pre = Pretrained.load(cfg, manager, Pretrained.Need.of(ExtractiveTask.TYPE, BertArchitecture.class,
                "a BERT-style encoder (e.g. all-MiniLM-L6-v2, bert-base-uncased)").loadedBy((arch, dir, m, dropout) ->
                // no pooler: sentence vectors come from the last layer's token states
                HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly(),
                        dropout == null ? new JsonObject() : arch.dropoutOverride(dropout))));
        SentenceScorer scorer = new SentenceScorer((BertModel) pre.backbone(), pre.tokenizer(), cfg.data.maxLength, opts.sentenceVector);
        return new ExtractiveTask(scorer, pre.dir(), opts, ds, parts.train(), parts.dev());
    }

    /** {@code Kiln.predictor(run, ExtractiveSummarizer.class)}. */
    @Override
    public Typed<ExtractiveSummarizer> typed() {
        return new Typed<>(ExtractiveSummarizer.class, ExtractiveSummarizer::load);
    }

    /** Articles per forward pass in predict and evaluate, unless {@code --batch-size} says otherwise. */
    static final int BATCH_SIZE = 8;

    /**
     * Input lines: the article as plain text, or {"article": ..., "k": 3}; a line with the run's title field
     * (BBC: "title") loses the article's title line as in training and {@code evaluate}, unless "keep_title": true.
     * A chunk of lines is scored in length-sorted batches ({@code --batch-size}); the output does not depend on it.
     */
    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        TaskFolder.Found f = TaskFolder.find(modelDir, ExtractiveTask.TYPE);
        SummaryDataSet ds = SummaryDataSet.fromJson(f.meta().getAsJsonObject("data"));
        ExtractiveSummarizer s = ExtractiveSummarizer.load(f.dir(), device);
        return PredictLines.batched(s, ins -> {
            List<String> articles = new ArrayList<>(ins.size());
            int[] ks = new int[ins.size()];
            List<String> ids = new ArrayList<>(ins.size());
            for (int i = 0; i < ins.size(); i++) {
                PredictLines.Input in = ins.get(i);
                int n = in.number();
                JsonObject o = in.json();
                articles.add(ds.predictArticle(in.text(), o, n));
                ks[i] = o == null ? s.defaultK() : PredictLines.integer(o, "k", n, s.defaultK());
                if (ks[i] < 1) throw new IllegalArgumentException("input line " + n + ": \"k\" must be at least 1");
                ids.add(o == null ? null : PredictLines.string(o, "id", n, false));
            }
            List<ExtractiveSummarizer.Extract> got = s.extractBatch(articles, ks, LengthBatches.size(BATCH_SIZE));
            List<JsonObject> out = new ArrayList<>(got.size());
            for (int i = 0; i < got.size(); i++) {
                ExtractiveSummarizer.Extract e = got.get(i);
                JsonObject r = new JsonObject();
                if (ids.get(i) != null) r.addProperty("id", ids.get(i));
                r.addProperty("summary", e.summary());
                JsonArray idx = new JsonArray();
                for (int j : e.selected()) idx.add(j);
                r.add("sentence_indexes", idx);
                JsonArray sents = new JsonArray();
                e.summarySentences().forEach(sents::add);
                r.add("sentences", sents);
                out.add(r);
            }
            return out;
        });
    }

    /** ROUGE of the model's top-k summaries and, for comparison, of lead-k on the same examples. */
    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
        Path dir = TaskFolder.resolve(modelDir);
        JsonObject meta = TaskFolder.requireTask(dir, ExtractiveTask.TYPE);
        SummaryDataSet ds = SummaryDataSet.fromJson(meta.getAsJsonObject("data"));
        String[] part = new String[1];
        List<ArticleSummary> rows = ds.evaluationExamples(data, part);
        try (ExtractiveSummarizer s = ExtractiveSummarizer.load(dir, device)) {
            long t0 = System.nanoTime();
            SummaryOutputs o = outputs(s, rows, meta.get("rouge_stemmer").getAsBoolean());
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", dir.toString());
            out.put("data", data.toString());
            out.put("examples", part[0] + ": " + rows.size());
            out.putAll(o.metrics());
            out.put("examples_per_s", rows.size() / Math.max(1e-9, (System.nanoTime() - t0) / 1e9));
            return out;
        }
    }

    /** The model's and lead-k's summaries of {@code rows}, batched by length ({@code --batch-size}). */
    static SummaryOutputs outputs(ExtractiveSummarizer s, List<ArticleSummary> rows, boolean stem) {
        List<String> articles = new ArrayList<>(rows.size());
        for (ArticleSummary a : rows) articles.add(a.article());
        int k = s.defaultK();
        List<String> model = new ArrayList<>(rows.size());
        List<String> lead = new ArrayList<>(rows.size());
        for (ExtractiveSummarizer.Extract e : s.extractBatch(articles, k, LengthBatches.size(BATCH_SIZE))) {
            model.add(Extraction.lines(e.sentences(), e.selected()));
            lead.add(Extraction.lines(e.sentences(), Extraction.lead(e.sentences().size(), k)));
        }
        return new SummaryOutputs(model, AbstractiveTask.references(rows), lead, null, k, stem);
    }

    /** {@link #evaluate} in slices (the Spark evaluate job): rows read with the run's data settings, ROUGE once over all. */
    @Override
    public Evaluation evaluation() {
        return Evaluation.of((modelDir, device, options) -> {
            SummaryDataSet.refuseDataOptions(ExtractiveTask.TYPE, options);
            Path dir = TaskFolder.resolve(modelDir);
            JsonObject meta = TaskFolder.requireTask(dir, ExtractiveTask.TYPE);
            SummaryDataSet ds = SummaryDataSet.fromJson(meta.getAsJsonObject("data"));
            boolean stem = meta.get("rouge_stemmer").getAsBoolean();
            ExtractiveSummarizer s = ExtractiveSummarizer.load(dir, device);
            return Scorer.of(s, (source, lines) -> outputs(s, ds.records(lines, source), stem));
        }, all -> ((SummaryOutputs) all).metrics());
    }
}
