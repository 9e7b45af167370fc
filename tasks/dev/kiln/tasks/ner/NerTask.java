package dev.kiln.tasks.ner;

import dev.kiln.config.MainMetric;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.metrics.SeqevalMetrics;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Losses;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Named-entity recognition (CoNLL-2003, WNUT-17 ...): a label per word on its first sub-token, the
 * other sub-tokens ignored; entity-level F1 as seqeval computes it. A training example is one window
 * of a sentence (most sentences are one window).
 */
public final class NerTask implements TrainableTask {
    public static final String TYPE = "ner";
    /** The metric best/ is chosen by unless the config names one; the provider registers the same constant. */
    public static final MainMetric MAIN_METRIC = MainMetric.max("f1");

    /** Task settings (the config's task section plus data.max_length). */
    public static final class Settings {
        public int maxLength = 128;
        public int stride = 16;
        public int evalBatchSize = 64;
        public float labelSmoothing;
        /** How the data files were read (saved for {@code evaluate}). */
        public JsonObject dataSettings;
    }

    final Backbone backbone;
    final Tokenizer tok;
    final Path modelDir;
    final List<String> labels;
    final Map<String, Integer> labelIndex = new HashMap<>();
    final NerHead head;
    final Settings settings;
    final int maxLength;
    final List<WordAlignment.Window> train = new ArrayList<>();
    final List<long[]> trainLabels = new ArrayList<>();
    final List<ConllReader.Sentence> dev;
    final List<List<WordAlignment.Window>> devWindows = new ArrayList<>();
    final List<int[]> devGold = new ArrayList<>();

    public NerTask(Backbone backbone, Tokenizer tok, Path modelDir, List<ConllReader.Sentence> trainData,
                   List<ConllReader.Sentence> devData, Settings settings) {
        this.backbone = backbone;
        this.tok = tok;
        this.modelDir = modelDir;
        this.settings = settings;
        this.maxLength = Math.min(settings.maxLength, backbone.maxPositions());
        this.labels = labelsOf(trainData);
        for (int i = 0; i < labels.size(); i++) labelIndex.put(labels.get(i), i);
        this.head = new NerHead(backbone, labels.size());
        for (ConllReader.Sentence s : trainData) {
            int[] y = indexes(s.tags());
            for (WordAlignment.Window w : windows(s.tokens())) {
                train.add(w);
                trainLabels.add(w.labels(y));
            }
        }
        this.dev = devData == null ? List.of() : devData;
        for (ConllReader.Sentence s : dev) {
            devWindows.add(windows(s.tokens()));
            devGold.add(indexes(s.tags()));
        }
    }

    /** O first, then B-/I- of each entity type in name order (I-X too when only B-X occurs, so X can span words). */
    static List<String> labelsOf(List<ConllReader.Sentence> data) {
        TreeSet<String> types = new TreeSet<>();
        for (ConllReader.Sentence s : data) for (String t : s.tags()) if (!t.equals("O")) types.add(t.substring(2));
        if (types.isEmpty()) {
            throw new dev.kiln.data.DataException("the training data has no entities (every tag is O); check data.tag_column");
        }
        List<String> out = new ArrayList<>();
        out.add("O");
        for (String t : types) {
            out.add("B-" + t);
            out.add("I-" + t);
        }
        return out;
    }

    private List<WordAlignment.Window> windows(List<String> words) {
        return WordAlignment.windows(tok, WordAlignment.ofWords(tok, words), maxLength, settings.stride);
    }

    /** Label indexes of tags; -100 for a tag the training data never had (it then counts as missed, not as loss). */
    private int[] indexes(List<String> tags) {
        int[] y = new int[tags.size()];
        for (int i = 0; i < y.length; i++) y[i] = labelIndex.getOrDefault(tags.get(i), (int) WordAlignment.IGNORE);
        return y;
    }

    /** A host batch: padded windows and per-token labels (-100 off first sub-tokens and on padding). */
    record HostBatch(Sequences.Padded x, long[] y, long targets) implements Batch {
        public int size() { return x.ids().length; }
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
        for (int i : indexes) in.add(train.get(i).input());
        Sequences.Padded x = Sequences.pad(in, Sequences.padId(tok));
        int t = x.ids()[0].length;
        long[] y = new long[indexes.length * t];
        java.util.Arrays.fill(y, WordAlignment.IGNORE);
        for (int b = 0; b < indexes.length; b++) {
            long[] yw = trainLabels.get(indexes[b]);
            System.arraycopy(yw, 0, y, b * t, yw.length);
        }
        return new HostBatch(x, y, Losses.targets(y));
    }

    @Override
    public Loss loss(Batch batch, NDManager m, boolean training) {
        HostBatch b = (HostBatch) batch;
        NDArray logits = head.logits(m.create(b.x().ids()), m.create(b.x().typeIds()), m.create(b.x().mask()), training);
        return new Loss(Losses.crossEntropySum(logits.reshape(-1, labels.size()), m.create(b.y()), settings.labelSmoothing));
    }

    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        if (dev.isEmpty()) return Map.of();
        int[] words = new int[dev.size()];
        for (int s = 0; s < words.length; s++) words[s] = dev.get(s).length();
        WordPredictions p = WordPredictions.run(head, tok, devWindows, words, devGold, settings.evalBatchSize, parent);
        List<List<String>> gold = new ArrayList<>(dev.size());
        List<List<String>> pred = new ArrayList<>(dev.size());
        for (int s = 0; s < dev.size(); s++) {
            gold.add(dev.get(s).tags());
            List<String> t = new ArrayList<>(words[s]);
            for (int k : p.labels[s]) t.add(labels.get(k));
            pred.add(t);
        }
        Map<String, Double> out = new LinkedHashMap<>(SeqevalMetrics.of(gold, pred).toMap());
        out.put("loss", p.lossSum / Math.max(1, p.lossTargets));
        lastEval = new dev.kiln.train.EvalOutputs.Tags(gold, pred);
        return out;
    }

    private dev.kiln.train.EvalOutputs.Tags lastEval;

    @Override
    public dev.kiln.train.EvalOutputs evalOutputs() {
        return lastEval;
    }

    @Override
    public void save(Path dir) throws IOException {
        JsonObject cfg = TaskFolder.labelledConfig(backbone, tok,
                backbone.architecture().hfClass(NerHead.KIND, backbone, null), labels);
        JsonObject meta = new JsonObject();
        meta.addProperty("max_length", maxLength);
        meta.addProperty("stride", settings.stride);
        meta.addProperty("eval_batch_size", settings.evalBatchSize);
        JsonArray l = new JsonArray();
        labels.forEach(l::add);
        meta.add("labels", l);
        if (settings.dataSettings != null) meta.add("data", settings.dataSettings);
        if (TaskFolder.isHfModel(backbone)) {
            TaskFolder.save(dir, TYPE, cfg, backbone.params().stateDict(), modelDir, meta);
        } else {
            // a classic model names no HF class: model.safetensors is the model, the tagger's layer beside it
            JsonObject extra = new JsonObject();
            extra.add("id2label", cfg.get("id2label"));
            extra.add("label2id", cfg.get("label2id"));
            TaskFolder.saveWithKilnHead(dir, TYPE, backbone, extra, backbone.params().stateDict(),
                    List.of(NerHead.PREFIX), modelDir, meta);
        }
    }
}
