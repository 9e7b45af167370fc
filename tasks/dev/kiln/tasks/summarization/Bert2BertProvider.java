package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;


import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.Architecture;
import dev.kiln.models.Architectures;
import dev.kiln.models.bert.BertArchitecture;
import dev.kiln.models.encdec.EncoderDecoderArchitecture;
import dev.kiln.models.encdec.EncoderDecoderModel;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.PredictLines;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskProvider;
import dev.kiln.train.TrainableTask;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Registers {@code summarize-bert2bert}: abstractive summarization with a BERT encoder-decoder, warm-started from a
 * BERT folder (or continued from an encoder-decoder folder).
 */
public final class Bert2BertProvider implements TaskProvider {

    @Override
    public String type() {
        return Bert2BertTask.TYPE;
    }

    @Override
    public void registerConfig() {
        ConfigRegistry.registerTask(Bert2BertTask.TYPE, Bert2BertOptions.class, SummaryData.class)
                .mainMetric("rougeL", RunConfig.Mode.MAX);
    }

    @Override
    public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
        Bert2BertOptions opts = cfg.taskOptions(Bert2BertOptions.class);
        SummaryDataSet ds = SummaryDataSet.of(cfg);
        SummaryDataSet.Parts parts = ds.load(cfg);
        Path dir = ModelZoo.resolve(cfg.model.name);
        Architecture arch = Architectures.of(dir);
        Float dropout = cfg.model.dropout == null ? null : cfg.model.dropout.floatValue();
        Tokenizer tok = arch.loadTokenizer(dir);
        EncoderDecoderModel model;
        try {
            if (arch instanceof BertArchitecture) {
                if (dev.kiln.peft.PeftSpec.fromConfig(cfg) != null) {
                    throw cfg.error("peft.method", "cannot start from a BERT: a warm start's cross-attention and LM head are new "
                            + "and must train in full; train the encoder-decoder first, then fine-tune its folder with PEFT");
                }
                int pad = tok.padId() != null && tok.padId() >= 0 ? tok.padId() : 0;
                model = EncoderDecoderArchitecture.warmStart(dir, manager, opts.shareEncoderDecoder, dropout,
                        tok.clsId(), pad, tok.sepId());
            } else if (arch instanceof EncoderDecoderArchitecture) {
                model = EncoderDecoderArchitecture.load(dir, manager, dropout, HfFolder.Strictness.STRICT);
                if (opts.shareEncoderDecoder && !model.config.tieEncoderDecoder) {
                    throw cfg.error("task.share_encoder_decoder", "is true but " + cfg.model.name
                            + " is an encoder-decoder with separate weights; sharing is chosen at the warm start from a BERT");
                }
            } else {
                throw cfg.error("model.name", "is a " + arch.displayName() + " model; " + Bert2BertTask.TYPE
                        + " starts from a BERT folder (e.g. all-MiniLM-L6-v2, bert-base-uncased) or an encoder-decoder one");
            }
            int encPositions = model.config.encoder.maxPositionEmbeddings;
            int decPositions = model.config.decoder.maxPositionEmbeddings;
            if (cfg.data.maxLength > encPositions) {
                throw cfg.error("data.max_length", "is " + cfg.data.maxLength + " but " + cfg.model.name + " has only "
                        + encPositions + " positions");
            }
            if (opts.maxSummaryTokens + 1 > decPositions) {
                throw cfg.error("task.max_summary_tokens", "is " + opts.maxSummaryTokens + "; with [CLS] it must fit the decoder's "
                        + decPositions + " positions");
            }
            if (opts.generation.maxNewTokens + 1 > decPositions) {
                throw cfg.error("task.generation.max_new_tokens", "is " + opts.generation.maxNewTokens
                        + "; with [CLS] it must fit the decoder's " + decPositions + " positions");
            }
        } catch (IOException | RuntimeException e) {
            tok.close();
            throw e;
        }
        Bert2BertTask.Settings s = new Bert2BertTask.Settings();
        s.options = opts;
        s.maxLength = cfg.data.maxLength;
        s.labelSmoothing = (float) cfg.training.labelSmoothing;
        s.data = ds;
        return new Bert2BertTask(model, tok, dir, parts.train(), parts.dev(), s);
    }

    /**
     * Input lines: the article as plain text, or {"article": ..., "title": ...} (the model's field names also work);
     * the title line is removed as training and {@code evaluate} remove it, unless "keep_title": true.
     */
    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        Bert2BertSummarizer s = Bert2BertSummarizer.load(modelDir, device);
        SummaryDataSet ds = SummaryDataSet.fromJson(s.meta().getAsJsonObject("data"));
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
        try (Bert2BertSummarizer s = Bert2BertSummarizer.load(modelDir, device)) {
            JsonObject meta = s.meta();
            SummaryDataSet ds = SummaryDataSet.fromJson(meta.getAsJsonObject("data"));
            String[] part = new String[1];
            List<ArticleSummary> rows = ds.evaluationExamples(data, part);
            GptSummarizationTask.Generated g = Bert2BertTask.generate(s.model(), s.tokenizer(), rows, s.maxLength(),
                    s.defaults(), 8);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", s.modelDir().toString());
            out.put("data", data.toString());
            out.put("examples", part[0] + ": " + rows.size());
            out.putAll(SummaryScores.metrics(SummaryScores.score(g.lines(), GptSummarizationTask.references(rows),
                    meta.get("rouge_stemmer").getAsBoolean()), ""));
            out.put("gen_len", g.meanTokens());
            return out;
        }
    }
}
