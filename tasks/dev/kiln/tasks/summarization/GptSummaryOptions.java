package dev.kiln.tasks.summarization;

import dev.kiln.config.Checks;
import dev.kiln.config.Rules;
import dev.kiln.config.Validated;
import dev.kiln.generate.GenerationOptions;

/** The {@code task} section of {@code summarize-gpt}. */
public class GptSummaryOptions implements Validated {
    /** The text around the article; the summary follows it. {@code {article}} must appear once. */
    public String promptTemplate = "{article}\n\nTL;DR: ";
    /** Reference summaries are cut to this many tokens for training (the article is cut first). */
    @Rules.Range(min = 1)
    public int maxSummaryTokens = 128;
    /** How evaluation (and, saved with the model, prediction) generates summaries. */
    public Generation generation = new Generation();
    /** Dev examples summarized by generation at each evaluation (the slow part); a number above the dev set's size for all (null means the default). The loss uses all. */
    @Rules.Range(min = 1)
    public Integer evalMaxExamples = 50;
    /** Batch size of the dev loss. */
    @Rules.Range(min = 1)
    public int evalBatchSize = 8;
    /** Porter-stem ROUGE tokens (rouge-score's use_stemmer). */
    public boolean rougeStemmer = true;

    /** Beam search by default: 4 beams, no repeated trigram (the usual news-summarization settings). */
    public static class Generation {
        @Rules.Range(min = 1)
        public int numBeams = 4;
        @Rules.Range(min = 0)
        public int noRepeatNgramSize = 3;
        @Rules.Range(min = 1)
        public int maxNewTokens = 128;
        @Rules.Range(min = 0)
        public int minNewTokens = 0;
        /** Beam scores are divided by length^length_penalty. */
        public double lengthPenalty = 1.0;
        /** Stop a beam search once num_beams hypotheses are finished. */
        public boolean earlyStopping = true;

        GenerationOptions toOptions(Integer eos) {
            GenerationOptions o = new GenerationOptions();
            o.numBeams = numBeams;
            o.noRepeatNgramSize = noRepeatNgramSize;
            o.maxNewTokens = maxNewTokens;
            o.minNewTokens = minNewTokens;
            o.lengthPenalty = (float) lengthPenalty;
            o.earlyStopping = earlyStopping;
            o.eosTokenId = eos;
            return o;
        }
    }

    @Override
    public void validate(Checks c) {
        int at = promptTemplate.indexOf(GptPrompt.ARTICLE);
        if (at < 0 || promptTemplate.indexOf(GptPrompt.ARTICLE, at + 1) >= 0) {
            c.error("prompt_template", "must contain " + GptPrompt.ARTICLE + " exactly once, got \"" + promptTemplate.replace("\n", "\\n") + "\"");
        }
        if (generation.minNewTokens > generation.maxNewTokens) {
            c.error("generation.min_new_tokens", "is larger than " + c.at("generation.max_new_tokens"));
        }
    }
}
