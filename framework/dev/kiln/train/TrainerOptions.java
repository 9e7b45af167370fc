package dev.kiln.train;

import java.nio.file.Path;

/** The trainer's settings, filled from the run config's training/optimizer/schedule/... sections. */
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
    /** "max" or "min"; null: the task's direction for the metric ({@link TrainableTask#higherIsBetter}). */
    public String earlyStoppingMode;
    public int earlyStoppingPatience = 3;
    public double earlyStoppingMinDelta = 0;

    public String optimizer = "adamw";
    public float lr = 5e-5f;
    public float weightDecay = 0.01f;
    public float beta1 = 0.9f;
    public float beta2 = 0.999f;
    public float eps = 1e-8f;
    public float momentum = 0.9f;
    public boolean nesterov;

    public String schedule = "linear";
    public long warmupSteps;
    public double warmupRatio;

    public String precision = "fp32";
    public float initialLossScale = 65536f;
    public int growthInterval = 2000;

    public boolean tensorboard = true;
    public boolean plot = true;
    /** auto | bar | lines | off */
    public String progress = "auto";

    /** 0: checkpoint at each evaluation (or epoch end when there is none). */
    public long checkpointEverySteps;
    public int keepLast = 2;
    public boolean keepBest = true;
    /** Metric for best/ and early stopping; defaults to the early-stopping metric, else the task's main metric. */
    public String checkpointMetric;
    /** "max" or "min" for checkpointMetric; null: the task's direction. */
    public String checkpointMode;

    public long seed = 42;
    public Path outputDir;
    /** Continue from the newest valid checkpoint in outputDir when there is one. */
    public boolean resume = true;
}
