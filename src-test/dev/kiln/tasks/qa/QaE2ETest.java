package dev.kiln.tasks.qa;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.cli.KilnCli;
import dev.kiln.config.ConfigException;
import dev.kiln.config.RunConfig;
import dev.kiln.metrics.SquadMetrics;
import dev.kiln.io.SafeTensors;
import dev.kiln.log.MetricsLog;
import dev.kiln.train.Runs;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end on SQuAD v1.1 (the dev part-a file, split by article): config → {@link Runs#train} → run
 * folder → {@link QuestionAnswerer} and the CLI's predict/evaluate. Short CPU runs; the longer quality run
 * is scripts/bench-qa.
 */
class QaE2ETest {
    private static final Gson GSON = new Gson();
    static final String SQUAD = "datasets/squad_v1.1/dev-v1.1-part-a.json";
    /**
     * Measured with the recipe below (seed 42, one libtorch thread on 2 shared cores): EM 8.00 / F1 12.83 after
     * training, EM 2.67 / F1 8.03 for the untrained head on the same 150 questions; with 300 training questions
     * EM 6.00 / F1 10.08. The floors sit between the untrained head and the trained run.
     */
    static final double F1_MIN = 10.0, EM_MIN = 5.0;

    @TempDir
    Path dir;

    @BeforeAll
    static void registerTasks() {
        Tasks.all();
    }

    private static String q(Path p) {
        return GSON.toJson(p.toAbsolutePath().toString());
    }

    private RunConfig config(String json) {
        return RunConfig.parse(json, "e2e.json", dir, List.of());
    }

    private static String cli(String... args) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            assertEquals(0, KilnCli.run(args, out));
        }
        return buf.toString(StandardCharsets.UTF_8).trim();
    }

    @Test
    void miniLmLearnsSquadOnTrainArticlesAndAnswersOnValidationArticles() throws IOException {
        Path squad = TestSupport.shared(SQUAD);
        TinyModels.miniLmFolder();
        Path runDir = dir.resolve("run");
        // 800 questions of the 31 training articles, one epoch at max_length 192 in batches of 16 windows;
        // 150 questions of the 8 validation articles. About 190 s with one thread (-Dqa.e2e.train=N, -Dqa.e2e.seed=S
        // to explore).
        RunConfig cfg = config("""
                {"model": {"name": "all-MiniLM-L6-v2"},
                 "task": {"type": "qa", "doc_stride": 64},
                 "data": {"train": %s, "dev_fraction": 0.2, "max_length": 192,
                          "max_train_questions": %d, "max_dev_questions": 150},
                 "training": {"epochs": 1, "batch_size": 16, "log_every_steps": 5, "freeze": "embeddings", "eval_on_start": true},
                 "optimizer": {"lr": 3e-4},
                 "schedule": {"warmup_ratio": 0.1},
                 "logging": {"tensorboard": false, "plot": false, "progress": "lines"},
                 "output": {"dir": %s},
                 "seed": %d}
                """.formatted(q(squad), Integer.getInteger("qa.e2e.train", 800), q(runDir), Integer.getInteger("qa.e2e.seed", 42)));
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        Map<String, Double> ev = o.result().bestEval;
        // the untrained head, evaluated before the first step (eval_on_start) on the same questions
        JsonObject start = MetricsLog.read(runDir.resolve(MetricsLog.FILE_NAME)).stream()
                .filter(r -> r.has("eval_f1") && r.get("step").getAsLong() == 0).findFirst().orElseThrow();
        double f1Start = start.get("eval_f1").getAsDouble(), emStart = start.get("eval_exact_match").getAsDouble();
        System.out.println("SQuAD MiniLM, " + o.result().steps + " steps: " + ev + " (untrained head: EM " + emStart
                + " F1 " + f1Start + ") in " + o.result().trainSeconds + " s");
        assertTrue(ev.get("f1") > F1_MIN && ev.get("f1") > f1Start + 3, "validation F1 " + ev + ", untrained " + f1Start);
        assertTrue(ev.get("exact_match") > EM_MIN && ev.get("exact_match") > emStart + 2,
                "validation exact match " + ev + ", untrained " + emStart);
        for (String f : List.of("config.json", "manifest.json", "metrics.jsonl", "summary.json", "final/kiln_task.json",
                "best/model.safetensors")) {
            assertTrue(Files.isRegularFile(runDir.resolve(f)), f + " missing in the run folder");
        }
        JsonObject hf = JsonParser.parseString(Files.readString(runDir.resolve("final/config.json"))).getAsJsonObject();
        assertEquals("BertForQuestionAnswering", hf.getAsJsonArray("architectures").get(0).getAsString());
        var tensors = SafeTensors.readCheckpoint(runDir.resolve("best"));
        assertEquals(List.of(2L, 384L), java.util.Arrays.stream(tensors.get("qa_outputs.weight").shape()).boxed().toList());
        assertTrue(tensors.containsKey("qa_outputs.bias"));

        // Clear questions about new text, answered by the run above (a model this small mostly learns
        // answer types, so questions whose type picks out one span of the context).
        String[][] probes = {
                {"In which year was the Eiffel Tower completed?",
                        "The Eiffel Tower is a wrought-iron lattice tower in Paris, France. It was designed by the company of "
                                + "the engineer Gustave Eiffel and was completed in 1889 for the World's Fair.", "1889"},
                {"How many people live in Fresno?",
                        "Fresno is a city in California. About 540,000 people live in Fresno, which makes it the fifth "
                                + "largest city in the state.", "540,000"}};
        try (QuestionAnswerer qa = QuestionAnswerer.load(runDir)) {
            assertEquals(runDir.resolve("best"), qa.modelDir());
            for (String[] p : probes) {
                QuestionAnswerer.Answer a = qa.answer(p[0], p[1]);
                assertEquals(p[2], a.text(), p[0] + " -> " + a);
                assertEquals(p[1].indexOf(p[2]), a.start());
                assertEquals(a.start() + p[2].length(), a.end());
                assertTrue(a.score() > 0 && a.score() <= 1, a.toString());
            }
        }

        // CLI: evaluate streams a SQuAD file through the saved model and must agree with the Java predictor;
        // predict turns JSON lines into answers
        SquadReader.Article held = SquadReader.splitByArticle(SquadReader.read(squad), 0.2, 42).dev().get(0);
        SquadReader.Article small = new SquadReader.Article(held.title(), held.paragraphs().subList(0, 2));
        Path smallFile = Files.writeString(dir.resolve("small.json"), squadJson(small));
        List<SquadReader.Example> ex = SquadReader.examples(List.of(small));
        SquadMetrics expected = new SquadMetrics();
        try (QuestionAnswerer qa = QuestionAnswerer.load(runDir)) {
            List<QuestionAnswerer.Answer> one = new java.util.ArrayList<>();
            for (SquadReader.Example e : ex) {
                one.add(qa.answer(e.question(), e.context()));
                expected.add(one.get(one.size() - 1).text(), QaTask.golds(e));
            }
            // all at once: windows of different questions in length-sorted batches, answers back in input order
            List<QuestionAnswerer.Answer> all = qa.answerAll(ex.stream().map(SquadReader.Example::question).toList(),
                    ex.stream().map(SquadReader.Example::context).toList());
            for (int i = 0; i < ex.size(); i++) {
                assertEquals(one.get(i).text(), all.get(i).text(), ex.get(i).question());
                assertEquals(one.get(i).start(), all.get(i).start());
                assertEquals(one.get(i).score(), all.get(i).score(), 1e-4);
            }
        }
        JsonObject evJson = JsonParser.parseString(cli("evaluate", runDir.toString(), "--data", smallFile.toString())).getAsJsonObject();
        assertEquals(ex.size(), evJson.get("questions").getAsInt());
        assertEquals(expected.exactMatch(), evJson.get("exact_match").getAsDouble(), 1e-9);
        assertEquals(expected.f1(), evJson.get("f1").getAsDouble(), 1e-9);
        assertTrue(evJson.get("examples_per_s").getAsDouble() > 0, evJson.toString());

        JsonObject line = new JsonObject();
        line.addProperty("id", "p1");
        line.addProperty("question", probes[0][0]);
        line.addProperty("context", probes[0][1]);
        Path in = Files.writeString(dir.resolve("in.jsonl"), line + "\n\n" + line + "\n");
        String[] out = cli("predict", runDir.toString(), "--input", in.toString()).split("\n");
        assertEquals(2, out.length);
        JsonObject r = JsonParser.parseString(out[0]).getAsJsonObject();
        assertEquals("p1", r.get("id").getAsString());
        assertEquals(probes[0][1].substring(r.get("start").getAsInt(), r.get("end").getAsInt()), r.get("answer").getAsString());
        assertTrue(r.has("score"));
    }

    /** An article as SQuAD JSON (answer_start in code points, as the format counts). */
    static String squadJson(SquadReader.Article a) {
        JsonArray paras = new JsonArray();
        for (SquadReader.Paragraph p : a.paragraphs()) {
            JsonArray qas = new JsonArray();
            for (SquadReader.Question q : p.questions()) {
                JsonArray answers = new JsonArray();
                for (SquadReader.Answer an : q.answers()) {
                    JsonObject o = new JsonObject();
                    o.addProperty("text", an.text());
                    o.addProperty("answer_start", p.context().codePointCount(0, an.start()));
                    answers.add(o);
                }
                JsonObject qo = new JsonObject();
                qo.addProperty("id", q.id());
                qo.addProperty("question", q.question());
                qo.add("answers", answers);
                qas.add(qo);
            }
            JsonObject po = new JsonObject();
            po.addProperty("context", p.context());
            po.add("qas", qas);
            paras.add(po);
        }
        JsonObject art = new JsonObject();
        art.addProperty("title", a.title());
        art.add("paragraphs", paras);
        JsonArray data = new JsonArray();
        data.add(art);
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.1");
        root.add("data", data);
        return root.toString();
    }

    @Test
    void gpt2BackboneTrainsAFewStepsAndServes() throws IOException {
        Path squad = TestSupport.shared(SQUAD);
        Path gpt = TinyModels.gpt2(dir.resolve("gpt2"), 2, 64, 3);
        Path runDir = dir.resolve("run-gpt2");
        RunConfig cfg = config("""
                {"model": {"name": %s},
                 "task": {"type": "qa", "doc_stride": 32, "max_question_length": 32},
                 "data": {"train": %s, "dev_fraction": 0.2, "max_length": 128,
                          "max_train_questions": 12, "max_dev_questions": 6},
                 "training": {"max_steps": 3, "batch_size": 4},
                 "optimizer": {"lr": 1e-3},
                 "logging": {"tensorboard": false, "plot": false},
                 "output": {"dir": %s}}
                """.formatted(q(gpt), q(squad), q(runDir)));
        Runs.Outcome o = Runs.train(cfg, System.err, true);
        assertEquals(3, o.result().steps);
        assertTrue(Double.isFinite(o.result().finalLoss), "loss " + o.result().finalLoss);
        assertTrue(o.result().lastEval.containsKey("f1") && o.result().lastEval.containsKey("exact_match"), o.result().lastEval.toString());
        JsonObject hf = JsonParser.parseString(Files.readString(runDir.resolve("final/config.json"))).getAsJsonObject();
        assertEquals("GPT2ForQuestionAnswering", hf.getAsJsonArray("architectures").get(0).getAsString());
        var tensors = SafeTensors.readCheckpoint(runDir.resolve("final"));
        assertTrue(tensors.containsKey("qa_outputs.weight") && tensors.containsKey("transformer.h.0.attn.c_attn.weight"),
                tensors.keySet().toString());
        // a context longer than one 128-token window: the answer still comes back as a piece of the context
        String ctx = "The river flows north through the valley. ".repeat(30) + "The bridge was built in 1911.";
        try (QuestionAnswerer qa = QuestionAnswerer.load(runDir)) {
            QuestionAnswerer.Answer a = qa.answer("When was the bridge built?", ctx);
            assertEquals(a.text(), ctx.substring(a.start(), a.end()));
            assertTrue(a.score() >= 0 && a.score() <= 1, a.toString());
        }
    }

    @Test
    void badSettingsAreConfigErrors() throws IOException {
        Path squad = TestSupport.shared(SQUAD);
        Path bert = TinyModels.bert(dir.resolve("bert"), 1, 32, 1);
        String base = """
                {"model": {"name": %s}, "task": {"type": "qa", "doc_stride": %d, "max_question_length": 16},
                 "data": {"train": %s, "format": "%s", "max_length": 64, "max_train_questions": 2},
                 "output": {"dir": %s}}
                """;
        ConfigException e = assertThrows(ConfigException.class,
                () -> Runs.train(config(base.formatted(q(bert), 50, q(squad), "auto", q(dir.resolve("r1")))), System.err, true));
        assertTrue(e.getMessage().startsWith("e2e.json: \"task.doc_stride\" is too large: max_length 64 leaves 45 context tokens"),
                e.getMessage());
        e = assertThrows(ConfigException.class,
                () -> Runs.train(config(base.formatted(q(bert), 8, q(squad), "csv", q(dir.resolve("r2")))), System.err, true));
        assertTrue(e.getMessage().contains("\"data.format\" is \"csv\"") && e.getMessage().contains("SQuAD v1.1 JSON"), e.getMessage());
        // Pretrained.Need: QA starts from a checkpoint; a classic model is refused before it is built
        e = assertThrows(ConfigException.class,
                () -> Runs.train(config(base.formatted("\"textcnn\"", 8, q(squad), "auto", q(dir.resolve("r3")))), System.err, true));
        assertTrue(e.getMessage().contains("\"model.name\" is \"textcnn\", a classic model (built from the data); qa needs a "
                + "pretrained transformer"), e.getMessage());
    }
}
