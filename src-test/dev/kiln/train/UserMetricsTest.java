package dev.kiln.train;

import com.google.gson.JsonObject;
import dev.kiln.Kiln;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.log.HParamsEventTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Metrics added from Java (HF's compute_metrics): they see what the task predicted for each dev example, their
 * values are logged like the task's own, the best checkpoint can follow them, and misuse is a clear error.
 */
@ExtendWith(OneThreadWhenBusy.class)
class UserMetricsTest {
    @TempDir
    Path tmp;

    /** Sentences whose label is in the words; labels three ways so per-class recall differs from accuracy. */
    private Path data(String name, int n) throws IOException {
        String[][] words = {{"great", "lovely"}, {"awful", "broken"}, {"plain", "usual"}};
        String[] labels = {"positive", "negative", "neutral"};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int c = i % 5 == 4 ? 2 : i % 2; // fewer neutral examples
            lines.add("{\"text\": \"it was " + words[c][i % 2] + " item " + i + "\", \"label\": \"" + labels[c] + "\"}");
        }
        Path f = tmp.resolve(name);
        Files.write(f, lines);
        return f;
    }

    private Kiln.Training training(String extra, String out) throws IOException {
        Path model = tmp.resolve("tiny-bert");
        if (!Files.isDirectory(model)) TinyModels.bert(model, 2, 64, 3);
        String json = "{\"model\": {\"name\": \"" + model + "\", \"device\": \"cpu\"},"
                + "\"task\": {\"type\": \"classification\"},"
                + "\"data\": {\"train\": \"" + data("train.jsonl", 40) + "\", \"dev\": \"" + data("dev.jsonl", 15) + "\", \"max_length\": 16},"
                + "\"training\": {\"max_steps\": 4, \"batch_size\": 8, \"log_every_steps\": 2, \"eval_every_steps\": 2},"
                + "\"optimizer\": {\"lr\": 1e-3}," + extra
                + "\"output\": {\"dir\": \"" + tmp.resolve(out) + "\"}}";
        return Kiln.training(json).quiet();
    }

    /** Mean recall over classes, from the outputs alone. */
    static double balancedAccuracy(EvalOutputs.Classes c) {
        double sum = 0;
        for (int k = 0; k < c.labels().size(); k++) {
            int support = 0, hit = 0;
            for (int i = 0; i < c.gold().length; i++) {
                if (c.gold()[i] != k) continue;
                support++;
                if (c.predicted()[i] == k) hit++;
            }
            sum += support == 0 ? 0 : (double) hit / support;
        }
        return sum / c.labels().size();
    }

    @Test
    void classificationOutputsMatchTheDevFileAndTheTasksAccuracy() throws IOException {
        List<Double> seen = new ArrayList<>();
        Kiln.Run run = training("\"checkpointing\": {\"metric\": \"balanced_accuracy\"},", "run")
                .metric(EvalMetric.of("balanced_accuracy", EvalOutputs.Classes.class, UserMetricsTest::balancedAccuracy))
                .metric((outputs, own) -> {
                    EvalOutputs.Classes c = (EvalOutputs.Classes) outputs;
                    assertEquals(15, c.gold().length);
                    // gold follows the dev file's order: line i's label (labels are sorted: negative, neutral, positive)
                    for (int i = 0; i < 15; i++) {
                        String want = i % 5 == 4 ? "neutral" : i % 2 == 0 ? "positive" : "negative";
                        assertEquals(want, c.labels().get(c.gold()[i]), "dev line " + (i + 1));
                    }
                    int hits = 0;
                    for (int i = 0; i < 15; i++) {
                        float[] p = c.probabilities()[i];
                        double total = 0;
                        int arg = 0;
                        for (int k = 0; k < p.length; k++) {
                            total += p[k];
                            if (p[k] > p[arg]) arg = k;
                        }
                        assertEquals(1.0, total, 1e-5, "probabilities of example " + i);
                        assertEquals(c.predicted()[i], arg, "the prediction is the most probable class");
                        if (c.predicted()[i] == c.gold()[i]) hits++;
                    }
                    assertEquals(own.get("accuracy"), hits / 15.0, 1e-12, "the task's accuracy, recomputed from the outputs");
                    seen.add(own.get("accuracy"));
                    return Map.of("dev_examples", 15.0);
                })
                .run();
        assertEquals(2, seen.size(), "called at steps 2 and 4");
        // logged like the task's own metrics, and best/ followed the user metric
        List<JsonObject> evals = run.metrics().stream().filter(r -> r.has("eval_accuracy")).toList();
        assertEquals(2, evals.size());
        for (JsonObject r : evals) {
            assertTrue(r.has("eval_balanced_accuracy") && r.has("eval_dev_examples"), r.toString());
            assertTrue(r.get("eval_balanced_accuracy").getAsDouble() >= 0 && r.get("eval_balanced_accuracy").getAsDouble() <= 1);
        }
        double a = evals.get(0).get("eval_balanced_accuracy").getAsDouble(), b = evals.get(1).get("eval_balanced_accuracy").getAsDouble();
        assertEquals(Math.max(a, b), run.bestEval().get("balanced_accuracy"), 1e-12);
        assertEquals(b > a ? 4 : 2, run.summary().get("best_step").getAsLong(), "best/ follows the user metric (strict improvement)");

        // TensorBoard's HParams tab: the resolved config as the session's hyperparameters, then success
        List<HParamsEventTest.PluginValue> hp = HParamsEventTest.hparamsValues(eventFile(tmp.resolve("run")));
        assertEquals(2, hp.size(), hp.toString());
        Map<String, Object> h = hp.get(0).hparams();
        assertEquals(1e-3, h.get("optimizer.lr"));
        assertEquals(4.0, h.get("training.max_steps"));
        assertEquals("classification", h.get("task.type"));
        assertEquals("balanced_accuracy", h.get("checkpointing.metric"));
        assertEquals("[0.9,0.999]", h.get("optimizer.betas"));
        assertEquals(false, h.containsKey("output.dir"), "each run's own folder is no hyperparameter");
        assertEquals(1, hp.get(1).endStatus(), "STATUS_SUCCESS");
    }

    static Path eventFile(Path run) throws IOException {
        try (var s = Files.list(run.resolve("tensorboard"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).findFirst().orElseThrow();
        }
    }

    /** NER gets the gold and predicted tag of every dev word, in the dev file's order. */
    @Test
    void nerOutputsAreTagsPerWord() throws IOException {
        Path model = tmp.resolve("tiny-bert");
        if (!Files.isDirectory(model)) TinyModels.bert(model, 2, 64, 3);
        String[][] sents = {{"Angela", "Merkel", "visited", "Paris"}, {"the", "EU", "rejects", "it"}, {"John", "lives", "in", "Berlin"}};
        String[][] tags = {{"B-PER", "I-PER", "O", "B-LOC"}, {"O", "B-ORG", "O", "O"}, {"B-PER", "O", "O", "B-LOC"}};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            int k = i % 3;
            lines.add("{\"tokens\": [\"" + String.join("\", \"", sents[k]) + "\"], \"tags\": [\"" + String.join("\", \"", tags[k]) + "\"]}");
        }
        Files.write(tmp.resolve("ner-train.jsonl"), lines);
        Files.write(tmp.resolve("ner-dev.jsonl"), lines.subList(0, 5));
        String json = "{\"model\": {\"name\": \"" + model + "\", \"device\": \"cpu\"}, \"task\": {\"type\": \"ner\"},"
                + "\"data\": {\"train\": \"" + tmp.resolve("ner-train.jsonl") + "\", \"dev\": \"" + tmp.resolve("ner-dev.jsonl")
                + "\", \"max_length\": 32}, \"training\": {\"max_steps\": 2, \"batch_size\": 4},"
                + "\"logging\": {\"tensorboard\": false, \"plot\": false}, \"output\": {\"dir\": \"" + tmp.resolve("ner-run") + "\"}}";
        List<EvalOutputs.Tags> seen = new ArrayList<>();
        Kiln.training(json).quiet().metric((outputs, own) -> {
            EvalOutputs.Tags t = (EvalOutputs.Tags) outputs;
            assertEquals(5, t.gold().size());
            int words = 0, same = 0;
            for (int s = 0; s < 5; s++) {
                assertEquals(List.of(tags[s % 3]), t.gold().get(s), "dev sentence " + s);
                assertEquals(4, t.predicted().get(s).size());
                for (int w = 0; w < 4; w++, words++) if (t.gold().get(s).get(w).equals(t.predicted().get(s).get(w))) same++;
            }
            assertEquals(own.get("accuracy"), (double) same / words, 1e-12, "the task's token accuracy, recomputed");
            seen.add(t);
            return Map.of();
        }).run();
        assertEquals(1, seen.size(), "one evaluation, at the end of the only epoch");
    }

    @Test
    void misuseIsAClearError() throws IOException {
        IllegalArgumentException kind = assertThrows(IllegalArgumentException.class, () -> training("", "run1")
                .metric(EvalMetric.of("span_f1", EvalOutputs.Tags.class, t -> 0)).run());
        assertEquals("metric \"span_f1\" reads Tags outputs, but this task's are Classes", kind.getMessage());
        List<HParamsEventTest.PluginValue> hp = HParamsEventTest.hparamsValues(eventFile(tmp.resolve("run1")));
        assertEquals(2, hp.get(hp.size() - 1).endStatus(), "a run ended by an exception is STATUS_FAILURE");
        IllegalArgumentException clash = assertThrows(IllegalArgumentException.class, () -> training("", "run2")
                .metric((o, own) -> Map.of("accuracy", 1.0)).run());
        assertTrue(clash.getMessage().contains("\"accuracy\", which this evaluation already reports"), clash.getMessage());
    }
}
