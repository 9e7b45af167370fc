package dev.kiln.tasks.pretraining;

import dev.kiln.config.Checks;
import dev.kiln.config.Rules;
import dev.kiln.config.Validated;

/** The {@code task} keys of pretrain-bert; defaults are the original BERT recipe's. */
public class BertPretrainOptions extends PretrainOptions implements Validated {
    /** Fraction of the tokens of a sequence chosen for prediction. */
    @Rules.Range(min = 0, max = 1, minExclusive = true, maxExclusive = true)
    public double mlmProbability = 0.15;

    /** Of the chosen tokens: the fraction replaced by [MASK]. */
    @Rules.Range(min = 0, max = 1)
    public double maskReplaceProb = 0.8;

    /** Of the chosen tokens: the fraction replaced by a random token (the rest stay unchanged). */
    @Rules.Range(min = 0, max = 1)
    public double randomReplaceProb = 0.1;

    /** Choose whole words: a word's ## continuation pieces are masked together. */
    public boolean wholeWordMasking = false;

    /** At most this many predictions per sequence; null: ceil(mlm_probability x max_length) (20 at 128). */
    @Rules.Range(min = 1)
    public Integer maxPredictionsPerSeq;

    /** Probability of a shorter target length for a document's segments, as in the original recipe. */
    @Rules.Range(min = 0, max = 1)
    public double shortSeqProb = 0.1;

    /** Next-sentence prediction: segment pairs (50% true next, 50% random) and the NSP head; false: MLM on single segments. */
    public boolean nsp = true;

    @Override
    public void validate(Checks c) {
        if (maskReplaceProb + randomReplaceProb > 1 + 1e-9) {
            c.error(c.at("mask_replace_prob") + " + " + c.at("random_replace_prob") + " must be at most 1, got "
                    + (maskReplaceProb + randomReplaceProb));
        }
    }
}
