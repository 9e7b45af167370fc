package dev.kiln.tasks.classification;

import dev.kiln.log.Activity;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.config.ConfigRegistry;
import dev.kiln.config.RunConfig;
import dev.kiln.data.LabelSet;
import dev.kiln.data.LabelledText;
import dev.kiln.data.Splits;
import dev.kiln.data.TextRecords;
import dev.kiln.metrics.ClassificationMetrics;
import dev.kiln.train.PredictLines;
import dev.kiln.train.Pretrained;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskProvider;
import dev.kiln.train.TrainableTask;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
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
    record DataSettings(String format, String charset, String textField, String textPairField, String labelField) {
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

        JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("format", format);
            o.addProperty("encoding", charset);
            o.addProperty("text_field", textField);
            if (textPairField != null) o.addProperty("text_pair_field", textPairField);
            o.addProperty("label_field", labelField);
            return o;
        }

        static DataSettings fromJson(JsonObject o) {
            return new DataSettings(o.get("format").getAsString(), o.get("encoding").getAsString(),
                    o.get("text_field").getAsString(),
                    o.has("text_pair_field") ? o.get("text_pair_field").getAsString() : null,
                    o.get("label_field").getAsString());
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
        s.dataSettings = ds.toJson();
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
    public void predict(Path modelDir, String device, BufferedReader in, PrintStream out) throws IOException {
        try (TextClassifier c = TextClassifier.load(modelDir, device)) {
            PredictLines.forEach(in, (n, line, o) -> {
                String text = o == null ? line : PredictLines.string(o, "text", n, true);
                String pair = o == null ? null : PredictLines.string(o, "text_pair", n, false);
                TextClassifier.Prediction p = pair == null ? c.predict(text) : c.predict(text, pair);
                JsonObject r = new JsonObject();
                r.addProperty("text", text);
                if (pair != null) r.addProperty("text_pair", pair);
                r.addProperty("label", p.label());
                r.addProperty("score", p.score());
                JsonObject probs = new JsonObject();
                p.probabilities().forEach(probs::addProperty);
                r.add("probabilities", probs);
                out.println(r);
            });
        }
    }

    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
        Path dir = TaskFolder.resolve(modelDir);
        JsonObject meta = TaskFolder.requireTask(dir, ClassificationTask.TYPE);
        DataSettings ds = DataSettings.fromJson(meta.getAsJsonObject("data"));
        List<LabelledText> rows = ds.read(data);
        try (TextClassifier c = TextClassifier.load(dir, device)) {
            LabelSet labels = LabelSet.of(c.labels());
            int[] gold = new int[rows.size()];
            int[] pred = new int[rows.size()];
            int bs = 64;
            Activity act = Activity.start("evaluating", rows.size());
            for (int s = 0; s < rows.size(); s += bs) {
                List<LabelledText> chunk = rows.subList(s, Math.min(rows.size(), s + bs));
                act.advance(chunk.size());
                List<String> texts = new ArrayList<>();
                List<String> pairs = new ArrayList<>();
                for (LabelledText t : chunk) {
                    texts.add(t.text());
                    pairs.add(t.textPair());
                }
                List<TextClassifier.Prediction> ps = c.predictBatch(texts, pairs);
                for (int i = 0; i < chunk.size(); i++) {
                    gold[s + i] = labels.index(chunk.get(i));
                    pred[s + i] = labels.index(ps.get(i).label());
                }
            }
            act.close();
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", dir.toString());
            out.put("data", data.toString());
            out.putAll(ClassificationMetrics.of(gold, pred, c.labels()).toJson());
            return out;
        }
    }
}
