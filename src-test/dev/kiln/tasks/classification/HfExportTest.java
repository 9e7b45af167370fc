package dev.kiln.tasks.classification;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.io.HfReference;
import dev.kiln.models.BertConfig;
import dev.kiln.models.BertModel;
import dev.kiln.nn.Parameters;
import dev.kiln.text.Sequences;
import dev.kiln.train.Runs;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A trained classifier folder computes in HF transformers what it computes in Kiln: the folder's
 * {@code architectures} class, run by {@link HfReference} (an independent plain-Java HF forward), gives
 * Kiln's logits within 1e-4 on a padded batch. Where Kiln's pooling is no HF class the folder must say
 * BertModel / GPT2Model, keep the head out of model.safetensors, and the base model's hidden states
 * plus the documented head (kiln_task.json pooling, kiln_head.safetensors) must give Kiln's logits.
 */
class HfExportTest {
    static final double TOL = 1e-4;
    static final List<String> TEXTS = List.of("the product was great", "awful", "a lovely little thing, i think");

    @TempDir
    Path tmp;

    @BeforeAll
    static void tasks() {
        Tasks.all();
    }

    @Test
    void bertClsWithPoolerIsBertForSequenceClassification() throws IOException {
        Path dir = train(TinyModels.bert(tmp.resolve("bert"), 2, 64, 7), "cls");
        assertEquals("BertForSequenceClassification", check(dir));
    }

    @Test
    void bertClsWithoutPoolerIsBertModelPlusKilnHead() throws IOException {
        BertConfig c = new BertConfig();
        c.numHiddenLayers = 2;
        c.hiddenSize = 64;
        c.numAttentionHeads = 4;
        c.intermediateSize = 256;
        c.maxPositionEmbeddings = 128;
        Path model = tmp.resolve("bert-nopool");
        try (NDManager m = NDManager.newBaseManager()) {
            HfFolder.save(new BertModel(c, new Parameters(m, 9, 0.02f), BertModel.Heads.encoderOnly()), model,
                    TinyModels.miniLmFolder());
        }
        assertEquals("BertModel", check(train(model, "cls")));
    }

    @Test
    void bertMeanIsBertModelPlusKilnHead() throws IOException {
        assertEquals("BertModel", check(train(TinyModels.bert(tmp.resolve("bert"), 2, 64, 7), "mean")));
    }

    @Test
    void gpt2LastIsGpt2ForSequenceClassification() throws IOException {
        Path dir = train(TinyModels.gpt2(tmp.resolve("gpt"), 2, 64, 5), "last");
        assertEquals("GPT2ForSequenceClassification", check(dir));
        assertTrue(HfFolder.readConfig(dir).has("pad_token_id"));
    }

    @Test
    void gpt2MeanIsGpt2ModelPlusKilnHead() throws IOException {
        assertEquals("GPT2Model", check(train(TinyModels.gpt2(tmp.resolve("gpt"), 2, 64, 5), "mean")));
    }

    /**
     * A folder as Kiln wrote it before kiln_head.safetensors (mean pooling labelled BertForSequenceClassification,
     * head in model.safetensors) still predicts the same in Kiln; and the reference sees why it was wrong for HF.
     */
    @Test
    void oldLayoutStillLoadsAndTheReferenceCatchesItsWrongLabel() throws IOException {
        Path dir = train(TinyModels.bert(tmp.resolve("bert"), 2, 64, 7), "mean");
        Path old = tmp.resolve("old");
        var tensors = new java.util.LinkedHashMap<>(dev.kiln.io.SafeTensors.readCheckpoint(dir));
        tensors.putAll(dev.kiln.io.SafeTensors.readCheckpoint(dir.resolve(TaskFolder.HEAD_FILE)));
        JsonObject cfg = HfFolder.readConfig(dir);
        com.google.gson.JsonArray arch = new com.google.gson.JsonArray();
        arch.add("BertForSequenceClassification");
        cfg.add("architectures", arch);
        HfFolder.writeFolder(old, cfg, tensors, dir);
        Files.copy(dir.resolve(TaskFolder.META_FILE), old.resolve(TaskFolder.META_FILE));
        try (TextClassifier a = TextClassifier.load(dir, "cpu"); TextClassifier b = TextClassifier.load(old, "cpu")) {
            for (String t : TEXTS) assertEquals(a.predict(t).probabilities(), b.predict(t).probabilities());
        }
        // HF would classify the pooler output of [CLS] (the tiny model's random pooler), not the mean
        Throwable e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> check(old));
        assertTrue(e.getMessage().contains("max |logit diff|"), e.getMessage());
    }

    /** Trains three steps on a toy set (lr high enough to move the head off its init); returns final/. */
    private Path train(Path model, String pooling) throws IOException {
        List<String> lines = new ArrayList<>();
        String[] w = {"great", "awful", "lovely", "broken", "fine", "terrible"};
        for (int i = 0; i < 24; i++) {
            lines.add("{\"text\": \"it was " + w[i % 6] + " " + i + "\", \"label\": \"" + (i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c") + "\"}");
        }
        Path train = Files.write(tmp.resolve("train.jsonl"), lines);
        Gson g = new Gson();
        Path run = tmp.resolve("run-" + pooling + "-" + model.getFileName());
        String json = """
                {"model": {"name": %s, "device": "cpu"},
                 "task": {"type": "classification", "pooling": "%s"},
                 "data": {"train": %s, "max_length": 16},
                 "training": {"max_steps": 3, "batch_size": 8},
                 "optimizer": {"lr": 0.01},
                 "logging": {"tensorboard": false, "plot": false},
                 "output": {"dir": %s}}
                """.formatted(g.toJson(model.toString()), pooling, g.toJson(train.toString()), g.toJson(run.toString()));
        Runs.train(RunConfig.parse(json, "t.json", tmp, List.of()), System.err, true);
        JsonObject st = com.google.gson.JsonParser.parseString(
                Files.readString(run.resolve("checkpoints/step-3/trainer_state.json"))).getAsJsonObject();
        assertEquals(3, st.get("global_step").getAsLong());
        assertTrue(st.has("log_history") && st.has("kiln"), st.toString());
        String card = Files.readString(run.resolve("final/README.md"));
        assertTrue(card.contains("\n---\n") && card.contains("library_name: kiln") && card.contains("## Recipe"), card);
        return run.resolve("final");
    }

    /** Compares Kiln's logits with HF's class (or base model + documented head); returns the architecture. */
    static String check(Path dir) throws IOException {
        HfReference ref = HfReference.load(dir);
        JsonObject meta = TaskFolder.meta(dir);
        String pooling = meta.get("pooling").getAsString();
        int labels = meta.getAsJsonArray("labels").size();
        JsonObject cfg = HfFolder.readConfig(dir);
        assertEquals(labels, cfg.getAsJsonObject("id2label").size());
        assertEquals(labels, cfg.getAsJsonObject("label2id").size());
        boolean base = ref.architecture.equals("BertModel") || ref.architecture.equals("GPT2Model");
        Map<String, float[]> head = null;
        if (base) {
            assertTrue(Files.isRegularFile(dir.resolve(TaskFolder.HEAD_FILE)), "base model folder without " + TaskFolder.HEAD_FILE);
            for (String k : HfReference.readF32(dir.resolve("model.safetensors")).keySet()) {
                assertFalse(k.startsWith("classifier.") || k.startsWith("score."), "head key " + k + " in model.safetensors");
            }
            head = HfReference.readF32(dir.resolve(TaskFolder.HEAD_FILE));
        }
        try (TaskFolder.Opened f = TaskFolder.open(dir, ClassificationTask.TYPE, "cpu");
             NDManager m = NDManager.newBaseManager()) {
            ClassificationHead h = new ClassificationHead(f.backbone, labels, pooling);
            f.loadHead(h.prefix());
            List<Sequences.Input> in = new ArrayList<>();
            for (String t : TEXTS) in.add(Sequences.build(f.tokenizer, f.tokenizer.encode(t, false).ids(), null, 16));
            Sequences.Padded x = Sequences.pad(in, Sequences.padId(f.tokenizer));
            NDArray logits = h.logits(m.create(x.ids()), m.create(x.typeIds()), m.create(x.mask()), false);
            float[] kiln = logits.toFloatArray();
            double worst = 0;
            for (int r = 0; r < TEXTS.size(); r++) {
                float[] hf;
                if (!base) {
                    hf = ref.forward(x.ids()[r], x.typeIds()[r], x.mask()[r])[0];
                } else {
                    float[][] hidden = ref.forward(x.ids()[r], x.typeIds()[r], x.mask()[r]);
                    float[] v = pool(hidden, x.mask()[r], pooling);
                    hf = ref.architecture.equals("GPT2Model")
                            ? HfReference.linear(v, head.get("score.weight"), null)
                            : HfReference.linear(v, head.get("classifier.weight"), head.get("classifier.bias"));
                }
                assertEquals(labels, hf.length);
                for (int j = 0; j < labels; j++) worst = Math.max(worst, Math.abs(hf[j] - kiln[r * labels + j]));
            }
            System.out.printf("%s %s: max |logit diff| %.2e%n", ref.architecture, pooling, worst);
            assertTrue(worst < TOL, ref.architecture + " " + pooling + ": max |logit diff| " + worst);
            // the logits are not trivially equal (the head moved off its init)
            assertTrue(Math.abs(kiln[0] - kiln[1]) > 1e-4 || Math.abs(kiln[0] - kiln[labels]) > 1e-4);
        }
        return ref.architecture;
    }

    /** The documented Kiln heads on a base model: mean over real tokens, raw [CLS], or last real token. */
    static float[] pool(float[][] hidden, long[] mask, String pooling) {
        int h = hidden[0].length, n = 0, last = 0;
        float[] out = new float[h];
        switch (pooling) {
            case "cls":
                return hidden[0].clone();
            case "last":
                for (int i = 0; i < mask.length; i++) if (mask[i] != 0) last = i;
                return hidden[last].clone();
            default:
                double[] s = new double[h];
                for (int i = 0; i < mask.length; i++) {
                    if (mask[i] == 0) continue;
                    n++;
                    for (int j = 0; j < h; j++) s[j] += hidden[i][j];
                }
                for (int j = 0; j < h; j++) out[j] = (float) (s[j] / n);
                return out;
        }
    }
}
