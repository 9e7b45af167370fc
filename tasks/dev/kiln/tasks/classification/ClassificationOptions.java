package dev.kiln.tasks.classification;

import dev.kiln.config.Rules;

/** The {@code task} section of a classification config (beyond {@code type}). */
public class ClassificationOptions {
    /** cls (BERT pooler over [CLS]), mean (over real tokens), last (last real token; GPT-2); null = backbone default. */
    @Rules.Matches(regex = "cls|mean|last", allowed = {"cls", "mean", "last"})
    public String pooling;

    /** Batch size for evaluation and prediction. */
    @Rules.Range(min = 1)
    public int evalBatchSize = 64;
}
