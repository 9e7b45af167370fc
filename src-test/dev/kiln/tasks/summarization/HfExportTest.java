package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDManager;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.io.HfReference;
import dev.kiln.models.bert.BertModel;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.Runs;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The extractive summarizer is no HF head class: its folder is a BertModel for HF, the sentence scorer in
 * kiln_head.safetensors. HF BertModel's last_hidden_state at each sentence's [CLS] through that head gives
 * Kiln's sentence scores within 1e-4.
 */
class HfExportTest {
    @TempDir
    Path tmp;

    @Test
    void extractiveIsBertModelPlusKilnHead() throws IOException {
        Path model = TinyModels.bert(tmp.resolve("bert"), 2, 64, 3);
        Path data = BbcSubset.write(tmp.resolve("bbc.jsonl"), 12);
        Tasks.all();
        Path run = tmp.resolve("run");
        Runs.train(RunConfig.parse("""
                {"model": {"name": "%s", "device": "cpu"},
                 "task": {"type": "summarize-extractive", "top_k": 3, "eval_max_examples": 2},
                 "data": {"train": "%s", "title_field": "title", "dev_fraction": 0.2, "max_length": 64},
                 "training": {"max_steps": 3, "batch_size": 4, "eval_each_epoch": false},
                 "optimizer": {"lr": 0.01},
                 "logging": {"tensorboard": false, "plot": false}, "output": {"dir": "%s"}}
                """.formatted(model, data, run), "t.json", tmp, List.of()), System.err, true);
        Path dir = run.resolve("final");
        HfReference ref = HfReference.load(dir);
        assertEquals("BertModel", ref.architecture);
        for (String k : HfReference.readF32(dir.resolve("model.safetensors")).keySet()) assertFalse(k.startsWith("classifier."), k);
        Map<String, float[]> head = HfReference.readF32(dir.resolve(TaskFolder.HEAD_FILE));
        List<String> sentences = List.of("The bridge opened in spring.", "Traffic rose by a third.", "Locals were pleased.");
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            SentenceScorer s = new SentenceScorer(bert, tok, 64, "cls");
            TaskFolder.loadHead(bert.params, dir, SentenceScorer.HEAD + ".");
            SentenceInputs.Encoded e = s.encode(sentences);
            float[] kiln = s.scores(List.of(e), m, 1).get(0);
            float[][] hidden = ref.forward(e.ids(), e.typeIds(), null);
            double worst = 0;
            for (int i = 0; i < e.cls().length; i++) {
                float hf = HfReference.linear(hidden[e.cls()[i]], head.get("classifier.weight"), head.get("classifier.bias"))[0];
                worst = Math.max(worst, Math.abs(hf - kiln[i]));
            }
            System.out.printf("extractive on BertModel: max |score diff| %.2e%n", worst);
            assertEquals(3, kiln.length);
            assertTrue(worst < 1e-4, "max |score diff| " + worst);
        }
    }
}
