package dev.kiln.tasks.summarization;

import dev.kiln.TinyModels;
import dev.kiln.config.ConfigException;
import dev.kiln.config.RunConfig;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shipped summarization configs load and validate; their task keys are checked like the common ones. */
class SummarizationConfigsTest {
    @TempDir
    Path dir;

    @Test
    void shippedConfigsLoad() throws IOException {
        BbcSubset.file();
        Tasks.all();
        RunConfig ext = RunConfig.load(Paths.get("configs/summarize-bert-extractive-minilm.json"));
        ExtractiveOptions eo = ext.taskOptions(ExtractiveOptions.class);
        assertEquals(3, eo.topK);
        assertEquals("rougeL", ext.checkpointing.metric);
        assertEquals(RunConfig.Mode.MAX, ext.checkpointing.mode);
        assertEquals("title", ext.dataOptions(SummaryData.class).titleField);

        // the GPT config names a folder made by `kiln init-gpt2 runs/gpt2-tiny-random`; point it at a tiny one here
        Path gpt = TinyModels.gpt2(dir.resolve("gpt"), 1, 32, 1);
        RunConfig g = RunConfig.load(Paths.get("configs/summarize-gpt2-tiny.json"), List.of("model.name=" + gpt));
        GptSummaryOptions go = g.taskOptions(GptSummaryOptions.class);
        assertEquals("{article}\n\nTL;DR: ", go.promptTemplate);
        assertEquals(4, go.generation.numBeams);
        assertEquals(3, go.generation.noRepeatNgramSize);
        // both configs split the same file with the same seed and fractions: the same test examples
        assertEquals(ext.data.train, g.data.train);
        assertEquals(ext.seed, g.seed);
        assertEquals(ext.dataOptions(SummaryData.class).testFraction, g.dataOptions(SummaryData.class).testFraction);
    }

    @Test
    void taskKeysAreValidated() {
        // the configs name ../shared data; without it every load also reports the missing file
        dev.kiln.TestSupport.shared("datasets/bbc_news_summary/bbc_news_summary.jsonl");
        Tasks.all();
        ConfigException e = assertThrows(ConfigException.class, () -> RunConfig.load(
                Paths.get("configs/summarize-bert-extractive-minilm.json"),
                List.of("task.top_kk=2", "task.labels=exact")));
        String m = e.getMessage();
        assertTrue(m.contains("\"task.top_kk\"") && m.contains("did you mean \"task.top_k\""), m);
        assertTrue(m.contains("\"task.labels\" must be one of \"auto\", \"match\" or \"oracle\""), m);
        e = assertThrows(ConfigException.class, () -> RunConfig.load(
                Paths.get("configs/summarize-bert-extractive-minilm.json"), List.of("data.test=quickstart.json")));
        assertTrue(e.getMessage().contains("\"data.test\" and \"data.test_fraction\" are both set"), e.getMessage());
        Path gpt = Paths.get("configs/summarize-gpt2-tiny.json");
        e = assertThrows(ConfigException.class, () -> RunConfig.load(gpt,
                List.of("model.name=configs", "task.prompt_template=TL;DR:")));
        assertTrue(e.getMessage().contains("\"task.prompt_template\" must contain {article} exactly once"), e.getMessage());
    }
}
