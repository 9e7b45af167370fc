package dev.kiln.tasks.qa;

import dev.kiln.config.Rules;

/** The {@code task} section of an extractive QA config (beyond {@code type}); max_seq_length is {@code data.max_length}. */
public class QaOptions {
    /** Context tokens shared by consecutive windows of a long context (HF run_qa's doc_stride). */
    @Rules.Range(min = 0)
    public int docStride = 128;

    /** Longest predicted answer, in tokens. */
    @Rules.Range(min = 1)
    public int maxAnswerLength = 30;

    /** Start and end candidates per window that are paired up when decoding. */
    @Rules.Range(min = 1)
    public int nBest = 20;

    /** Questions are cut to this many tokens (original BERT's max_query_length), so windows keep room for context. */
    @Rules.Range(min = 1)
    public int maxQuestionLength = 64;

    /** Windows per forward pass in evaluation and prediction. */
    @Rules.Range(min = 1)
    public int evalBatchSize = 64;
}
