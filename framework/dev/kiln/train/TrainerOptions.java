package dev.kiln.train;

import dev.kiln.config.RunConfig;
import dev.kiln.log.Progress;

import java.nio.file.Path;

/**
 * The trainer's settings, filled from the run config's training/checkpointing/... sections; the optimizer,
 * schedule and precision sections are the config's own typed objects ({@link Optimizers}, {@link LrSchedule}
 * build from them), so nothing is copied into strings and parsed back.
 */
public final class TrainerOptions {
    public int epochs = 3;
    /** When positive, the run stops after this many optimizer steps (overrides epochs). */
    public long maxSteps = -1;
    public int batchSize = 32;
    public int gradientAccumulationSteps = 1;
    /** HF's group_by_length: batches of similar length (see {@link BatchPlan}). */
    public boolean groupByLength;
    /** When positive, micro-batches hold at most this many padded tokens instead of {@code batchSize} examples. */
    public int maxTokensPerBatch;
    /** Global-norm clipping threshold; 0 disables. */
    public float maxGradNorm = 1f;
    public long evalEverySteps = 0;
    public boolean evalEachEpoch = true;
    /** Evaluate once before the first step (a baseline), as HF's eval_on_start. */
    public boolean evalOnStart;
    public int logEverySteps = 10;
    public String freeze = "none";

    public String earlyStoppingMetric;
    /** null: the task's direction for the metric ({@link TrainableTask#higherIsBetter}). */
    public RunConfig.Mode earlyStoppingMode;
    public int earlyStoppingPatience = 3;
    public double earlyStoppingMinDelta = 0;

    public RunConfig.Optimizer optimizer = new RunConfig.Optimizer();
    public RunConfig.Schedule schedule = new RunConfig.Schedule();
    public RunConfig.Precision precision = new RunConfig.Precision();

    public boolean tensorboard = true;
    public boolean plot = true;
    public Progress.Mode progress = Progress.Mode.AUTO;

    /** 0: checkpoint at each evaluation (or epoch end when there is none). */
    public long checkpointEverySteps;
    public int keepLast = 2;
    public boolean keepBest = true;
    /** Metric for best/ and early stopping; defaults to the early-stopping metric, else the task's main metric. */
    public String checkpointMetric;
    /** Direction of checkpointMetric; null: the task's direction. */
    public RunConfig.Mode checkpointMode;

    public long seed = 42;
    public Path outputDir;
    /** Continue from the newest valid checkpoint in outputDir when there is one. */
    public boolean resume = true;
}
