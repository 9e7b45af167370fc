package dev.kiln.tasks.summarization;

import dev.kiln.models.gpt2.Gpt2Architecture;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.Pretrained;
import dev.kiln.train.PredictLines;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskProvider;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Registers {@code summarize-gpt} (abstractive summarization with GPT-2) with the config system and the CLI. */
public final class GptSummarizationProvider implements TaskProvider {
    /** The fewest article tokens a training sequence must keep. */
    static final int MIN_ARTICLE_TOKENS = 16;

    @Override
    public String type() {
        return GptSummarizationTask.TYPE;
    }

    @Override
    public void registerConfig() {
        ConfigRegistry.registerTask(GptSummarizationTask.TYPE, GptSummaryOptions.class, SummaryData.class)
                .mainMetric("rougeL", RunConfig.Mode.MAX);
    }

    @Override
    public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
        GptSummaryOptions opts = cfg.taskOptions(GptSummaryOptions.class);
        SummaryDataSet ds = SummaryDataSet.of(cfg);
        SummaryDataSet.Parts parts = ds.load(cfg);
        Pretrained pre = Pretrained.load(cfg, manager, Pretrained.Need.of(GptSummarizationTask.TYPE, Gpt2Architecture.class,
                "a GPT-2 (causal LM) folder, e.g. one from kiln init-gpt2 or from pretraining"));
        Path dir = pre.dir();
        Gpt2Model model = (Gpt2Model) pre.backbone();
        Tokenizer tok = pre.tokenizer();
        GptPrompt prompt = new GptPrompt(tok, opts.promptTemplate);
        int left = cfg.data.maxLength - prompt.overhead() - opts.maxSummaryTokens - 1;
        if (left < MIN_ARTICLE_TOKENS) {
            tok.close();
            throw cfg.error("task.max_summary_tokens", "is " + opts.maxSummaryTokens + ": with the prompt template ("
                    + prompt.overhead() + " tokens) and EOS that leaves " + left + " article tokens of data.max_length "
                    + cfg.data.maxLength + "; at least " + MIN_ARTICLE_TOKENS + " are needed");
        }
        if (GptSummarizationTask.articleBudget(prompt, cfg.data.maxLength, model.config.nPositions,
                opts.generation.maxNewTokens) < MIN_ARTICLE_TOKENS) {
            tok.close();
            throw cfg.error("task.generation.max_new_tokens", "is " + opts.generation.maxNewTokens
                    + ": it leaves fewer than " + MIN_ARTICLE_TOKENS + " article tokens in the prompt within "
                    + Math.min(cfg.data.maxLength, model.config.nPositions) + " positions");
        }
        GptSummarizationTask.Settings s = new GptSummarizationTask.Settings();
        s.options = opts;
        s.maxLength = cfg.data.maxLength;
        s.labelSmoothing = (float) cfg.training.labelSmoothing;
        s.data = ds;
        return new GptSummarizationTask(model, tok, dir, parts.train(), parts.dev(), s);
    }

    /**
     * Input lines: the article as plain text, or {"article": ...} (the model's article field also works); a line
     * with the run's title field loses the article's title line as in training, unless "keep_title": true.
     */
    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        TaskFolder.Found f = TaskFolder.find(modelDir, GptSummarizationTask.TYPE);
        SummaryDataSet ds = SummaryDataSet.fromJson(f.meta().getAsJsonObject("data"));
        Summarizer s = Summarizer.load(f.dir(), device);
        return PredictLines.predictor(s, in -> {
            int n = in.number();
            String raw = in.text();
            JsonObject o = in.json();
            String article = ds.predictArticle(raw, o, n);
            JsonObject r = new JsonObject();
            String id = o == null ? null : PredictLines.string(o, "id", n, false);
            if (id != null) r.addProperty("id", id);
            r.addProperty("summary", s.summarize(article));
            return r;
            });
    }

    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
        Path dir = TaskFolder.resolve(modelDir);
        JsonObject meta = TaskFolder.requireTask(dir, GptSummarizationTask.TYPE);
        SummaryDataSet ds = SummaryDataSet.fromJson(meta.getAsJsonObject("data"));
        String[] part = new String[1];
        java.util.List<ArticleSummary> rows = ds.evaluationExamples(data, part);
        try (Summarizer s = Summarizer.load(dir, device)) {
            GptSummarizationTask.Generated g = GptSummarizationTask.generate(s.generator(), s.prompt(), rows,
                s.maxLength(), s.defaults());
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", dir.toString());
            out.put("data", data.toString());
            out.put("examples", part[0] + ": " + rows.size());
            out.putAll(SummaryScores.metrics(SummaryScores.score(g.lines(), GptSummarizationTask.references(rows),
                meta.get("rouge_stemmer").getAsBoolean()), ""));
            out.put("gen_len", g.meanTokens());
            return out;
        }
    }
}
