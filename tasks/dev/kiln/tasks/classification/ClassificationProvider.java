package dev.kiln.tasks.classification;

import dev.kiln.log.Activity;
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
import dev.kiln.train.DataOptions;
import dev.kiln.train.EvalOutputs;
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
                .mainMetric(ClassificationTask.MAIN_METRIC)
                .formats("label-first", "csv-headerless", "tsv-headerless");
    }

    /** How data files are read; saved with the model so {@code evaluate} reads new files the same way. */
    record DataSettings(String format, @SerializedName("encoding") String charset, String textField, String textPairField, String labelField,
                        Map<String, String> labelNames) {
        /** The data keys {@code evaluate} and {@code predict} take on the command line. */
        static final List<String> OPTIONS = List.of("format", "encoding", "text_field", "text_pair_field", "label_field");

        static DataSettings of(RunConfig.Data d) {
            return of(d, null);
        }

        static DataSettings of(RunConfig.Data d, Map<String, String> labelNames) {
            return new DataSettings(d.format, d.encoding, d.textField, d.textPairField, d.labelField,
                    labelNames == null ? Map.of() : labelNames);
        }

        /** The file's rows, labels renamed by task.label_names. */
        List<LabelledText> read(Path file) throws IOException {
            return rename(readRaw(file));
        }

        List<LabelledText> rename(List<LabelledText> rows) {
            if (labelNames == null || labelNames.isEmpty()) return rows;
            List<LabelledText> out = new ArrayList<>(rows.size());
            for (LabelledText t : rows) {
                out.add(new LabelledText(t.text(), t.textPair(), labelNames.getOrDefault(t.label(), t.label()), t.file(), t.line()));
            }
            return out;
        }

        private List<LabelledText> readRaw(Path file) throws IOException {
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
        DataSettings ds = DataSettings.of(cfg.data, opts.labelNames);
        if (cfg.data.train == null) throw cfg.error("data.train", "is required for training");
        List<LabelledText> raw = ds.readRaw(cfg.data.train);
        checkLabelNames(cfg, opts.labelNames, raw);
        List<LabelledText> train = ds.rename(raw);
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

    /** task.label_names must name labels the training file holds, each with its own non-blank name. */
    private static void checkLabelNames(RunConfig cfg, Map<String, String> names, List<LabelledText> train) {
        if (names == null || names.isEmpty()) return;
        java.util.Set<String> held = new java.util.TreeSet<>();
        for (LabelledText t : train) held.add(t.label());
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Map.Entry<String, String> e : names.entrySet()) {
            if (!held.contains(e.getKey())) {
                throw cfg.error("task.label_names", "names label \"" + e.getKey() + "\", which " + cfg.data.train.getFileName()
                        + " does not hold (its labels: " + String.join(", ", held) + ")");
            }
            if (e.getValue() == null || e.getValue().isBlank()) throw cfg.error("task.label_names", "gives label \"" + e.getKey() + "\" a blank name");
            if (!seen.add(e.getValue())) throw cfg.error("task.label_names", "gives the name \"" + e.getValue() + "\" to two labels");
        }
        for (String l : held) {
            if (!names.containsKey(l) && seen.contains(l)) {
                throw cfg.error("task.label_names", "renames another label to \"" + l + "\", which is also a label of its own");
            }
        }
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
    public Typed<TextClassifier> typed() {
        return new Typed<>(TextClassifier.class, TextClassifier::load);
    }

    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device) throws IOException {
        return predictor(modelDir, device, Map.of());
    }

    /**
     * A JSON line's text is under {@code text} (and {@code text_pair}), else under the run's data.text_field
     * ({@code sentence} for SST-2); {@code --set data.text_field=...} names another field.
     */
    @Override
    public PredictLines.Predictor predictor(Path modelDir, String device, Map<String, String> options) throws IOException {
        Path dir = TaskFolder.resolve(modelDir);
        DataSettings ds = settings(dir, options);
        String textKey = options.containsKey("text_field") ? ds.textField() : "text";
        String pairKey = options.containsKey("text_pair_field") ? ds.textPairField() : "text_pair";
        TextClassifier c = TextClassifier.load(dir, device);
        return PredictLines.batched(c, ins -> {
            // a chunk of lines at once, so the classifier batches them by length; output keeps input order
            List<String> texts = new ArrayList<>(), pairs = new ArrayList<>();
            for (PredictLines.Input in : ins) {
                JsonObject o = in.json();
                int n = in.number();
                texts.add(o == null ? in.text() : PredictLines.text(in.text(), o, textKey, ds.textField(), n));
                pairs.add(o == null ? null
                        : PredictLines.string(o, o.has(pairKey) || ds.textPairField() == null ? pairKey : ds.textPairField(), n, false));
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
        });
    }

    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data) throws IOException {
        return evaluate(modelDir, device, data, Map.of());
    }

    /** The run's data settings (kiln_task.json) with command-line data options over them. */
    private static DataSettings settings(Path dir, Map<String, String> options) throws IOException {
        JsonObject meta = TaskFolder.requireTask(dir, ClassificationTask.TYPE);
        return SettingsJson.fromJson(DataOptions.merge(meta.getAsJsonObject("data"), options, DataSettings.OPTIONS, ClassificationTask.TYPE),
                DataSettings.class);
    }

    @Override
    public Map<String, Object> evaluate(Path modelDir, String device, Path data, Map<String, String> options) throws IOException {
        Path dir = TaskFolder.resolve(modelDir);
        DataSettings ds = settings(dir, options);
        List<LabelledText> rows = ds.read(data);
        try (TextClassifier c = TextClassifier.load(dir, device)) {
            Activity act = Activity.start("evaluating", rows.size());
            long t0 = System.nanoTime();
            EvalOutputs.Classes got = outputs(c, rows, act);
            double secs = (System.nanoTime() - t0) / 1e9;
            act.close();
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", dir.toString());
            out.put("data", data.toString());
            out.putAll(metrics(got));
            out.put("examples_per_s", rows.size() / Math.max(1e-9, secs));
            return out;
        }
    }

    /** Gold and predicted class of each row, in chunks that the classifier batches by length; {@code act} may be null. */
    private static EvalOutputs.Classes outputs(TextClassifier c, List<LabelledText> rows, Activity act) throws IOException {
        LabelSet labels = LabelSet.of(c.labels());
        int[] gold = new int[rows.size()];
        int[] pred = new int[rows.size()];
        int bs = PredictLines.CHUNK;
        for (int s = 0; s < rows.size(); s += bs) {
            List<LabelledText> chunk = rows.subList(s, Math.min(rows.size(), s + bs));
            List<String> texts = new ArrayList<>();
            List<String> pairs = new ArrayList<>();
            for (LabelledText t : chunk) {
                texts.add(t.text());
                pairs.add(t.textPair());
            }
            List<TextClassifier.Prediction> ps = c.predictBatch(texts, pairs);
            if (act != null) act.advance(chunk.size());
            for (int i = 0; i < chunk.size(); i++) {
                gold[s + i] = labels.index(chunk.get(i));
                pred[s + i] = labels.index(ps.get(i).label());
            }
        }
        return new EvalOutputs.Classes(c.labels(), gold, pred, null);
    }

    private static Map<String, Object> metrics(EvalOutputs all) {
        EvalOutputs.Classes c = (EvalOutputs.Classes) all;
        return ClassificationMetrics.of(c.gold(), c.predicted(), c.labels()).toJson();
    }

    /** Rows of a table read as JSONL records (data.text_field, data.text_pair_field, data.label_field), in slices. */
    @Override
    public Evaluation evaluation() {
        return Evaluation.of((modelDir, device, options) -> {
            Path dir = TaskFolder.resolve(modelDir);
            DataSettings ds = settings(dir, options);
            TextRecords.Fields fields = TextRecords.Fields.pair(ds.textField(), ds.textPairField(), ds.labelField());
            TextClassifier c = TextClassifier.load(dir, device);
            return Scorer.of(c, (source, rows) -> outputs(c, ds.rename(TextRecords.fromJson(source, rows, fields)), null));
        }, ClassificationProvider::metrics);
    }
}
