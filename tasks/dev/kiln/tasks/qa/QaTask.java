package dev.kiln.tasks.qa;

import dev.kiln.config.MainMetric;
import dev.kiln.log.Activity;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.config.SettingsJson;
import dev.kiln.metrics.SquadMetrics;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Losses;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Extractive question answering (SQuAD v1.1): a start/end head over a BERT or GPT-2 backbone. Training
 * examples are windows (features), each labelled with the first gold answer or with position 0 when
 * the answer is not inside it; the loss is (CE(start) + CE(end)) / 2 per window. Dev metrics are the
 * official exact match and F1 over questions, plus the dev loss per window.
 */
public final class QaTask implements TrainableTask {
    public static final String TYPE = "qa";
    /** The metric best/ is chosen by unless the config names one; the provider registers the same constant. */
    public static final MainMetric MAIN_METRIC = MainMetric.max("f1");

    /** Task settings (the config's task section plus data.max_length). */
    public static final class Settings {
        public int maxLength = 384;
        public int docStride = 128;
        public int maxAnswerLength = 30;
        public int nBest = 20;
        public int maxQuestionLength = 64;
        public int evalBatchSize = 64;
        /** Training only: not saved with the model. */
        public transient float labelSmoothing;

        QaFeatures.Settings features() {
            return new QaFeatures.Settings(maxLength, docStride, maxQuestionLength);
        }

        JsonObject toJson() {
            return SettingsJson.toJson(this);
        }

        static Settings fromJson(JsonObject o) {
            return SettingsJson.fromJson(o, Settings.class);
        }
    }

    /** A training window: ids only (offsets are not needed to compute a loss). */
    record TrainWindow(Sequences.Input input, int start, int end) {}

    final Backbone backbone;
    final Tokenizer tok;
    final Path modelDir;
    final QaHead head;
    final Settings settings;
    final List<TrainWindow> train = new ArrayList<>();
    final List<SquadReader.Example> dev;
    final int trainQuestions;

    public QaTask(Backbone backbone, Tokenizer tok, Path modelDir, List<SquadReader.Example> trainData,
                  List<SquadReader.Example> devData, Settings settings) {
        this.backbone = backbone;
        this.tok = tok;
        this.modelDir = modelDir;
        this.settings = settings;
        this.head = new QaHead(backbone);
        String bad = QaFeatures.check(tok, settings.features());
        if (bad != null) throw new IllegalArgumentException(bad);
        try (Activity act = Activity.start("tokenizing training questions", trainData.size())) {
            for (SquadReader.Example e : trainData) {
                SquadReader.Answer a = e.answers().get(0); // HF's convention: train on the first gold answer
                for (QaFeatures.Window w : QaFeatures.build(tok, e.question(), e.context(), a.start(), a.end(), settings.features())) {
                    train.add(new TrainWindow(w.input(), w.startLabel(), w.endLabel()));
                }
                act.advance(1);
            }
        }
        this.trainQuestions = trainData.size();
        this.dev = devData == null ? List.of() : devData;
    }

    /** Training windows (≥ training questions: long contexts give several). */
    public int trainWindows() {
        return train.size();
    }

    public int trainQuestions() {
        return trainQuestions;
    }

    record HostBatch(Sequences.Padded x, long[] start, long[] end) implements Batch {
        public int size() { return start.length; }
        public long targets() { return start.length; }
        public long tokens() { return x.tokens(); }
        public long paddedTokens() { return x.padded(); }
    }

    @Override public Backbone backbone() { return backbone; }

    /** Every parameter but the embedding tables: a token-level head only looks them up (no vocabulary projection). */
    @Override
    public long flopParameters() {
        return backbone.root().matmulParameterCount();
    }
    @Override public int trainSize() { return train.size(); }
    @Override public MainMetric declaredMainMetric() { return MAIN_METRIC; }

    @Override
    public Batch collate(int[] indexes) {
        List<Sequences.Input> in = new ArrayList<>(indexes.length);
        long[] s = new long[indexes.length];
        long[] e = new long[indexes.length];
        for (int i = 0; i < indexes.length; i++) {
            TrainWindow w = train.get(indexes[i]);
            in.add(w.input());
            s[i] = w.start();
            e[i] = w.end();
        }
        return new HostBatch(Sequences.pad(in, Sequences.padId(tok)), s, e);
    }

    @Override
    public Loss loss(Batch batch, NDManager m, boolean training) {
        HostBatch b = (HostBatch) batch;
        NDArray mask = m.create(b.x().mask());
        NDList l = head.logits(m.create(b.x().ids()), m.create(b.x().typeIds()), mask, training);
        // padding is excluded from the softmax, so a window's loss does not depend on its batch-mates
        NDArray s = Losses.crossEntropySum(l.get(0), m.create(b.start()), settings.labelSmoothing, mask);
        NDArray e = Losses.crossEntropySum(l.get(1), m.create(b.end()), settings.labelSmoothing, mask);
        return new Loss(s.add(e).div(Functional.scalar(s, 2f))); // scalar outlives the op: see Functional.scalar
    }

    /** Exact match and F1 (×100) over the dev questions, and the loss per dev window. */
    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        if (dev.isEmpty()) return Map.of();
        QaRunner runner = runner(head, tok, settings);
        SquadMetrics metrics = new SquadMetrics();
        List<String> predicted = new ArrayList<>();
        List<List<String>> references = new ArrayList<>();
        try (Activity act = Activity.start("evaluating", dev.size())) {
            runner.run(dev.iterator(), QaTask::labelledQuery, (ex, a) -> {
                metrics.add(a.text(), golds(ex));
                predicted.add(a.text());
                references.add(golds(ex));
                act.advance(1);
            }, parent);
        }
        Map<String, Double> out = new LinkedHashMap<>(metrics.toMap());
        out.put("loss", runner.lossSum / Math.max(1, runner.lossWindows));
        lastEval = new dev.kiln.train.EvalOutputs.Texts(predicted, references);
        return out;
    }

    private dev.kiln.train.EvalOutputs.Texts lastEval;

    @Override
    public dev.kiln.train.EvalOutputs evalOutputs() {
        return lastEval;
    }

    static QaRunner runner(QaHead head, Tokenizer tok, Settings s) {
        return new QaRunner(head, tok, s.features(), s.nBest, s.maxAnswerLength, s.evalBatchSize);
    }

    static QaRunner.Query labelledQuery(SquadReader.Example e) {
        SquadReader.Answer a = e.answers().get(0);
        return new QaRunner.Query(e.question(), e.context(), a.start(), a.end());
    }

    static List<String> golds(SquadReader.Example e) {
        List<String> g = new ArrayList<>(e.answers().size());
        for (SquadReader.Answer a : e.answers()) g.add(a.text());
        return g;
    }

    @Override
    public void save(Path dir) throws IOException {
        JsonObject cfg = backbone.configJson();
        String hf = QaHead.architecture(backbone);
        if (hf != null) {
            JsonArray arch = new JsonArray();
            arch.add(hf);
            cfg.add("architectures", arch);
        }
        backbone.architecture().addTaskConfig(cfg, tok);
        JsonObject meta = settings.toJson();
        meta.addProperty("train_questions", trainQuestions);
        meta.addProperty("train_windows", train.size());
        TaskFolder.save(dir, TYPE, cfg, backbone.params().stateDict(), modelDir, meta);
    }
}
