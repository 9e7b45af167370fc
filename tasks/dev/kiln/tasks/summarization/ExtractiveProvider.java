package dev.kiln.tasks.summarization;

import dev.kiln.models.bert.BertArchitecture;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.models.bert.BertModel;
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

    /**
     * Input lines: the article as plain text, or {"article": ..., "k": 3}; a line with the run's title field
     * (BBC: "title") loses the article's title line as in training and {@code evaluate}, unless "keep_title": true.
     */
    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        TaskFolder.Found f = TaskFolder.find(modelDir, ExtractiveTask.TYPE);
        SummaryDataSet ds = SummaryDataSet.fromJson(f.meta().getAsJsonObject("data"));
        ExtractiveSummarizer s = ExtractiveSummarizer.load(f.dir(), device);
        return PredictLines.predictor(s, in -> {
            int n = in.number();
            String raw = in.text();
            JsonObject o = in.json();
            String article = ds.predictArticle(raw, o, n);
            int k = o == null ? s.defaultK() : PredictLines.integer(o, "k", n, s.defaultK());
            if (k < 1) throw new IllegalArgumentException("input line " + n + ": \"k\" must be at least 1");
            ExtractiveSummarizer.Extract e = s.extract(article, k);
            JsonObject r = new JsonObject();
            String id = o == null ? null : PredictLines.string(o, "id", n, false);
            if (id != null) r.addProperty("id", id);
            r.addProperty("summary", e.summary());
            JsonArray idx = new JsonArray();
            for (int i : e.selected()) idx.add(i);
            r.add("sentence_indexes", idx);
            JsonArray sents = new JsonArray();
            e.summarySentences().forEach(sents::add);
            r.add("sentences", sents);
            return r;
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
        boolean stem = meta.get("rouge_stemmer").getAsBoolean();
        try (ExtractiveSummarizer s = ExtractiveSummarizer.load(dir, device)) {
            List<String> articles = new ArrayList<>();
            List<String> refs = new ArrayList<>();
            for (ArticleSummary a : rows) {
            articles.add(a.article());
            refs.add(a.summary());
            }
            int k = s.defaultK();
            List<String> model = new ArrayList<>();
            List<String> lead = new ArrayList<>();
            for (ExtractiveSummarizer.Extract e : s.extractBatch(articles, k, 8)) {
            model.add(Extraction.lines(e.sentences(), e.selected()));
            lead.add(Extraction.lines(e.sentences(), Extraction.lead(e.sentences().size(), k)));
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", dir.toString());
            out.put("data", data.toString());
            out.put("examples", part[0] + ": " + rows.size());
            out.put("k", k);
            out.putAll(SummaryScores.metrics(SummaryScores.score(model, refs, stem), ""));
            out.putAll(SummaryScores.metrics(SummaryScores.score(lead, refs, stem), "lead" + k + "_"));
            return out;
        }
    }
}
