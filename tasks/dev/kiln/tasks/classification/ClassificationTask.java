package dev.kiln.tasks.classification;

import dev.kiln.config.MainMetric;
import dev.kiln.log.Activity;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.data.LabelledText;
import dev.kiln.metrics.ClassificationMetrics;
import dev.kiln.train.EvalOutputs;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Losses;
import dev.kiln.nn.Parameters;
import dev.kiln.inference.LengthBatches;
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

/** Single-sentence and sentence-pair classification (SST-2, MR, TREC, NLI-style pairs). */
public final class ClassificationTask implements TrainableTask {
    public static final String TYPE = "classification";
    /** The metric best/ is chosen by unless the config names one; the provider registers the same constant. */
    public static final MainMetric MAIN_METRIC = MainMetric.max("accuracy");

    /** Task settings (the config's task section plus data.max_length). */
    public static final class Settings {
        public String pooling;       // null: backbone default
        public int maxLength = 128;
        public int evalBatchSize = 64;
        public float labelSmoothing;
        /** How the data files were read (saved for {@code evaluate}). */
        public JsonObject dataSettings;
    }

    final Backbone backbone;
    final Tokenizer tok;
    final Path modelDir;
    final LabelSet labels;
    final ClassificationHead head;
    final Settings settings;
    final List<Sequences.Input> train;
    final int[] trainLabels;
    final List<Sequences.Input> dev;
    final int[] devLabels;
    final boolean pair;

    public ClassificationTask(Backbone backbone, Tokenizer tok, Path modelDir, LabelSet labels,
                              List<LabelledText> trainData, List<LabelledText> devData, Settings settings) {
        this.backbone = backbone;
        this.tok = tok;
        this.modelDir = modelDir;
        this.labels = labels;
        this.settings = settings;
        int maxLen = Math.min(settings.maxLength, backbone.maxPositions());
        String pooling = settings.pooling != null ? settings.pooling : ClassificationHead.defaultPooling(backbone);
        this.head = new ClassificationHead(backbone, labels.size(), pooling);
        this.pair = trainData.stream().anyMatch(t -> t.textPair() != null);
        this.train = encode(trainData, maxLen);
        this.trainLabels = labelIndexes(trainData);
        this.dev = devData == null ? List.of() : encode(devData, maxLen);
        this.devLabels = devData == null ? new int[0] : labelIndexes(devData);
    }

    private List<Sequences.Input> encode(List<LabelledText> data, int maxLen) {
        List<Sequences.Input> out = new ArrayList<>(data.size());
        for (LabelledText t : data) {
            long[] a = tok.encode(t.text(), false).ids();
            long[] b = t.textPair() == null ? null : tok.encode(t.textPair(), false).ids();
            out.add(Sequences.build(tok, a, b, maxLen));
        }
        return out;
    }

    private int[] labelIndexes(List<LabelledText> data) {
        int[] y = new int[data.size()];
        for (int i = 0; i < y.length; i++) y[i] = labels.index(data.get(i));
        return y;
    }

    /** A host batch: padded inputs and gold label indexes. */
    record HostBatch(Sequences.Padded x, long[] y) implements Batch {
        public int size() { return y.length; }
        public long targets() { return y.length; }
        public long tokens() { return x.tokens(); }
        public long paddedTokens() { return x.padded(); }
    }

    @Override public Backbone backbone() { return backbone; }
    @Override public int trainSize() { return train.size(); }
    @Override public int exampleLength(int index) { return train.get(index).length(); }

    /** Every parameter but the embedding tables: a classifier only looks them up (no vocabulary projection). */
    @Override
    public long flopParameters() {
        return backbone.root().matmulParameterCount();
    }
    private EvalOutputs.Classes lastEval;

    @Override public MainMetric declaredMainMetric() { return MAIN_METRIC; }

    @Override
    public Batch collate(int[] indexes) {
        List<Sequences.Input> in = new ArrayList<>(indexes.length);
        long[] y = new long[indexes.length];
        for (int i = 0; i < indexes.length; i++) {
            in.add(train.get(indexes[i]));
            y[i] = trainLabels[indexes[i]];
        }
        return new HostBatch(Sequences.pad(in, Sequences.padId(tok)), y);
    }

    @Override
    public Loss loss(Batch batch, NDManager m, boolean training) {
        HostBatch b = (HostBatch) batch;
        NDArray logits = head.logits(m.create(b.x().ids()), m.create(b.x().typeIds()), m.create(b.x().mask()), training);
        return new Loss(Losses.crossEntropySum(logits, m.create(b.y()), settings.labelSmoothing));
    }

    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        if (dev.isEmpty()) return Map.of();
        int[] pred = new int[dev.size()];
        float[][] probs = new float[dev.size()][];
        double lossSum = 0;
        int[] lengths = dev.stream().mapToInt(Sequences.Input::length).toArray();
        // batches of similar length: less padding, the same predictions
        Activity act = Activity.start("evaluating", dev.size());
        for (int[] rows : LengthBatches.batches(lengths, settings.evalBatchSize, true)) {
            act.advance(rows.length);
            List<Sequences.Input> in = new ArrayList<>(rows.length);
            long[] y = new long[rows.length];
            for (int k = 0; k < rows.length; k++) {
                in.add(dev.get(rows[k]));
                y[k] = devLabels[rows[k]];
            }
            Sequences.Padded x = Sequences.pad(in, Sequences.padId(tok));
            try (NDManager m = parent.newSubManager()) {
                NDArray logits = head.logits(m.create(x.ids()), m.create(x.typeIds()), m.create(x.mask()), false);
                lossSum += Losses.crossEntropySum(logits, m.create(y), 0f).getFloat();
                long[] am = logits.argMax(1).toLongArray();
                float[] p = logits.softmax(1).toFloatArray();
                int k = labels.size();
                for (int i = 0; i < am.length; i++) {
                    pred[rows[i]] = (int) am[i];
                    probs[rows[i]] = java.util.Arrays.copyOfRange(p, i * k, (i + 1) * k);
                }
            }
        }
        act.close();
        ClassificationMetrics cm = ClassificationMetrics.of(devLabels, pred, labels.names());
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("accuracy", cm.accuracy());
        out.put("macro_f1", cm.macroF1());
        for (int c = 0; c < labels.size(); c++) out.put("f1_" + labels.name(c), cm.f1(c));
        out.put("loss", lossSum / dev.size());
        lastEval = new EvalOutputs.Classes(labels.names(), devLabels.clone(), pred, probs);
        return out;
    }

    @Override
    public EvalOutputs evalOutputs() {
        return lastEval;
    }

    @Override
    public void save(Path dir) throws IOException {
        List<String> names = labels.names();
        JsonObject meta = new JsonObject();
        meta.addProperty("pooling", head.pooling);
        meta.addProperty("max_length", Math.min(settings.maxLength, backbone.maxPositions()));
        meta.addProperty("text_pair", pair);
        JsonArray l = new JsonArray();
        names.forEach(l::add);
        meta.add("labels", l);
        if (settings.dataSettings != null) meta.add("data", settings.dataSettings);
        String hf = hfClass(backbone, head.pooling);
        if (hf != null) {
            JsonObject cfg = TaskFolder.labelledConfig(backbone, tok, hf, names);
            cfg.addProperty("problem_type", "single_label_classification");
            TaskFolder.save(dir, TYPE, cfg, backbone.params().stateDict(), modelDir, meta);
        } else {
            // no HF class pools this way: an honest base model, the head beside it (docs/export.md)
            JsonObject labelled = TaskFolder.labelledConfig(backbone, tok, null, names);
            JsonObject extra = new JsonObject();
            extra.add("id2label", labelled.get("id2label"));
            extra.add("label2id", labelled.get("label2id"));
            if (labelled.has("pad_token_id")) extra.add("pad_token_id", labelled.get("pad_token_id"));
            TaskFolder.saveWithKilnHead(dir, TYPE, backbone, extra, backbone.params().stateDict(),
                    List.of(head.prefix()), modelDir, meta);
        }
    }

    /**
     * The HF class that computes what this head computes, or null (the architecture decides: BERT "cls" through a
     * pre-trained pooler is BertForSequenceClassification; GPT-2 "last" (last real token, right padding) is
     * GPT2ForSequenceClassification; mean pooling, BERT's raw [CLS] (no pooler in the checkpoint) and BERT "last"
     * have no HF class).
     */
    static String hfClass(Backbone backbone, String pooling) {
        return backbone.architecture().hfClass(ClassificationHead.KIND, backbone, pooling);
    }
}
