package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import dev.kiln.config.Checks;
import dev.kiln.config.Rules;
import dev.kiln.config.Validated;
import dev.kiln.generate.GenerationOptions;

/** The {@code task} keys both abstractive summarizers share (GPT-2 with a prompt, and the BERT encoder-decoder). */
public class AbstractiveOptions implements Validated {
    /** Reference summaries are cut to this many tokens for training. */
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
        /** Write only tokens of the article as the model read it (and EOS); see GenerationOptions.inputVocabularyOnly. */
        public boolean inputVocabularyOnly = false;

        GenerationOptions toOptions(Integer eos) {
            GenerationOptions o = new GenerationOptions();
            o.numBeams = numBeams;
            o.noRepeatNgramSize = noRepeatNgramSize;
            o.maxNewTokens = maxNewTokens;
            o.minNewTokens = minNewTokens;
            o.lengthPenalty = (float) lengthPenalty;
            o.earlyStopping = earlyStopping;
            o.inputVocabularyOnly = inputVocabularyOnly;
            o.eosTokenId = eos;
            return o;
        }

        /** As saved in kiln_task.json ("generation"), for the predictor. */
        JsonObject toJson() {
            JsonObject gen = new JsonObject();
            gen.addProperty("num_beams", numBeams);
            gen.addProperty("no_repeat_ngram_size", noRepeatNgramSize);
            gen.addProperty("max_new_tokens", maxNewTokens);
            gen.addProperty("min_new_tokens", minNewTokens);
            gen.addProperty("length_penalty", lengthPenalty);
            gen.addProperty("early_stopping", earlyStopping);
            gen.addProperty("input_vocabulary_only", inputVocabularyOnly);
            return gen;
        }

        static Generation fromJson(JsonObject g) {
            Generation x = new Generation();
            x.numBeams = g.get("num_beams").getAsInt();
            x.noRepeatNgramSize = g.get("no_repeat_ngram_size").getAsInt();
            x.maxNewTokens = g.get("max_new_tokens").getAsInt();
            x.minNewTokens = g.get("min_new_tokens").getAsInt();
            x.lengthPenalty = g.get("length_penalty").getAsDouble();
            x.earlyStopping = g.get("early_stopping").getAsBoolean();
            // absent in folders saved before the key existed
            x.inputVocabularyOnly = g.has("input_vocabulary_only") && g.get("input_vocabulary_only").getAsBoolean();
            return x;
        }
    }

    @Override
    public void validate(Checks c) {
        if (generation.minNewTokens > generation.maxNewTokens) {
            c.error("generation.min_new_tokens", "is larger than " + c.at("generation.max_new_tokens"));
        }
    }
}
