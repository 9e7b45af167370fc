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
     * Sentence labels. "oracle" (BertSum): the sentences a greedy search picks to maximise ROUGE-1 + ROUGE-2 F1
     * against the reference, at most {@code oracle_max_sentences}, among the sentences the model sees: the
     * target is the summary the model is asked to produce. "match": every article sentence found verbatim in the
     * reference; right only when references are about {@code top_k} sentences long (on BBC News they hold half
     * of an article's sentences, so match labels are half positive and barely predictable: the scorer learnt
     * nothing, docs/summarization.md). "auto": match where the matched sentences cover most of the reference
     * and are no more than {@code oracle_max_sentences}, else oracle.
     */
    @Rules.Matches(regex = "auto|match|oracle", allowed = {"auto", "match", "oracle"})
    public String labels = "auto";
    /** Most sentences the greedy oracle picks. */
    @Rules.Range(min = 1)
    public int oracleMaxSentences = 3;
    /**
     * A sentence's vector: "cls", the state at the [CLS] token put before it (BertSum); "mean", the mean of its
     * own tokens' states (how sentence-transformers models such as all-MiniLM-L6-v2 were trained to embed).
     * With MiniLM, 60 steps on BBC at 256 tokens: [CLS] ended at the label prior's dev loss (0.632 vs 0.632),
     * mean at 0.599 with ROUGE-1 53.0 against lead-3's 48.5 on 20 dev articles. Folders saved before this
     * option existed used "cls".
     */
    @Rules.Matches(regex = "cls|mean", allowed = {"cls", "mean"})
    public String sentenceVector = "mean";
    /** Dev examples scored at each evaluation; null: all. */
    @Rules.Range(min = 1)
    public Integer evalMaxExamples;
    @Rules.Range(min = 1)
    public int evalBatchSize = 8;
    /** Porter-stem ROUGE tokens (rouge-score's use_stemmer). */
    public boolean rougeStemmer = true;
}
