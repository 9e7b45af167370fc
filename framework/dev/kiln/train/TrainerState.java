package dev.kiln.train;

import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a checkpoint carries besides tensors, written as HF's {@code trainer_state.json}: HF's fields
 * ({@code global_step}, {@code epoch}, {@code best_metric}, {@code best_model_checkpoint}, {@code log_history},
 * {@code max_steps}, ...) for tools that read HF checkpoints, and Kiln's exact-resume counters under the
 * separate key {@code "kiln"}. {@link #fromJson} also reads the earlier Kiln-only format (counters at top level).
 */
public final class TrainerState {
    public long step;
    public Double bestValue;
    public long bestStep = -1;
    public Map<String, Double> bestMetrics;
    /** Best value of the early-stopping metric; evalsWithoutImprovement counts evals since it last improved. */
    public Double stopBestValue;
    public int evalsWithoutImprovement;
    /** HF log_history: a train entry per log window (mean loss, last lr and grad norm), an eval_* entry per eval. */
    public final List<JsonObject> logHistory = new ArrayList<>();
    /** The open log window (resumed exactly, so windows do not depend on where a run was interrupted). */
    double windowLoss;
    int windowSteps;
    /** Run facts for HF's fields (not needed to resume). */
    long maxSteps, stepsPerEpoch = 1, saveSteps, evalSteps;
    int trainBatchSize, loggingSteps;
    String bestMetricName;
    /** The whole run so far (all sessions), so summary.json after a resume covers the run, not the last session. */
    double trainSeconds;
    long tokensSeen;
    Map<String, Double> lastEval;
    /** Absolute path of best/ when it exists; set by {@link Checkpoints}. */
    String bestModelCheckpoint;

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

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.add("best_global_step", bestStep >= 0 ? new com.google.gson.JsonPrimitive(bestStep) : com.google.gson.JsonNull.INSTANCE);
        o.add("best_metric", bestValue != null ? new com.google.gson.JsonPrimitive(bestValue) : com.google.gson.JsonNull.INSTANCE);
        o.add("best_model_checkpoint", bestModelCheckpoint != null
                ? new com.google.gson.JsonPrimitive(bestModelCheckpoint) : com.google.gson.JsonNull.INSTANCE);
        o.addProperty("epoch", epoch());
        o.addProperty("eval_steps", evalSteps);
        o.addProperty("global_step", step);
        o.addProperty("is_hyper_param_search", false);
        o.addProperty("is_local_process_zero", true);
        o.addProperty("is_world_process_zero", true);
        com.google.gson.JsonArray h = new com.google.gson.JsonArray();
        logHistory.forEach(h::add);
        o.add("log_history", h);
        o.addProperty("logging_steps", loggingSteps);
        o.addProperty("max_steps", maxSteps);
        o.addProperty("num_train_epochs", (maxSteps + stepsPerEpoch - 1) / Math.max(1, stepsPerEpoch));
        o.addProperty("save_steps", saveSteps);
        o.addProperty("train_batch_size", trainBatchSize);
        JsonObject k = new JsonObject();
        k.addProperty("format", 2);
        k.addProperty("step", step);
        if (bestValue != null) k.addProperty("best_value", bestValue);
        if (bestMetricName != null) k.addProperty("best_metric_name", bestMetricName);
        k.addProperty("best_step", bestStep);
        if (bestMetrics != null) {
            JsonObject m = new JsonObject();
            bestMetrics.forEach(m::addProperty);
            k.add("best_metrics", m);
        }
        if (stopBestValue != null) k.addProperty("early_stopping_best_value", stopBestValue);
        k.addProperty("evals_without_improvement", evalsWithoutImprovement);
        k.addProperty("log_window_loss", windowLoss);
        k.addProperty("log_window_steps", windowSteps);
        k.addProperty("train_seconds", trainSeconds);
        k.addProperty("tokens_seen", tokensSeen);
        if (lastEval != null) {
            JsonObject m = new JsonObject();
            lastEval.forEach(m::addProperty);
            k.add("last_eval", m);
        }
        o.add("kiln", k);
        return o;
    }

    /** Reads this format (Kiln's counters under "kiln") and the earlier one (the same counters at top level). */
    public static TrainerState fromJson(JsonObject json) {
        TrainerState s = new TrainerState();
        JsonObject o = json.has("kiln") ? json.getAsJsonObject("kiln") : json;
        s.step = o.get("step").getAsLong();
        if (o.has("best_value")) s.bestValue = o.get("best_value").getAsDouble();
        s.bestStep = o.get("best_step").getAsLong();
        if (o.has("best_metrics")) {
            s.bestMetrics = new LinkedHashMap<>();
            for (var e : o.getAsJsonObject("best_metrics").entrySet()) s.bestMetrics.put(e.getKey(), e.getValue().getAsDouble());
        }
        if (o.has("early_stopping_best_value")) s.stopBestValue = o.get("early_stopping_best_value").getAsDouble();
        s.evalsWithoutImprovement = o.get("evals_without_improvement").getAsInt();
        if (o.has("log_window_loss")) s.windowLoss = o.get("log_window_loss").getAsDouble();
        if (o.has("log_window_steps")) s.windowSteps = o.get("log_window_steps").getAsInt();
        if (o.has("train_seconds")) s.trainSeconds = o.get("train_seconds").getAsDouble();
        if (o.has("tokens_seen")) s.tokensSeen = o.get("tokens_seen").getAsLong();
        if (o.has("last_eval")) {
            s.lastEval = new LinkedHashMap<>();
            for (var e : o.getAsJsonObject("last_eval").entrySet()) s.lastEval.put(e.getKey(), e.getValue().getAsDouble());
        }
        if (json.has("log_history")) json.getAsJsonArray("log_history").forEach(e -> s.logHistory.add(e.getAsJsonObject()));
        return s;
    }
}
