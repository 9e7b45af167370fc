package dev.kiln.tasks.pretraining;

import dev.kiln.config.Rules;

/** The {@code task} keys of pretrain-gpt (pretrain-bert adds its own in {@link BertPretrainOptions}). */
public class PretrainOptions {
    /** Batch size of the held-out evaluation. */
    @Rules.Range(min = 1)
    public int evalBatchSize = 32;

    /** Evaluate on at most this many held-out batches (the first ones, always the same); 0: all of them. */
    @Rules.Range(min = 0)
    public int evalMaxBatches = 0;
}
