package dev.kiln.tasks.classification;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.inference.LengthBatches;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskPredictor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Predictor for a fine-tuned classifier: {@code TextClassifier.load(dir).predict("text")}.
 * {@code dir} is a run directory (its best/ or final/ model is used) or a model folder.
 */
public final class TextClassifier extends TaskPredictor {

    /** A prediction: the top label and every label's probability. */
    public record Prediction(String label, float score, Map<String, Float> probabilities) {}

    private final Tokenizer tok;
    private final ClassificationHead head;
    private final List<String> labels = new ArrayList<>();
    private final int maxLength;
    private int batchSize = LengthBatches.DEFAULT_SIZE;

    private TextClassifier(TaskFolder.Opened folder) throws IOException {
        super(folder);
        JsonObject meta = folder.meta;
        meta.getAsJsonArray("labels").forEach(e -> labels.add(e.getAsString()));
        maxLength = meta.get("max_length").getAsInt();
        head = new ClassificationHead(folder.backbone, labels.size(), meta.get("pooling").getAsString());
        folder.loadHead(head.prefix());
        tok = folder.tokenizer;
    }

    public static TextClassifier load(Path dir) throws IOException {
        return load(dir, "auto");
    }

    public static TextClassifier load(Path dir, String device) throws IOException {
        return open(dir, ClassificationTask.TYPE, device, TextClassifier::new);
    }

    /** Texts per forward pass in {@link #predictBatch} (default 32); returns this. */
    public TextClassifier batchSize(int n) {
        if (n < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + n);
        batchSize = n;
        return this;
    }

    public List<String> labels() {
        return List.copyOf(labels);
    }

    public Prediction predict(String text) {
        return predictBatch(List.of(text), null).get(0);
    }

    public Prediction predict(String text, String textPair) {
        return predictBatch(List.of(text), List.of(textPair)).get(0);
    }

    /**
     * Predictions in input order; {@code pairs} null for single-sentence models. Texts are run in batches of
     * {@link #batchSize} of similar length (less padding; the same predictions).
     */
    public List<Prediction> predictBatch(List<String> texts, List<String> pairs) {
        List<Sequences.Input> in = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            long[] a = tok.encode(texts.get(i), false).ids();
            long[] b = pairs == null || pairs.get(i) == null ? null : tok.encode(pairs.get(i), false).ids();
            in.add(Sequences.build(tok, a, b, maxLength));
        }
        int[] lengths = in.stream().mapToInt(Sequences.Input::length).toArray();
        return LengthBatches.map(in, lengths, LengthBatches.size(batchSize), this::forward);
    }

    private List<Prediction> forward(List<Sequences.Input> in) {
        Sequences.Padded x = Sequences.pad(in, Sequences.padId(tok));
        List<Prediction> out = new ArrayList<>();
        try (NDManager m = folder.manager.newSubManager()) {
            NDArray probs = head.logits(m.create(x.ids()), m.create(x.typeIds()), m.create(x.mask()), false).softmax(-1);
            float[] p = probs.toFloatArray();
            int c = labels.size();
            for (int i = 0; i < in.size(); i++) {
                Map<String, Float> byLabel = new LinkedHashMap<>();
                int best = 0;
                for (int j = 0; j < c; j++) {
                    byLabel.put(labels.get(j), p[i * c + j]);
                    if (p[i * c + j] > p[i * c + best]) best = j;
                }
                out.add(new Prediction(labels.get(best), p[i * c + best], byLabel));
            }
        }
        return out;
    }
}
