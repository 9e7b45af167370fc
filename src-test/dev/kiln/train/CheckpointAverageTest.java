package dev.kiln.train;

import dev.kiln.Kiln;
import dev.kiln.TinyModels;
import dev.kiln.cli.KilnCli;
import dev.kiln.io.SafeTensors;
import dev.kiln.nn.HostTensor;
import dev.kiln.tasks.classification.TextClassifier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code kiln average}: the mean of a run's last checkpoints, as a model folder the predictors load. */
class CheckpointAverageTest {
    @TempDir
    static Path tmp;
    static Path run;

    @BeforeAll
    static void train() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            boolean p = i % 2 == 0;
            lines.add("{\"text\": \"it was " + (p ? "great" : "awful") + " " + i + "\", \"label\": \"" + (p ? "pos" : "neg") + "\"}");
        }
        Path data = Files.write(tmp.resolve("train.jsonl"), lines);
        Path model = TinyModels.bert(tmp.resolve("bert"), 1, 32, 3);
        run = tmp.resolve("run");
        Kiln.training("{\"model\": {\"name\": \"" + model + "\", \"device\": \"cpu\"}, \"task\": {\"type\": \"classification\"},"
                + "\"data\": {\"train\": \"" + data + "\", \"max_length\": 12},"
                + "\"training\": {\"max_steps\": 4, \"batch_size\": 8, \"log_every_steps\": 1},"
                + "\"optimizer\": {\"lr\": 0.01},"
                + "\"logging\": {\"plot\": false, \"progress\": \"off\"}, \"checkpointing\": {\"every_steps\": 1, \"keep_last\": 3},"
                + "\"output\": {\"dir\": \"" + run + "\"}}").quiet().run();
    }

    private static Map<String, HostTensor> weights(Path folder) throws IOException {
        return SafeTensors.readCheckpoint(folder);
    }

    @Test
    void theFolderHoldsTheMeanOfTheLastCheckpointsAndPredicts() throws IOException {
        Path out = tmp.resolve("avg3");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            assertEquals(0, KilnCli.run(new String[] {"average", run.toString(), "--last", "3", "--to", out.toString()}, ps));
        }
        assertEquals(out.toString(), buf.toString(StandardCharsets.UTF_8).trim());
        List<Map<String, HostTensor>> steps = new ArrayList<>();
        for (int s : new int[] {2, 3, 4}) steps.add(weights(run.resolve("checkpoints/step-" + s + "/model")));
        Map<String, HostTensor> avg = weights(out);
        assertEquals(steps.get(2).keySet(), avg.keySet());
        int moved = 0;
        for (String k : avg.keySet()) {
            float[] a = avg.get(k).toFloats();
            float[][] v = {steps.get(0).get(k).toFloats(), steps.get(1).get(k).toFloats(), steps.get(2).get(k).toFloats()};
            boolean differs = false;
            for (int i = 0; i < a.length; i++) {
                float mean = (v[0][i] + v[1][i] + v[2][i]) / 3f;
                assertEquals(mean, a[i], 1e-6f * Math.max(1f, Math.abs(mean)), k + "[" + i + "]");
                differs |= a[i] != v[2][i];
            }
            if (differs) moved++;
        }
        assertTrue(moved > 0, "the training steps moved no tensor: nothing was averaged");
        assertTrue(Files.isRegularFile(out.resolve(TaskFolder.META_FILE)));
        try (TextClassifier c = Kiln.classifier(out, "cpu")) {
            TextClassifier.Prediction p = c.predict("it was great 3");
            float total = 0;
            for (float x : p.probabilities().values()) total += x;
            assertEquals(1f, total, 1e-5f);
        }
    }

    @Test
    void tooFewCheckpointsNameKeepLastAndAnExistingFolderIsRefused() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CheckpointAverage.write(run, 4, tmp.resolve("avg4")));
        assertTrue(e.getMessage().contains("holds 3 checkpoint(s), fewer than --last 4")
                && e.getMessage().contains("checkpointing.keep_last >= 4"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("avg4")));
        Path mine = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(mine.resolve("notes.txt"), "mine");
        assertThrows(IllegalArgumentException.class, () -> CheckpointAverage.write(run, 2, mine));
        assertEquals("mine", Files.readString(mine.resolve("notes.txt")));
        assertEquals(List.of("notes.txt"), List.of(mine.toFile().list()));
    }
}
