package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDManager;
import dev.kiln.config.RunConfig;
import dev.kiln.models.gpt2.Gpt2Architecture;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.Pretrained;
import dev.kiln.train.TrainableTask;

import java.io.IOException;

/** Registers {@code summarize-gpt} (abstractive summarization with GPT-2) with the config system and the CLI. */
public final class GptSummarizationProvider extends AbstractiveProvider {
    /** The fewest article tokens a training sequence must keep. */
    static final int MIN_ARTICLE_TOKENS = 16;

    public GptSummarizationProvider() {
        super(GptSummarizationTask.TYPE, GptSummaryOptions.class);
    }

    @Override
    public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
        GptSummaryOptions opts = cfg.taskOptions(GptSummaryOptions.class);
        SummaryDataSet ds = SummaryDataSet.of(cfg);
        SummaryDataSet.Parts parts = ds.load(cfg);
        Pretrained pre = Pretrained.load(cfg, manager, Pretrained.Need.of(GptSummarizationTask.TYPE, Gpt2Architecture.class,
                "a GPT-2 (causal LM) folder, e.g. one from kiln init-gpt2 or from pretraining"));
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
        return new GptSummarizationTask(model, tok, pre.dir(), parts.train(), parts.dev(),
                AbstractiveTask.Settings.of(cfg, opts, ds));
    }

    /** {@code Kiln.predictor(run, Summarizer.class)}; predict and evaluate open the folder through it too. */
    @Override
    public Typed<Summarizer> typed() {
        return new Typed<>(Summarizer.class, Summarizer::load);
    }
}
