package dev.kiln.tasks.pretraining;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.io.HfReference;
import dev.kiln.models.BertModel;
import dev.kiln.models.Gpt2Model;
import dev.kiln.train.Runs;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pretraining folders in HF transformers: BertForPreTraining (MLM prediction logits and NSP logits) and
 * GPT2LMHeadModel (LM logits) from {@link HfReference} match Kiln's within 1e-4 on a padded row.
 */
class HfExportTest {
    static final double TOL = 1e-4;
    static final Gson G = new Gson();

    @TempDir
    Path tmp;

    @BeforeAll
    static void tasks() {
        Tasks.all();
    }

    private Path corpus() throws IOException {
        StringBuilder sb = new StringBuilder();
        String[] s = {"The river runs north through the old valley.", "A bridge was built there long ago.",
                "Boats carry grain to the town each spring.", "The mill stands by the water and turns slowly."};
        for (int d = 0; d < 12; d++) {
            for (int i = 0; i < 4; i++) sb.append(s[(d + i) % 4]).append(' ');
            sb.append("\n\n");
        }
        return Files.writeString(tmp.resolve("corpus.txt"), sb.toString());
    }

    @Test
    void bertPretrainingIsBertForPreTraining() throws IOException {
        Path mini = TinyModels.miniLmFolder();
        Path run = tmp.resolve("bert");
        Runs.train(RunConfig.parse("{\"model\": {\"config\": {\"num_hidden_layers\": 1, \"hidden_size\": 32,"
                + " \"num_attention_heads\": 2, \"intermediate_size\": 64}, \"tokenizer\": " + G.toJson(mini.toString()) + ", \"device\": \"cpu\"},"
                + " \"task\": {\"type\": \"pretrain-bert\"},"
                + " \"data\": {\"train\": " + G.toJson(corpus().toString()) + ", \"documents\": \"blank_line\", \"max_length\": 32,"
                + " \"cache_dir\": " + G.toJson(tmp.resolve("cache").toString()) + "},"
                + " \"training\": {\"max_steps\": 3, \"batch_size\": 4, \"eval_each_epoch\": false},"
                + " \"optimizer\": {\"lr\": 1e-2}, \"logging\": {\"tensorboard\": false, \"plot\": false},"
                + " \"output\": {\"dir\": " + G.toJson(run.toString()) + "}}", "t.json", tmp, List.of()), System.err, true);
        Path dir = run.resolve("final");
        HfReference ref = HfReference.load(dir);
        assertEquals("BertForPreTraining", ref.architecture);
        long[] ids = {101, 1996, 2314, 103, 2167, 102, 1037, 2958, 102, 0, 0};
        long[] types = {0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0};
        long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
        float[][] hf = ref.forward(ids, types, mask);
        float[] hfNsp = ref.nspLogits(ids, types, mask);
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = HfFolder.loadBert(dir, m, null);
            BertModel.Output o = b.forward(m.create(new long[][] {ids}), m.create(new long[][] {types}), m.create(new long[][] {mask}), false);
            float[] mlm = b.mlmLogits(o.lastHiddenState).toFloatArray();
            float[] nsp = b.nspLogits(o.pooled).toFloatArray();
            int v = hf[0].length;
            double worst = 0;
            for (int t = 0; t < 9; t++) for (int j = 0; j < v; j++) worst = Math.max(worst, Math.abs(hf[t][j] - mlm[t * v + j]));
            for (int j = 0; j < 2; j++) worst = Math.max(worst, Math.abs(hfNsp[j] - nsp[j]));
            System.out.printf("BertForPreTraining: max |logit diff| %.2e%n", worst);
            assertTrue(worst < TOL, "max |logit diff| " + worst);
        }
    }

    @Test
    void gptPretrainingIsGpt2LmHeadModel() throws IOException {
        Path gpt = TinyModels.gpt2(tmp.resolve("gpt"), 2, 64, 4);
        Path run = tmp.resolve("gptrun");
        Runs.train(RunConfig.parse("{\"model\": {\"name\": " + G.toJson(gpt.toString()) + ", \"device\": \"cpu\"},"
                + " \"task\": {\"type\": \"pretrain-gpt\"},"
                + " \"data\": {\"train\": " + G.toJson(corpus().toString()) + ", \"max_length\": 16,"
                + " \"cache_dir\": " + G.toJson(tmp.resolve("cache").toString()) + "},"
                + " \"training\": {\"max_steps\": 3, \"batch_size\": 4, \"eval_each_epoch\": false},"
                + " \"optimizer\": {\"lr\": 1e-2}, \"logging\": {\"tensorboard\": false, \"plot\": false},"
                + " \"output\": {\"dir\": " + G.toJson(run.toString()) + "}}", "t.json", tmp, List.of()), System.err, true);
        Path dir = run.resolve("final");
        HfReference ref = HfReference.load(dir);
        assertEquals("GPT2LMHeadModel", ref.architecture);
        long[] ids = {464, 7850, 4539, 5093, 832, 262};
        float[][] hf = ref.forward(ids, null, null);
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(dir, m);
            NDArray x = m.create(new long[][] {ids});
            float[] lm = g.logits(g.forward(x, null, null, null, false)).toFloatArray();
            int v = hf[0].length;
            double worst = 0;
            for (int t = 0; t < ids.length; t++) for (int j = 0; j < v; j++) worst = Math.max(worst, Math.abs(hf[t][j] - lm[t * v + j]));
            System.out.printf("GPT2LMHeadModel: max |logit diff| %.2e%n", worst);
            assertTrue(worst < TOL, "max |logit diff| " + worst);
        }
    }
}
