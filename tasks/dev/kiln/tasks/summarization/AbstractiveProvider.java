package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.train.PredictLines;
import dev.kiln.train.TaskProvider;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Registration, {@code predict} and {@code evaluate} of an abstractive summarization task, alike for GPT-2 and the
 * BERT encoder-decoder: they differ in how a run starts ({@link #create}) and how a saved model is opened ({@link #open}).
 */
abstract class AbstractiveProvider implements TaskProvider {
    private final String type;
    private final Class<? extends AbstractiveOptions> options;

    AbstractiveProvider(String type, Class<? extends AbstractiveOptions> options) {
        this.type = type;
        this.options = options;
    }

    @Override
    public String type() {
        return type;
    }

    @Override
    public void registerConfig() {
        ConfigRegistry.registerTask(type, options, SummaryData.class).mainMetric(AbstractiveTask.MAIN_METRIC);
    }

    /** The task's summarizer class and how it opens a run or model folder. */
    @Override
    public abstract Typed<? extends SummaryModel> typed();

    /** The saved model of a run or model folder. */
    private SummaryModel open(Path modelDir, String device) throws IOException {
        return typed().loader().load(modelDir, device);
    }

    /**
     * Input lines: the article as plain text, or {"article": ..., "title": ...} (the model's field names also work);
     * the title line is removed as training and {@code evaluate} remove it, unless "keep_title": true. A chunk of
     * lines goes to {@link SummaryModel#summarizeAll} at once (batched by length where the model batches).
     */
    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        SummaryModel s = open(modelDir, device);
        SummaryDataSet ds = dataSet(s);
        return PredictLines.batched(s, ins -> {
            List<String> articles = new ArrayList<>(ins.size());
            List<String> ids = new ArrayList<>(ins.size());
            for (PredictLines.Input in : ins) {
                JsonObject o = in.json();
                articles.add(ds.predictArticle(in.text(), o, in.number()));
                ids.add(o == null ? null : PredictLines.string(o, "id", in.number(), false));
            }
            List<String> got = s.summarizeAll(articles);
            List<JsonObject> out = new ArrayList<>(got.size());
            for (int i = 0; i < got.size(); i++) {
                JsonObject r = new JsonObject();
                if (ids.get(i) != null) r.addProperty("id", ids.get(i));
                r.addProperty("summary", got.get(i));
                out.add(r);
            }
            return out;
        });
    }

    /** How the model's run read its data; closes the model when its metadata is bad. */
    private static SummaryDataSet dataSet(SummaryModel s) {
        try {
            return SummaryDataSet.fromJson(s.meta().getAsJsonObject("data"));
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
        try (SummaryModel s = open(modelDir, device)) {
            SummaryDataSet ds = SummaryDataSet.fromJson(s.meta().getAsJsonObject("data"));
            String[] part = new String[1];
            List<ArticleSummary> rows = ds.evaluationExamples(data, part);
            long t0 = System.nanoTime();
            SummaryOutputs o = outputs(s, rows);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", s.modelDir().toString());
            out.put("data", data.toString());
            out.put("examples", part[0] + ": " + rows.size());
            out.putAll(o.metrics());
            out.put("examples_per_s", rows.size() / Math.max(1e-9, (System.nanoTime() - t0) / 1e9));
            return out;
        }
    }

    /** The model's summaries of {@code rows} with its saved generation settings, and their references. */
    private static SummaryOutputs outputs(SummaryModel s, List<ArticleSummary> rows) {
        AbstractiveTask.Generated g = s.generate(rows);
        return new SummaryOutputs(g.lines(), AbstractiveTask.references(rows), null, g.tokens(), 0,
                s.meta().get("rouge_stemmer").getAsBoolean());
    }

    /** {@link #evaluate} in slices (the Spark evaluate job): summaries generated where the rows are, ROUGE once over all. */
    @Override
    public Evaluation evaluation() {
        return Evaluation.of((modelDir, device, options) -> {
            SummaryDataSet.refuseDataOptions(type, options);
            SummaryModel s = open(modelDir, device);
            SummaryDataSet ds = dataSet(s);
            return Scorer.of(s, (source, lines) -> outputs(s, ds.records(lines, source)));
        }, all -> ((SummaryOutputs) all).metrics());
    }
}
