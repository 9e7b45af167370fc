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

    /**
     * Names for the labels as the data files hold them, e.g. {@code {"0": "ABBR", "1": "ENTY"}} for TREC's numbered
     * classes; predictions, metrics and the saved config's id2label use the names. Labels left out keep their value.
     */
    public java.util.Map<String, String> labelNames;
}
