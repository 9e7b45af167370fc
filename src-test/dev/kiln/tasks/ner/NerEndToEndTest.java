package dev.kiln.tasks.ner;

import com.google.gson.Gson;
import dev.kiln.inference.LengthBatches;
import dev.kiln.train.PredictLines;
import java.util.ArrayList;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;
import dev.kiln.train.Runs;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training runs on CoNLL-2003 subsets (skipped when ../shared is absent): short by design, see scripts/bench-ner. */
class NerEndToEndTest {
    @TempDir
    Path dir;

    /** The first {@code n} sentences of a CoNLL file, written as TOKEN TAG lines. */
    private Path subset(String shared, int n, String name) throws IOException {
        List<ConllReader.Sentence> s = ConllReader.readConll(TestSupport.shared(shared), new ConllReader.Options()).sentences();
        StringBuilder sb = new StringBuilder();
        for (ConllReader.Sentence x : s.subList(0, n)) {
            for (int i = 0; i < x.length(); i++) sb.append(x.tokens().get(i)).append(' ').append(x.tags().get(i)).append('\n');
            sb.append('\n');
        }
        Path p = dir.resolve(name);
        Files.writeString(p, sb.toString());
        return p;
    }

    private RunConfig config(String model, String extra) throws IOException {
        Path cfg = dir.resolve("cfg.json");
        Files.writeString(cfg, "{\"model\": {\"name\": \"" + model + "\", \"device\": \"cpu\"},"
                + " \"task\": {\"type\": \"ner\"},"
                + " \"data\": {\"train\": \"train.txt\", \"dev\": \"dev.txt\", \"format\": \"conll\"},"
                + " \"logging\": {\"tensorboard\": false, \"plot\": false, \"progress\": \"off\"},"
                + " \"output\": {\"dir\": \"" + dir.resolve("run") + "\"}}");
        Tasks.all();
        return RunConfig.load(cfg, List.of(extra.split(" ")));
    }

    @Test
    void miniLmLearnsConllSubsetAndTagsRawText() throws IOException {
        subset("datasets/conll2003/train.txt", 1500, "train.txt");
        Path dev = subset("datasets/conll2003/valid.txt", 500, "dev.txt");
        TinyModels.miniLmFolder(); // skips when the zoo model cannot be had
        RunConfig cfg = config("all-MiniLM-L6-v2", "data.max_length=64 training.epochs=1 training.batch_size=16 "
                + "optimizer.lr=2e-4 schedule.warmup_ratio=0.1");
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        double f1 = o.result().bestEval.get("f1");
        // Measured 0.698 (P 0.678, R 0.718; PER 0.92, LOC 0.68, ORG 0.44, MISC 0.17) after 94 steps, 4 min
        // on 2 shared cores; the margin covers thread-count and machine differences in float summation.
        assertTrue(f1 > 0.60, "dev entity F1 " + f1);

        try (NerTagger t = NerTagger.load(o.runDir(), "cpu")) {
            String text = "Angela Merkel visited Paris.";
            List<NerTagger.Entity> e = t.tag(text);
            assertEquals(2, e.size(), "entities: " + e);
            assertEquals("PER", e.get(0).type());
            assertEquals(0, e.get(0).start());
            assertEquals(13, e.get(0).end());
            assertEquals("Angela Merkel", e.get(0).text());
            assertEquals("LOC", e.get(1).type());
            assertEquals(22, e.get(1).start());
            assertEquals(27, e.get(1).end());
            assertEquals("Paris", text.substring(e.get(1).start(), e.get(1).end()));
            assertTrue(e.get(0).score() > 0.5 && e.get(0).score() <= 1, "score " + e.get(0).score());
        }
        // CLI evaluate reads the dev file with the saved settings and scores it as training did
        Map<String, Object> ev = Tasks.get("ner").evaluate(o.runDir(), "cpu", dev);
        assertEquals(f1, (double) ev.get("f1"), 1e-9);
        JsonObject hf = JsonParser.parseString(Files.readString(o.runDir().resolve("best/config.json"))).getAsJsonObject();
        assertEquals("BertForTokenClassification", hf.getAsJsonArray("architectures").get(0).getAsString());
        assertEquals("O", hf.getAsJsonObject("id2label").get("0").getAsString());
        assertEquals(9, hf.getAsJsonObject("label2id").size());
    }

    @Test
    void gpt2BackboneTrainsWithWindowsAndPredicts() throws IOException {
        Path model = TinyModels.gpt2(dir.resolve("gpt2"), 2, 64, 7);
        subset("datasets/conll2003/train.txt", 64, "train.txt");
        Path dev = subset("datasets/conll2003/valid.txt", 40, "dev.txt");
        // max_length 24: longer sentences are windowed in training, evaluation and prediction
        RunConfig cfg = config(model.toString(), "data.max_length=24 task.stride=8 training.max_steps=4 "
                + "training.batch_size=8 optimizer.lr=1e-3");
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        assertEquals(4, o.result().steps);
        double loss = o.result().lastEval.get("loss");
        assertTrue(Double.isFinite(loss) && loss > 0, "dev loss " + loss);
        assertTrue(o.result().lastEval.containsKey("f1"));

        Path saved = TaskFolder.resolve(o.runDir());
        JsonObject hf = JsonParser.parseString(Files.readString(saved.resolve("config.json"))).getAsJsonObject();
        assertEquals("GPT2ForTokenClassification", hf.getAsJsonArray("architectures").get(0).getAsString());
        assertTrue(hf.has("pad_token_id"));
        Map<String, Object> ev = Tasks.get("ner").evaluate(o.runDir(), "cpu", dev);
        assertEquals(40, ev.get("sentences"));
        assertEquals(o.result().bestEval.get("f1"), (double) ev.get("f1"), 1e-9);
        assertTrue((double) ev.get("examples_per_s") > 0, ev.toString());

        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        String in = "Angela Merkel visited Paris.\n\n{\"text\": \"EU rejects German call\"}\n{\"tokens\": [\"EU\", \"rejects\", \"German\", \"call\"]}\n";
        Tasks.get("ner").predict(o.runDir(), "cpu", new BufferedReader(new StringReader(in)),
                new PrintStream(buf, true, StandardCharsets.UTF_8));
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(3, lines.length);
        JsonObject first = JsonParser.parseString(lines[0]).getAsJsonObject();
        assertEquals("Angela Merkel visited Paris.", first.get("text").getAsString());
        for (var e : first.getAsJsonArray("entities")) { // whatever an untrained model finds, offsets point at its text
            JsonObject x = e.getAsJsonObject();
            assertEquals(x.get("text").getAsString(), "Angela Merkel visited Paris.".substring(x.get("start").getAsInt(), x.get("end").getAsInt()));
        }
        JsonObject last = JsonParser.parseString(lines[2]).getAsJsonObject();
        assertEquals(4, last.getAsJsonArray("tags").size());

        // a chunk of lines answers as the lines one at a time, in input order; the long ones span several windows
        List<String> dev40 = Files.readAllLines(dev);
        List<PredictLines.Input> ins = new ArrayList<>();
        ins.add(new PredictLines.Input(1, "Angela Merkel visited Paris."));
        ins.add(new PredictLines.Input(2, "{\"tokens\": [\"EU\", \"rejects\", \"German\", \"call\"]}"));
        ins.add(new PredictLines.Input(3, String.join(" ", java.util.Collections.nCopies(6, "Peter Blackburn of the European Commission said on Thursday"))));
        ins.add(new PredictLines.Input(4, "x"));
        StringBuilder words = new StringBuilder();
        for (String l : dev40.subList(0, 60)) if (!l.isBlank()) words.append(words.length() == 0 ? "" : ", ").append(new Gson().toJson(l.split(" ")[0]));
        ins.add(new PredictLines.Input(5, "{\"tokens\": [" + words + "]}"));
        try (PredictLines.Predictor p = Tasks.get("ner").predictor(o.runDir(), "cpu")) {
            List<JsonObject> together = p.predictAll(ins);
            List<JsonObject> ofOne;
            try (var b = LengthBatches.withSize(1)) {
                ofOne = p.predictAll(ins);
            }
            assertEquals(ins.size(), together.size());
            for (int i = 0; i < ins.size(); i++) {
                JsonObject alone = p.predict(ins.get(i));
                for (JsonObject got : List.of(together.get(i), ofOne.get(i))) assertSamePrediction(alone, got);
            }
            assertEquals(ins.get(2).text(), together.get(2).get("text").getAsString());
            assertTrue(together.get(4).getAsJsonArray("tags").size() > 24, together.get(4).toString());
        }
    }

    /** Equal tags and entities; entity scores equal up to float rounding (padding is masked, batch-mates differ). */
    private static void assertSamePrediction(JsonObject want, JsonObject got) {
        assertEquals(want.get("text"), got.get("text"));
        assertEquals(want.get("tokens"), got.get("tokens"));
        assertEquals(want.get("tags"), got.get("tags"));
        var we = want.getAsJsonArray("entities");
        var ge = got.getAsJsonArray("entities");
        assertEquals(we.size(), ge.size(), want + " vs " + got);
        for (int k = 0; k < we.size(); k++) {
            JsonObject w = we.get(k).getAsJsonObject().deepCopy(), g = ge.get(k).getAsJsonObject().deepCopy();
            assertEquals(w.remove("score").getAsDouble(), g.remove("score").getAsDouble(), 1e-5, want + " vs " + got);
            assertEquals(w, g);
        }
    }
}
