package dev.kiln.tasks.summarization;

import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;
import dev.kiln.tasks.summarization.ArticleSummary;
import dev.kiln.peft.PeftFolder;
import dev.kiln.train.Runs;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Both summarization predictors load a PEFT run's folder (adapter + head, HF PEFT layout) as the other predictors
 * do: what they compute from the adapter folder equals what they compute from the same run merged into a plain
 * folder ({@link PeftFolder#exportMerged}), which loads without PEFT.
 */
@ExtendWith(OneThreadWhenBusy.class)
class SummarizationPeftTest {
    @TempDir
    Path dir;

    private RunConfig config(Path model, Path data, String task, String out) {
        String json = """
                {
                  "model": {"name": "%s", "device": "cpu"},
                  "task": %s,
                  "data": {"train": "%s", "title_field": "title", "test_fraction": 0.25, "max_length": 96},
                  "training": {"max_steps": 2, "batch_size": 4, "eval_each_epoch": false},
                  "peft": {"method": "lora", "lora": {"r": 4}},
                  "optimizer": {"lr": 1e-2},
                  "logging": {"tensorboard": false, "plot": false, "progress": "off"},
                  "output": {"dir": "%s"}
                }""".formatted(model, task, data, dir.resolve(out));
        return RunConfig.parse(json, out + ".json", dir, List.of());
    }

    @Test
    void extractivePredictorLoadsAnAdapterFolder() throws IOException {
        Tasks.all();
        Path bert = TinyModels.bert(dir.resolve("bert"), 2, 32, 3);
        Path data = BbcSubset.write(dir.resolve("bbc.jsonl"), 12);
        RunConfig cfg = config(bert, data, "{\"type\": \"summarize-extractive\", \"top_k\": 2}", "ext");
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        Path adapter = TaskFolder.resolve(o.runDir());
        assertTrue(PeftFolder.is(adapter), adapter + " is no PEFT folder");
        Path merged = PeftFolder.exportMerged(adapter, dir.resolve("ext-merged"));
        List<String> articles = new ArrayList<>();
        for (ArticleSummary a : SummaryDataSet.of(cfg).load(cfg).test()) articles.add(a.article());
        List<ExtractiveSummarizer.Extract> fromAdapter;
        List<ExtractiveSummarizer.Extract> fromMerged;
        try (ExtractiveSummarizer s = ExtractiveSummarizer.load(o.runDir(), "cpu")) {
            fromAdapter = s.extractBatch(articles, 2, 4);
        }
        try (ExtractiveSummarizer s = ExtractiveSummarizer.load(merged, "cpu")) {
            fromMerged = s.extractBatch(articles, 2, 4);
        }
        assertEquals(3, articles.size());
        for (int i = 0; i < articles.size(); i++) {
            assertArrayEquals(fromMerged.get(i).scores(), fromAdapter.get(i).scores(), 1e-4f, "article " + i);
            assertArrayEquals(fromMerged.get(i).selected(), fromAdapter.get(i).selected());
        }
    }

    @Test
    void gptSummarizerLoadsAnAdapterFolder() throws IOException {
        Tasks.all();
        Path gpt = TinyModels.gpt2(dir.resolve("gpt"), 2, 32, 160, 3);
        Path data = BbcSubset.write(dir.resolve("bbc.jsonl"), 8);
        RunConfig cfg = config(gpt, data, """
                {"type": "summarize-gpt", "max_summary_tokens": 16, "generation": {"num_beams": 1, "max_new_tokens": 6}}""", "gpt-run");
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        Path adapter = TaskFolder.resolve(o.runDir());
        assertTrue(PeftFolder.is(adapter), adapter + " is no PEFT folder");
        Path merged = PeftFolder.exportMerged(adapter, dir.resolve("gpt-merged"));
        String article = SummaryDataSet.of(cfg).load(cfg).test().get(0).article();
        String a;
        String m;
        try (Summarizer s = Summarizer.load(o.runDir(), "cpu")) {
            a = s.summarize(article);
        }
        try (Summarizer s = Summarizer.load(merged, "cpu")) {
            m = s.summarize(article);
        }
        assertEquals(m, a);
    }
}
