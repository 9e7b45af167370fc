package dev.kiln.tasks.summarization;

import dev.kiln.config.Rules;

/** The {@code task} section of {@code summarize-extractive}. */
public class ExtractiveOptions {
    /** Sentences in a predicted summary (and in the lead-k baseline reported beside it). */
    @Rules.Range(min = 1)
    public int topK = 3;
    /** Skip a candidate sentence that shares a word trigram with one already chosen (BertSum). */
    public boolean trigramBlocking = true;
    /**
     * Sentence labels: "match" marks the article sentences found verbatim in the reference (summaries that
     * copy sentences, as BBC News does); "oracle" greedily picks sentences maximising ROUGE-1 + ROUGE-2 F1
     * (abstractive references); "auto" uses match where it covers most of the reference, else oracle.
     */
    @Rules.Matches(regex = "auto|match|oracle", allowed = {"auto", "match", "oracle"})
    public String labels = "auto";
    /** Most sentences the greedy oracle picks. */
    @Rules.Range(min = 1)
    public int oracleMaxSentences = 3;
    /** Dev examples scored at each evaluation; null: all. */
    @Rules.Range(min = 1)
    public Integer evalMaxExamples;
    @Rules.Range(min = 1)
    public int evalBatchSize = 8;
    /** Porter-stem ROUGE tokens (rouge-score's use_stemmer). */
    public boolean rougeStemmer = true;
}
