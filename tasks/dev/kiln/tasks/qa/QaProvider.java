package dev.kiln.tasks.qa;

import dev.kiln.log.Activity;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.data.DataException;
import dev.kiln.data.TextRecords;
import dev.kiln.train.EvalOutputs;
import dev.kiln.data.Splits;
import dev.kiln.metrics.SquadMetrics;
import dev.kiln.models.Backbone;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.Pretrained;
import dev.kiln.train.PredictLines;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskProvider;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Registers extractive question answering (SQuAD v1.1 JSON) with the config system and the CLI. */
public final class QaProvider implements TaskProvider {

    @Override
    public String type() {
        return QaTask.TYPE;
    }

    @Override
    public void registerConfig() {
        ConfigRegistry.registerTask(QaTask.TYPE, QaOptions.class, QaData.class)
                .mainMetric(QaTask.MAIN_METRIC)
                .formats("squad");
    }

    @Override
    public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
        QaOptions opts = cfg.taskOptions(QaOptions.class);
        QaData qd = cfg.dataOptions(QaData.class);
        if (cfg.data.train == null) throw cfg.error("data.train", "is required for training");
        for (Path p : new Path[] {cfg.data.train, cfg.data.dev, cfg.data.test}) {
            if (p == null) continue;
            String f = cfg.data.formatOf(p);
            if (!"json".equals(f) && !"squad".equals(f)) {
                throw cfg.error("data.format", "is \"" + cfg.data.format + "\" for " + p.getFileName()
                        + ", but the qa task reads SQuAD v1.1 JSON (use \"auto\" with a .json file, or \"squad\")");
            }
        }
        List<SquadReader.Article> trainArticles = SquadReader.read(cfg.data.train);
        List<SquadReader.Article> devArticles = cfg.data.dev != null ? SquadReader.read(cfg.data.dev) : null;
        if (devArticles == null && cfg.data.devFraction != null) {
            Splits.Split<SquadReader.Article> s = SquadReader.splitByArticle(trainArticles, cfg.data.devFraction, cfg.seed);
            trainArticles = s.train();
            devArticles = s.dev();
        }
        List<SquadReader.Example> train = sample(SquadReader.examples(trainArticles), qd.maxTrainQuestions, cfg.seed);
        List<SquadReader.Example> dev = devArticles == null ? null
                : sample(SquadReader.examples(devArticles), qd.maxDevQuestions, cfg.seed + 1);

        Pretrained pre = Pretrained.load(cfg, manager, Pretrained.Need.checkpoint(QaTask.TYPE,
                "a pretrained transformer (e.g. all-MiniLM-L6-v2, bert-base-uncased)"));
        Path dir = pre.dir();
        Backbone backbone = pre.backbone();
        Tokenizer tok = pre.tokenizer();
        QaTask.Settings s = new QaTask.Settings();
        s.maxLength = cfg.data.maxLength;
        s.docStride = opts.docStride;
        s.maxAnswerLength = opts.maxAnswerLength;
        s.nBest = opts.nBest;
        s.maxQuestionLength = opts.maxQuestionLength;
        s.evalBatchSize = opts.evalBatchSize;
        s.labelSmoothing = (float) cfg.training.labelSmoothing;
        String bad = QaFeatures.check(tok, s.features());
        if (bad != null) {
            tok.close();
            throw cfg.error("task.doc_stride", "is too large: " + bad + " (lower task.doc_stride or task.max_question_length, "
                    + "or raise data.max_length)");
        }
        return new QaTask(backbone, tok, dir, train, dev, s);
    }

    /**
     * At most {@code max} items, a seeded uniform sample kept in file order (the first N questions would
     * all come from the first articles); null or a larger max keeps everything.
     */
    static <T> List<T> sample(List<T> items, Integer max, long seed) {
        if (max == null || max >= items.size()) return items;
        int n = items.size();
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        Random rnd = new Random(seed);
        boolean[] keep = new boolean[n];
        for (int i = 0; i < max; i++) {
            int j = i + rnd.nextInt(n - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            keep[idx[i]] = true;
        }
        List<T> out = new ArrayList<>(max);
        for (int i = 0; i < n; i++) if (keep[i]) out.add(items.get(i));
        return out;
    }

    @Override
    public Typed<QuestionAnswerer> typed() {
        return new Typed<>(QuestionAnswerer.class, QuestionAnswerer::load);
    }

    /**
     * Input lines: {"question": ..., "context": ...} (optionally "id"); output: {"answer", "start", "end", "score"}.
     * A chunk of lines is answered at once ({@link QuestionAnswerer#answerAll}: windows in length-sorted batches).
     */
    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        QuestionAnswerer qa = QuestionAnswerer.load(modelDir, device);
        return PredictLines.batched(qa, ins -> {
            List<JsonObject> objects = new ArrayList<>(ins.size());
            List<String> questions = new ArrayList<>(ins.size()), contexts = new ArrayList<>(ins.size());
            for (PredictLines.Input in : ins) {
                JsonObject o;
                try {
                    o = JsonParser.parseString(in.text()).getAsJsonObject();
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("input line " + in.number() + ": not a JSON object with \"question\" and \"context\"");
                }
                questions.add(field(o, "question", in.number()));
                contexts.add(field(o, "context", in.number()));
                objects.add(o);
            }
            List<QuestionAnswerer.Answer> answers = qa.answerAll(questions, contexts);
            List<JsonObject> out = new ArrayList<>(ins.size());
            for (int i = 0; i < ins.size(); i++) {
                QuestionAnswerer.Answer a = answers.get(i);
                JsonObject r = new JsonObject();
                if (objects.get(i).has("id")) r.add("id", objects.get(i).get("id"));
                r.addProperty("answer", a.text());
                r.addProperty("start", a.start());
                r.addProperty("end", a.end());
                r.addProperty("score", a.score());
                out.add(r);
            }
            return out;
        });
    }

    private static String field(JsonObject o, String key, int line) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new IllegalArgumentException("input line " + line + ": no string field \"" + key + "\"");
        }
        return e.getAsString();
    }

    /** Official SQuAD v1.1 exact match and F1 of the model on a SQuAD JSON file, streamed question by question. */
    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
        Path dir = TaskFolder.resolve(modelDir);
        TaskFolder.requireTask(dir, QaTask.TYPE);
        List<SquadReader.Example> examples = SquadReader.examples(SquadReader.read(data));
        SquadMetrics m = new SquadMetrics();
        long t0 = System.nanoTime();
        try (QuestionAnswerer qa = QuestionAnswerer.load(dir, device);
             Activity act = Activity.start("evaluating", examples.size())) {
            qa.stream(examples.iterator(), e -> new QaRunner.Query(e.question(), e.context(), -1, -1), (e, a) -> {
                m.add(a.text(), QaTask.golds(e));
                act.advance(1);
            });
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", dir.toString());
        out.put("data", data.toString());
        out.putAll(metrics(m));
        out.put("examples_per_s", m.count() / Math.max(1e-9, (System.nanoTime() - t0) / 1e9));
        return out;
    }

    private static Map<String, Object> metrics(SquadMetrics m) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("questions", m.count());
        out.putAll(m.toMap());
        return out;
    }

    /**
     * Rows of a table with {@code question}, {@code context} and {@code answers} columns, in slices: answers as in
     * HF's squad dataset ({"text": [...], "answer_start": [...]}) or as in SQuAD JSON ([{"text": ..}, ...]).
     */
    @Override
    public Evaluation evaluation() {
        return Evaluation.of((modelDir, device, options) -> {
            if (!options.isEmpty()) {
                throw new IllegalArgumentException("the qa task reads question, context and answers columns and takes no data options (got data."
                        + String.join(", data.", options.keySet()) + ")");
            }
            Path dir = TaskFolder.resolve(modelDir);
            TaskFolder.requireTask(dir, QaTask.TYPE);
            QuestionAnswerer qa = QuestionAnswerer.load(dir, device);
            return Scorer.of(qa, (source, rows) -> {
                List<String> questions = new ArrayList<>(rows.size()), contexts = new ArrayList<>(rows.size());
                List<List<String>> golds = new ArrayList<>(rows.size());
                for (TextRecords.JsonLine r : rows) {
                    questions.add(string(r, source, "question"));
                    contexts.add(string(r, source, "context"));
                    golds.add(golds(r, source));
                }
                List<String> predicted = new ArrayList<>(rows.size());
                for (QuestionAnswerer.Answer a : qa.answerAll(questions, contexts)) predicted.add(a.text());
                return new EvalOutputs.Texts(predicted, golds);
            });
        }, all -> {
            EvalOutputs.Texts t = (EvalOutputs.Texts) all;
            SquadMetrics m = new SquadMetrics();
            for (int i = 0; i < t.predicted().size(); i++) m.add(t.predicted().get(i), t.references().get(i));
            return metrics(m);
        });
    }

    private static String string(TextRecords.JsonLine r, Path source, String key) {
        JsonElement e = r.object().get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new DataException(source, r.line(), "no string \"" + key + "\" (fields: " + String.join(", ", r.object().keySet()) + ")");
        }
        return e.getAsString();
    }

    private static List<String> golds(TextRecords.JsonLine r, Path source) {
        JsonElement a = r.object().get("answers");
        List<String> out = new ArrayList<>();
        if (a != null && a.isJsonObject() && a.getAsJsonObject().get("text") instanceof com.google.gson.JsonArray texts) {
            for (JsonElement t : texts) if (t.isJsonPrimitive()) out.add(t.getAsString());
        } else if (a != null && a.isJsonArray()) {
            for (JsonElement x : a.getAsJsonArray()) {
                JsonElement t = x.isJsonObject() ? x.getAsJsonObject().get("text") : null;
                if (t != null && t.isJsonPrimitive()) out.add(t.getAsString());
            }
        }
        if (out.isEmpty()) {
            throw new DataException(source, r.line(), "no gold answer: \"answers\" must be {\"text\": [...], \"answer_start\": [...]} "
                    + "or [{\"text\": ..., \"answer_start\": ...}] with at least one answer");
        }
        return out;
    }
}
