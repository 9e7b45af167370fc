package dev.kiln;

import com.google.gson.JsonObject;
import dev.kiln.config.ConfigException;
import dev.kiln.nn.HostTensor;
import dev.kiln.io.SafeTensors;
import dev.kiln.generate.Generator;
import dev.kiln.tasks.classification.TextClassifier;
import dev.kiln.tasks.ner.NerTagger;
import dev.kiln.tasks.qa.QuestionAnswerer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The library facade: configs from strings, a tiny end-to-end run, reopening, export round trip. */
class KilnApiTest {
    @TempDir
    Path tmp;

    /** 48 short labelled sentences: enough for a few steps and a dev set. */
    private Path data(String name, int n) throws IOException {
        String[] pos = {"great", "lovely", "excellent", "wonderful"};
        String[] neg = {"awful", "terrible", "broken", "horrible"};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean p = i % 2 == 0;
            String w = (p ? pos : neg)[i % 4];
            lines.add("{\"text\": \"the product was " + w + " number " + i + "\", \"label\": \"" + (p ? "positive" : "negative") + "\"}");
        }
        Path f = tmp.resolve(name);
        Files.write(f, lines);
        return f;
    }

    private String config(Path model, Path train, Path dev, Path out) {
        return "{\"model\": {\"name\": \"" + model + "\", \"device\": \"cpu\"},"
                + "\"task\": {\"type\": \"classification\"},"
                + "\"data\": {\"train\": \"" + train + "\", \"dev\": \"" + dev + "\", \"max_length\": 16},"
                + "\"training\": {\"max_steps\": 4, \"batch_size\": 8, \"log_every_steps\": 2},"
                + "\"optimizer\": {\"lr\": 1e-3},"
                + "\"output\": {\"dir\": \"" + out + "\"}}";
    }

    @Test
    void configErrorsNameTheKey() {
        ConfigException e = assertThrows(ConfigException.class, () -> Kiln.config(
                "{\"model\": {\"name\": \"all-MiniLM-L6-v2\"}, \"task\": {\"type\": \"classification\"}, \"traning\": {}}"));
        assertTrue(e.getMessage().contains("traning"), e.getMessage());
    }

    @Test
    void overwriteRefusesFoldersThatAreNotRuns() throws IOException {
        Path out = tmp.resolve("precious");
        Files.createDirectories(out);
        Files.writeString(out.resolve("notes.txt"), "keep me");
        String json = config(tmp, data("train.jsonl", 16), data("dev.jsonl", 8), out);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Kiln.training(json).overwrite().quiet().run());
        assertTrue(e.getMessage().contains("is not a Kiln run"), e.getMessage());
        assertTrue(Files.exists(out.resolve("notes.txt")));
    }

    @Test
    void cosine() {
        assertEquals(1.0, Kiln.cosine(new float[] {1, 2}, new float[] {2, 4}), 1e-9);
        assertEquals(0.0, Kiln.cosine(new float[] {1, 0}, new float[] {0, 3}), 1e-9);
    }

    @Test
    void trainReopenPredictExport() throws IOException {
        Path model = TinyModels.bert(tmp.resolve("tiny-bert"), 2, 64, 3);
        Path dev = data("dev.jsonl", 16);
        Path out = tmp.resolve("run");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        String json = config(model, data("train.jsonl", 48), dev, out);
        Kiln.Run run = Kiln.training(json).console(new PrintStream(console, true, StandardCharsets.UTF_8)).run();
        String printed = console.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("step 4/4"), printed);
        assertTrue(printed.contains("training loss"), "ASCII curve at the end: " + printed);
        assertFalse(printed.contains("\r"));
        assertEquals(4, run.result().steps);

        // the same directory opened afresh
        Kiln.Run again = Kiln.run(out);
        assertEquals("classification", again.task());
        assertTrue(again.finalEval().containsKey("accuracy"), again.finalEval().toString());
        assertFalse(again.metrics().isEmpty());
        BufferedImage img = again.lossPlot();
        assertEquals(900, img.getWidth());
        assertTrue(again.toString().contains("4 steps"), again.toString());

        Map<String, Object> m = again.evaluate(dev);
        assertEquals(again.finalEval().get("accuracy"), ((Number) m.get("accuracy")).doubleValue(), 1e-9);
        List<JsonObject> preds = again.predict(List.of("the product was great", "{\"text\": \"the product was awful\"}"));
        assertEquals(2, preds.size());
        assertEquals("the product was awful", preds.get(1).get("text").getAsString());

        Path exported = again.export(tmp.resolve("export"));
        assertFalse(Files.exists(exported.resolve("checkpoints")));
        assertTrue(Files.isRegularFile(exported.resolve("tokenizer.json")) || Files.isRegularFile(exported.resolve("vocab.txt")));
        Map<String, HostTensor> a = SafeTensors.readCheckpoint(again.modelDir());
        Map<String, HostTensor> b = SafeTensors.readCheckpoint(exported);
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(a.get(k).toFloats(), b.get(k).toFloats(), k);
        try (TextClassifier c1 = again.classifier(); TextClassifier c2 = Kiln.classifier(exported)) {
            assertEquals(c1.predict("the product was lovely").probabilities(), c2.predict("the product was lovely").probabilities());
        }

        // re-running into the same folder: overwrite() starts over
        Kiln.Run fresh = Kiln.training(json).set("training.max_steps=2").overwrite().quiet().run();
        assertEquals(2, fresh.result().steps);
        assertEquals(2, Kiln.run(out).summary().get("steps").getAsInt());
    }

    /** A 2-step NER run of a 1-layer BERT in {@code out}. */
    private Kiln.Run nerRun(Path out) throws IOException {
        Path model = TinyModels.bert(tmp.resolve("tiny-bert"), 1, 32, 5);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            lines.add("{\"tokens\": [\"Anna\", \"lives\", \"in\", \"Oslo\", \"" + i + "\"], "
                    + "\"tags\": [\"B-PER\", \"O\", \"O\", \"B-LOC\", \"O\"]}");
        }
        Path data = Files.write(tmp.resolve("ner.jsonl"), lines);
        return Kiln.training("{\"model\": {\"name\": \"" + model + "\", \"device\": \"cpu\"},"
                + "\"task\": {\"type\": \"ner\"}, \"data\": {\"train\": \"" + data + "\", \"format\": \"jsonl\", \"max_length\": 32},"
                + "\"training\": {\"max_steps\": 2, \"batch_size\": 8}, \"optimizer\": {\"lr\": 1e-3},"
                + "\"logging\": {\"tensorboard\": false, \"plot\": false}, \"output\": {\"dir\": \"" + out + "\"}}").quiet().run();
    }

    @Test
    void typedPredictorsOpenTheirTaskAndNameAWrongOne() throws IOException {
        Path out = tmp.resolve("ner-run");
        Kiln.Run run = nerRun(out);
        String text = "Anna lives in Oslo";
        try (NerTagger a = run.tagger(); NerTagger b = Kiln.ner(out, "cpu")) {
            assertTrue(a.labels().containsAll(List.of("O", "B-PER", "B-LOC")), a.labels().toString());
            assertEquals(a.modelDir(), b.modelDir());
            NerTagger.Tagged t = a.tagText(text);
            assertEquals(List.of("Anna", "lives", "in", "Oslo"), t.words());
            assertEquals(t.tags(), b.tagText(text).tags());
            for (NerTagger.Entity e : t.entities()) assertEquals(e.text(), text.substring(e.start(), e.end()));
        }
        // a typed accessor on another task's run says what the folder holds
        IOException e = assertThrows(IOException.class, () -> Kiln.questionAnswerer(out));
        assertTrue(e.getMessage().endsWith("holds a 'ner' model, not 'qa'"), e.getMessage());
        e = assertThrows(IOException.class, () -> run.summarizer());
        assertTrue(e.getMessage().contains("holds a 'ner' model, not 'summarize-gpt'"), e.getMessage());
        e = assertThrows(IOException.class, () -> Kiln.extractiveSummarizer(tmp));
        assertTrue(e.getMessage().contains("not a Kiln model or run folder"), e.getMessage());

        // the generic lookup: the folder's task declares its predictor class, the facade names no task
        try (NerTagger a = run.predictor(NerTagger.class); NerTagger b = run.tagger()) {
            assertEquals(b.tagText(text).tags(), a.tagText(text).tags());
        }
        try (AutoCloseable any = Kiln.predictor(out, AutoCloseable.class, "cpu")) {
            assertTrue(any instanceof NerTagger, any.getClass().toString());
        } catch (Exception x) {
            throw new AssertionError(x);
        }
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> Kiln.predictor(out, QuestionAnswerer.class));
        assertTrue(wrong.getMessage().endsWith("holds a 'ner' model, whose predictor is NerTagger, not QuestionAnswerer"),
                wrong.getMessage());
    }

    @Test
    void generatorOpensAPretrainingRun() throws IOException {
        Path text = Files.writeString(tmp.resolve("corpus.txt"), "to be or not to be, that is the question. ".repeat(40));
        Path out = tmp.resolve("gpt-run");
        Kiln.Run run = Kiln.training("{\"model\": {\"config\": {\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 16}, \"tokenizer\": \"char\", \"device\": \"cpu\"},"
                + "\"task\": {\"type\": \"pretrain-gpt\"}, \"data\": {\"train\": \"" + text + "\", \"documents\": \"file\", \"max_length\": 16},"
                + "\"training\": {\"max_steps\": 2, \"batch_size\": 4}, \"optimizer\": {\"lr\": 1e-3},"
                + "\"logging\": {\"tensorboard\": false, \"plot\": false}, \"output\": {\"dir\": \"" + out + "\"}}").quiet().run();
        try (Generator a = run.generator(); Generator b = Kiln.generator(run.modelDir())) {
            var o = a.defaults();
            o.maxNewTokens = 6;
            String x = a.generate("to be", o);
            assertEquals(x, b.generate("to be", o));
            assertTrue(x.length() > 0, "generated '" + x + "'");
            try (Generator c = run.predictor(Generator.class)) {
                assertEquals(x, c.generate("to be", o)); // pretrain-gpt's typed predictor
            }
        }
    }
}
