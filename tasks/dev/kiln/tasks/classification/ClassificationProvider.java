package dev.kiln.tasks.classification;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.annotations.SerializedName;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.config.SettingsJson;
import dev.kiln.data.LabelledText;
import dev.kiln.data.Splits;
import dev.kiln.data.TextRecords;
import dev.kiln.metrics.ClassificationMetrics;
import dev.kiln.train.PredictLines;
import dev.kiln.train.Pretrained;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskProvider;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Registers text classification with the config system and the CLI. */
public final class ClassificationProvider implements TaskProvider {

    @Override
    public String type() {
        return ClassificationTask.TYPE;
    }

    @Override
    public void registerConfig() {
        ConfigRegistry.registerTask(ClassificationTask.TYPE, ClassificationOptions.class, null)
                .mainMetric("accuracy", RunConfig.Mode.MAX)
                .formats("label-first", "csv-headerless", "tsv-headerless");
    }

    /** How data files are read; saved with the model so {@code evaluate} reads new files the same way. */
    record DataSettings(String format, @SerializedName("encoding") String charset, String textField, String textPairField, String labelField) {
        static DataSettings of(RunConfig.Data d) {
            return new DataSettings(d.format, d.encoding, d.textField, d.textPairField, d.labelField);
        }

        List<LabelledText> read(Path file) throws IOException {
            TextRecords.Format f = TextRecords.Format.parse(format);
            TextRecords.Fields fields;
            if (f == TextRecords.Format.CSV_HEADERLESS || f == TextRecords.Format.TSV_HEADERLESS) {
                fields = textPairField == null
                        ? TextRecords.Fields.columns(column(textField), column(labelField))
                        : TextRecords.Fields.columns(column(textField), column(textPairField), column(labelField));
            } else {
                fields = TextRecords.Fields.pair(textField, textPairField, labelField);
            }
            return TextRecords.read(file, f, fields, Charset.forName(charset));
        }

        private static int column(String s) {
            try {
                return Integer.parseInt(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("headerless formats take column indexes in data.text_field / "
                        + "data.text_pair_field / data.label_field, got '" + s + "'");
            }
        }
    }

    @Override
    public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
        ClassificationOptions opts = cfg.taskOptions(ClassificationOptions.class);
        DataSettings ds = DataSettings.of(cfg.data);
        if (cfg.data.train == null) throw cfg.error("data.train", "is required for training");
        List<LabelledText> train = ds.read(cfg.data.train);
        List<LabelledText> dev = cfg.data.dev != null ? ds.read(cfg.data.dev) : null;
        if (dev == null && cfg.data.devFraction != null) {
            var split = Splits.devSplit(train, cfg.data.devFraction, cfg.seed);
            train = split.train();
            dev = split.dev();
        }
        LabelSet labels = LabelSet.fromTraining(train);
        // A dev label the model cannot predict is a data error: report it (file:line) before loading the model.
        if (dev != null) labels.indexes(dev);
        List<LabelledText> trainRows = train;
        Pretrained pre = Pretrained.load(cfg, manager, () -> texts(trainRows)); // a classic model's word vocabulary
        ClassificationTask.Settings s = new ClassificationTask.Settings();
        s.pooling = opts.pooling;
        s.maxLength = cfg.data.maxLength;
        s.evalBatchSize = opts.evalBatchSize;
        s.labelSmoothing = (float) cfg.training.labelSmoothing;
        s.dataSettings = SettingsJson.toJson(ds);
        return new ClassificationTask(pre.backbone(), pre.tokenizer(), pre.dir(), labels, train, dev, s);
    }

    /** Every training text and pair text, for a word vocabulary. */
    private static List<String> texts(List<LabelledText> rows) {
        List<String> out = new ArrayList<>(rows.size());
        for (LabelledText t : rows) {
            out.add(t.text());
            if (t.textPair() != null) out.add(t.textPair());
        }
        return out;
    }

    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        TextClassifier c = TextClassifier.load(modelDir, device);
        return new PredictLines.Predictor() {
            @Override
            public JsonObject predict(PredictLines.Input in) throws IOException {
                return predictAll(List.of(in)).get(0);
            }

            // a chunk of lines at once, so the classifier batches them by length; output keeps input order
            @Override
            public List<JsonObject> predictAll(List<PredictLines.Input> ins) throws IOException {
                List<String> texts = new ArrayList<>(), pairs = new ArrayList<>();
                for (PredictLines.Input in : ins) {
                    JsonObject o = in.json();
                    texts.add(o == null ? in.text() : PredictLines.string(o, "text", in.number(), true));
                    pairs.add(o == null ? null : PredictLines.string(o, "text_pair", in.number(), false));
                }
                List<TextClassifier.Prediction> ps = c.predictBatch(texts, pairs);
                List<JsonObject> out = new ArrayList<>(ps.size());
                for (int i = 0; i < ps.size(); i++) {
                    TextClassifier.Prediction p = ps.get(i);
                    JsonObject r = new JsonObject();
                    r.addProperty("text", texts.get(i));
                    if (pairs.get(i) != null) r.addProperty("text_pair", pairs.get(i));
                    r.addProperty("label", p.label());
                    r.addProperty("score", p.score());
                    JsonObject probs = new JsonObject();
                    p.probabilities().forEach(probs::addProperty);
                    r.add("probabilities", probs);
                    out.add(r);
                }
                return out;
            }

            @Override
            public void close() {
                c.close();
            }
        };
    }

    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
        Path dir = TaskFolder.resolve(modelDir);
        JsonObject meta = TaskFolder.requireTask(dir, ClassificationTask.TYPE);
        DataSettings ds = SettingsJson.fromJson(meta.getAsJsonObject("data"), DataSettings.class);
        List<LabelledText> rows = ds.read(data);
        try (TextClassifier c = TextClassifier.load(dir, device)) {
            LabelSet labels = LabelSet.of(c.labels());
            int[] gold = new int[rows.size()];
            int[] pred = new int[rows.size()];
            List<String> texts = new ArrayList<>(), pairs = new ArrayList<>();
            for (LabelledText t : rows) {
                texts.add(t.text());
                pairs.add(t.textPair());
            }
            long t0 = System.nanoTime();
            List<TextClassifier.Prediction> ps = c.predictBatch(texts, pairs);
            double secs = (System.nanoTime() - t0) / 1e9;
            for (int i = 0; i < rows.size(); i++) {
                gold[i] = labels.index(rows.get(i));
                pred[i] = labels.index(ps.get(i).label());
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", dir.toString());
            out.put("data", data.toString());
            out.putAll(ClassificationMetrics.of(gold, pred, c.labels()).toJson());
            out.put("examples_per_s", rows.size() / Math.max(1e-9, secs));
            return out;
        }
    }
}
