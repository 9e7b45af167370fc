package dev.kiln.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** README.md model cards: HF front matter with the run's numbers; a README.md Kiln did not write stays. */
class ModelCardTest {
    @TempDir
    Path tmp;

    private Path folder(String name, String arch) throws IOException {
        JsonObject cfg = new JsonObject();
        JsonArray a = new JsonArray();
        a.add(arch);
        cfg.add("architectures", a);
        cfg.addProperty("model_type", "bert");
        HfFolder.writeFolder(tmp.resolve("run").resolve(name), cfg, new LinkedHashMap<>(), null);
        Files.writeString(tmp.resolve("run").resolve(name).resolve(TaskFolder.META_FILE), "{\"task\": \"classification\"}");
        return tmp.resolve("run").resolve(name);
    }

    @Test
    void cardHasFrontMatterRecipeAndNumbersAndNeverReplacesAForeignReadme() throws IOException {
        Path best = folder("best", "BertForSequenceClassification");
        Path fin = folder("final", "BertForSequenceClassification");
        Files.writeString(fin.resolve("README.md"), "my own notes");
        Trainer.Result r = new Trainer.Result();
        r.bestEval = new LinkedHashMap<>(Map.of("accuracy", 0.938));
        r.bestStep = 120;
        r.steps = 150;
        String config = "{\"model\": {\"name\": \"/x/models/all-MiniLM-L6-v2\"}, \"task\": {\"type\": \"classification\", \"pooling\": \"cls\"},"
                + " \"data\": {\"train\": \"/d/train.jsonl\", \"dev\": \"/d/dev.jsonl\", \"max_length\": 64},"
                + " \"optimizer\": {\"lr\": 1e-4}, \"seed\": 42}";
        ModelCard.writeForRun(tmp.resolve("run"), config, r);
        String card = Files.readString(best.resolve("README.md"));
        assertTrue(card.startsWith(ModelCard.MARKER + "\n---\nbase_model: all-MiniLM-L6-v2\nlibrary_name: kiln\n"
                + "pipeline_tag: text-classification\ntags:\n- kiln\n- classification\n- bert\nmetrics:\n- accuracy\n"), card);
        assertTrue(card.contains("    - type: accuracy\n      value: 0.938000\n"), card);
        assertTrue(card.contains("| `optimizer.lr` | 1.0E-4 |") || card.contains("| `optimizer.lr` | 1e-4 |")
                || card.contains("| `optimizer.lr` | 0.0001 |"), card);
        assertTrue(card.contains("| accuracy | 0.9380 |") && card.contains("step 120"), card);
        assertEquals("my own notes", Files.readString(fin.resolve("README.md")));
        // Kiln's own card is rewritten
        ModelCard.writeForRun(tmp.resolve("run"), config, r);
        assertTrue(Files.readString(best.resolve("README.md")).startsWith(ModelCard.MARKER));
    }
}
