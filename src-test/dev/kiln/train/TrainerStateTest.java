package dev.kiln.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** trainer_state.json: HF's schema plus Kiln's resume counters under "kiln"; the earlier Kiln-only format still reads. */
class TrainerStateTest {
    @Test
    void writesHfFieldsAndKilnCountersSeparately() {
        TrainerState s = new TrainerState();
        s.maxSteps = 10;
        s.stepsPerEpoch = 4;
        s.loggingSteps = 2;
        s.trainBatchSize = 8;
        for (int i = 1; i <= 3; i++) {
            s.step = i;
            s.logTrain(1.0 / i, 1e-3f, 0.5);
        }
        s.bestValue = 0.75;
        s.bestStep = 3;
        s.bestMetrics = Map.of("accuracy", 0.75);
        s.logEval(Map.of("accuracy", 0.75, "loss", 0.6));
        s.evalsWithoutImprovement = 1;
        JsonObject o = s.toJson();
        assertEquals(3, o.get("global_step").getAsLong());
        assertEquals(0.75, o.get("epoch").getAsDouble());
        assertEquals(0.75, o.get("best_metric").getAsDouble());
        assertEquals(10, o.get("max_steps").getAsLong());
        assertEquals(3, o.get("num_train_epochs").getAsLong());
        var h = o.getAsJsonArray("log_history");
        assertEquals(2, h.size());
        assertEquals(0.75, h.get(0).getAsJsonObject().get("loss").getAsDouble(), 1e-9); // mean of steps 1, 2
        assertEquals(2, h.get(0).getAsJsonObject().get("step").getAsLong());
        assertEquals(0.75, h.get(1).getAsJsonObject().get("eval_accuracy").getAsDouble());
        assertTrue(o.getAsJsonObject("kiln").has("evals_without_improvement"));

        // round trip: resume continues the open log window (step 3) exactly
        TrainerState r = TrainerState.fromJson(JsonParser.parseString(o.toString()).getAsJsonObject());
        assertEquals(3, r.step);
        assertEquals(3, r.bestStep);
        assertEquals(1, r.evalsWithoutImprovement);
        assertEquals(2, r.logHistory.size());
        r.loggingSteps = 2;
        r.step = 4;
        r.logTrain(0.25, 1e-3f, 0.5);
        assertEquals((1.0 / 3 + 0.25) / 2, r.logHistory.get(2).get("loss").getAsDouble(), 1e-6);
    }

    @Test
    void readsTheEarlierFormat() {
        JsonObject old = JsonParser.parseString("{\"step\": 40, \"best_value\": 0.9, \"best_step\": 20,"
                + " \"best_metrics\": {\"accuracy\": 0.9}, \"early_stopping_best_value\": 0.9, \"evals_without_improvement\": 2}")
                .getAsJsonObject();
        TrainerState s = TrainerState.fromJson(old);
        assertEquals(40, s.step);
        assertEquals(0.9, s.bestValue);
        assertEquals(20, s.bestStep);
        assertEquals(0.9, s.bestMetrics.get("accuracy"));
        assertEquals(0.9, s.stopBestValue);
        assertEquals(2, s.evalsWithoutImprovement);
    }

    @Test
    void aFreshStateSpellsOutHfsNullsAndReadsBack() {
        TrainerState s = new TrainerState();
        JsonObject o = JsonParser.parseString(dev.kiln.util.AtomicFiles.json(s.toJson())).getAsJsonObject();
        assertTrue(o.get("best_metric").isJsonNull(), "HF writes best_metric: null before any evaluation");
        assertTrue(o.get("best_global_step").isJsonNull());
        assertTrue(o.get("best_model_checkpoint").isJsonNull());
        assertEquals(2, o.getAsJsonObject("kiln").get("format").getAsInt());
        TrainerState r = TrainerState.fromJson(o);
        assertEquals(-1, r.bestStep);
        assertEquals(null, r.bestValue);
        assertEquals(null, r.bestMetrics);
    }
}
