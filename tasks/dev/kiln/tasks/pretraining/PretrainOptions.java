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

    /**
     * The held-out batches evaluation runs: consecutive indexes of {@code devSize} examples, {@link #evalBatchSize}
     * at a time, the first {@link #evalMaxBatches} only when that is positive.
     */
    java.util.List<int[]> evalBatches(int devSize) {
        java.util.List<int[]> out = new java.util.ArrayList<>();
        for (int s = 0; s < devSize && (evalMaxBatches <= 0 || out.size() < evalMaxBatches); s += evalBatchSize) {
            int[] idx = new int[Math.min(evalBatchSize, devSize - s)];
            for (int i = 0; i < idx.length; i++) idx[i] = s + i;
            out.add(idx);
        }
        return out;
    }
}
