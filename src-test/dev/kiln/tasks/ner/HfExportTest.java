package dev.kiln.tasks.ner;

import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.io.HfReference;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A NER folder is BertForTokenClassification / GPT2ForTokenClassification: HF's per-token logits equal Kiln's within 1e-4. */
class HfExportTest {
    static final double TOL = 1e-4;

    @TempDir
    Path tmp;

    @BeforeAll
    static void tasks() {
        Tasks.all();
    }

    @Test
    void bertNerIsBertForTokenClassification() throws IOException {
        assertEquals("BertForTokenClassification", check(train(TinyModels.bert(tmp.resolve("bert"), 2, 64, 3))));
    }

    @Test
    void gpt2NerIsGpt2ForTokenClassification() throws IOException {
        assertEquals("GPT2ForTokenClassification", check(train(TinyModels.gpt2(tmp.resolve("gpt"), 2, 64, 3))));
    }

    private Path train(Path model) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            sb.append("Angela B-PER\nMerkel I-PER\nvisited O\n").append(i % 2 == 0 ? "Paris B-LOC\n" : "Berlin B-LOC\n").append(". O\n\n");
        }
        Path train = Files.writeString(tmp.resolve("train.txt"), sb.toString());
        Gson g = new Gson();
        Path run = tmp.resolve("run-" + model.getFileName());
        Runs.train(RunConfig.parse("""
                {"model": {"name": %s, "device": "cpu"}, "task": {"type": "ner"},
                 "data": {"train": %s, "format": "conll", "max_length": 32},
                 "training": {"max_steps": 3, "batch_size": 8}, "optimizer": {"lr": 0.01},
                 "logging": {"tensorboard": false, "plot": false}, "output": {"dir": %s}}
                """.formatted(g.toJson(model.toString()), g.toJson(train.toString()), g.toJson(run.toString())),
                "t.json", tmp, List.of()), System.err, true);
        return run.resolve("final");
    }

    static String check(Path dir) throws IOException {
        HfReference ref = HfReference.load(dir);
        JsonObject cfg = HfFolder.readConfig(dir);
        int labels = cfg.getAsJsonObject("id2label").size();
        try (TaskFolder.Opened f = TaskFolder.open(dir, NerTask.TYPE, "cpu"); NDManager m = NDManager.newBaseManager()) {
            NerHead h = new NerHead(f.backbone, labels);
            f.loadHead(NerHead.PREFIX);
            List<Sequences.Input> in = new ArrayList<>();
            for (String t : List.of("Angela Merkel visited Paris.", "Berlin")) {
                in.add(Sequences.build(f.tokenizer, f.tokenizer.encode(t, false).ids(), null, 32));
            }
            Sequences.Padded x = Sequences.pad(in, Sequences.padId(f.tokenizer));
            float[] kiln = h.logits(m.create(x.ids()), m.create(x.typeIds()), m.create(x.mask()), false).toFloatArray();
            int t = x.ids()[0].length;
            double worst = 0;
            for (int r = 0; r < 2; r++) {
                float[][] hf = ref.forward(x.ids()[r], x.typeIds()[r], x.mask()[r]);
                for (int i = 0; i < t; i++) {
                    if (x.mask()[r][i] == 0) continue;
                    for (int j = 0; j < labels; j++) worst = Math.max(worst, Math.abs(hf[i][j] - kiln[(r * t + i) * labels + j]));
                }
            }
            System.out.printf("%s: max |logit diff| %.2e%n", ref.architecture, worst);
            assertTrue(worst < TOL, ref.architecture + ": max |logit diff| " + worst);
        }
        return ref.architecture;
    }
}
