package dev.kiln.tasks.classification;

import dev.kiln.TestSupport;
import dev.kiln.config.RunConfig;
import dev.kiln.data.LabelledText;
import dev.kiln.data.Splits;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shipped classification configs load, and their data reads as the dataset's SOURCE.md describes. */
class ClassificationConfigsTest {
    @BeforeAll
    static void tasks() {
        Tasks.all();
    }

    private static List<LabelledText> read(RunConfig c, Path file) throws IOException {
        return ClassificationProvider.DataSettings.of(c.data).read(file);
    }

    @Test
    void sst2ConfigsReadTheFullTrainAndDevSets() throws IOException {
        TestSupport.shared("datasets/sst2/stsa.binary.train");
        for (String name : List.of("sst2-minilm", "sst2-bert-base")) {
            RunConfig c = RunConfig.load(Paths.get("configs/" + name + ".json"));
            assertEquals("classification", c.task.type);
            assertEquals(64, c.data.maxLength);
            assertEquals(Paths.get("runs/" + name).toAbsolutePath(), c.output.dir);
            List<LabelledText> train = read(c, c.data.train);
            List<LabelledText> dev = read(c, c.data.dev);
            assertEquals(6920, train.size(), name);
            assertEquals(872, dev.size(), name);
            assertEquals(List.of("0", "1"), LabelSet.fromTraining(train).names());
            assertEquals(3610, train.stream().filter(t -> t.label().equals("1")).count());
        }
        RunConfig bert = RunConfig.load(Paths.get("configs/sst2-bert-base.json"));
        assertEquals("bert-base-uncased", bert.model.name);
        assertEquals(2e-5, bert.optimizer.lr);
    }

    @Test
    void trecConfigReadsLatin1AndHoldsOutAStratifiedTenth() throws IOException {
        TestSupport.shared("datasets/trec/TREC.train.all");
        RunConfig c = RunConfig.load(Paths.get("configs/trec-minilm.json"));
        assertEquals("iso-8859-1", c.data.encoding);
        List<LabelledText> all = read(c, c.data.train);
        assertEquals(5452, all.size());
        assertEquals(List.of("0", "1", "2", "3", "4", "5"), LabelSet.fromTraining(all).names());
        assertTrue(all.stream().anyMatch(t -> t.text().chars().anyMatch(ch -> ch > 127)), "the Latin-1 bytes decode");
        var split = Splits.devSplit(all, c.data.devFraction, c.seed);
        assertEquals(5452, split.train().size() + split.dev().size());
        assertEquals(545, split.dev().size(), 1.0);
        // ABBR (2) has only 86 questions; the stratified split still puts some in dev
        assertEquals(9, split.dev().stream().filter(t -> t.label().equals("2")).count());
    }
}
