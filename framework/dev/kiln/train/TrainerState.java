package dev.kiln.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.annotations.SerializedName;
import dev.kiln.config.SettingsJson;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a checkpoint carries besides tensors, written as HF's {@code trainer_state.json}: HF's fields
 * ({@code global_step}, {@code epoch}, {@code best_metric}, {@code best_model_checkpoint}, {@code log_history},
 * {@code max_steps}, ...) for tools that read HF checkpoints, and Kiln's exact-resume counters under the
 * separate key {@code "kiln"}. {@link #fromJson} also reads the earlier Kiln-only format (counters at top level).
 */
public final class TrainerState {
    /** Version of the "kiln" object (the fields below that are not transient, named by the config's naming policy). */
    @SuppressWarnings("unused")
    private final int format = 2;
    public long step;
    public Double bestValue;
    public long bestStep = -1;
    public Map<String, Double> bestMetrics;
    /** Best value of the early-stopping metric; evalsWithoutImprovement counts evals since it last improved. */
    @SerializedName("early_stopping_best_value")
    public Double stopBestValue;
    public int evalsWithoutImprovement;
    /** HF log_history: a train entry per log window (mean loss, last lr and grad norm), an eval_* entry per eval. */
    public final transient List<JsonObject> logHistory = new ArrayList<>();
    /** The open log window (resumed exactly, so windows do not depend on where a run was interrupted). */
    @SerializedName("log_window_loss")
    double windowLoss;
    @SerializedName("log_window_steps")
    int windowSteps;
    /** Run facts for HF's fields (not needed to resume). */
    transient long maxSteps, stepsPerEpoch = 1, saveSteps, evalSteps;
    transient int trainBatchSize, loggingSteps;
    String bestMetricName;
    /** The whole run so far (all sessions), so summary.json after a resume covers the run, not the last session. */
    double trainSeconds;
    long tokensSeen;
    Map<String, Double> lastEval;
    /** Absolute path of best/ when it exists; set by {@link Checkpoints}. */
    transient String bestModelCheckpoint;

    double epoch() {
        return Math.round((double) step / Math.max(1, stepsPerEpoch) * 1e4) / 1e4;
    }

    void logTrain(double loss, float lr, double gradNorm) {
        if (Double.isFinite(loss)) {
            windowLoss += loss;
            windowSteps++;
        }
        if (loggingSteps > 0 && step % loggingSteps == 0 && windowSteps > 0) {
            JsonObject e = new JsonObject();
            e.addProperty("epoch", epoch());
            if (Double.isFinite(gradNorm)) e.addProperty("grad_norm", gradNorm);
            e.addProperty("learning_rate", lr);
            e.addProperty("loss", Math.round(windowLoss / windowSteps * 1e6) / 1e6);
            e.addProperty("step", step);
            logHistory.add(e);
            windowLoss = 0;
            windowSteps = 0;
        }
    }

    void logEval(Map<String, Double> metrics) {
        JsonObject e = new JsonObject();
        e.addProperty("epoch", epoch());
        metrics.forEach((k, v) -> e.addProperty("eval_" + k, v));
        e.addProperty("step", step);
        logHistory.add(e);
    }

    /** trainer_state.json as HF writes it, with this object's counters under "kiln". */
    private record HfState(Long bestGlobalStep, Double bestMetric, String bestModelCheckpoint, double epoch, long evalSteps,
                           long globalStep, boolean isHyperParamSearch, boolean isLocalProcessZero, boolean isWorldProcessZero,
                           List<JsonObject> logHistory, int loggingSteps, long maxSteps, long numTrainEpochs, long saveSteps,
                           int trainBatchSize, TrainerState kiln) {}

    /** The settings' naming policy (snake_case); nulls written, as HF writes {@code "best_metric": null}. */
    private static final Gson GSON = SettingsJson.builder().serializeNulls().serializeSpecialFloatingPointValues().create();

    public JsonObject toJson() {
        HfState hf = new HfState(bestStep >= 0 ? bestStep : null, bestValue, bestModelCheckpoint, epoch(), evalSteps, step,
                false, true, true, logHistory, loggingSteps, maxSteps,
                (maxSteps + stepsPerEpoch - 1) / Math.max(1, stepsPerEpoch), saveSteps, trainBatchSize, this);
        return GSON.toJsonTree(hf).getAsJsonObject();
    }

    /** Reads this format (Kiln's counters under "kiln") and the earlier one (the same counters at top level). */
    public static TrainerState fromJson(JsonObject json) {
        TrainerState s = GSON.fromJson(json.has("kiln") ? json.get("kiln") : json, TrainerState.class);
        if (json.has("log_history")) json.getAsJsonArray("log_history").forEach(e -> s.logHistory.add(e.getAsJsonObject()));
        return s;
    }
}
