package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.train.PredictLines;
import dev.kiln.train.TaskProvider;

import java.io.IOException;
import java.nio.file.Path;
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
     * the title line is removed as training and {@code evaluate} remove it, unless "keep_title": true.
     */
    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        SummaryModel s = open(modelDir, device);
        SummaryDataSet ds;
        try {
            ds = SummaryDataSet.fromJson(s.meta().getAsJsonObject("data"));
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return PredictLines.predictor(s, in -> {
            int n = in.number();
            JsonObject o = in.json();
            String article = ds.predictArticle(in.text(), o, n);
            JsonObject r = new JsonObject();
            String id = o == null ? null : PredictLines.string(o, "id", n, false);
            if (id != null) r.addProperty("id", id);
            r.addProperty("summary", s.summarize(article));
            return r;
        });
    }

    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
        try (SummaryModel s = open(modelDir, device)) {
            JsonObject meta = s.meta();
            SummaryDataSet ds = SummaryDataSet.fromJson(meta.getAsJsonObject("data"));
            String[] part = new String[1];
            List<ArticleSummary> rows = ds.evaluationExamples(data, part);
            AbstractiveTask.Generated g = s.generate(rows);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", s.modelDir().toString());
            out.put("data", data.toString());
            out.put("examples", part[0] + ": " + rows.size());
            out.putAll(SummaryScores.metrics(SummaryScores.score(g.lines(), AbstractiveTask.references(rows),
                    meta.get("rouge_stemmer").getAsBoolean()), ""));
            out.put("gen_len", g.meanTokens());
            return out;
        }
    }
}
