package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;
import dev.kiln.models.Backbone;
import dev.kiln.peft.PeftFolder;
import dev.kiln.models.bert.BertModel;
import dev.kiln.text.SentenceSplitter;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskPredictor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Predictor for a {@code summarize-extractive} model: {@code ExtractiveSummarizer.load(dir).summarize(article, 3)}.
 * {@code dir} is a run directory (its best/ or final/ model) or a model folder, a PEFT run's adapter folder included.
 */
public final class ExtractiveSummarizer extends TaskPredictor {

    /**
     * The article's sentences, the score (logit) of each sentence the model saw (the first
     * {@code scores.length}), and the chosen sentence indexes in document order.
     */
    public record Extract(List<String> sentences, float[] scores, int[] selected) {
        public List<String> summarySentences() {
            List<String> out = new ArrayList<>();
            for (int i : selected) out.add(sentences.get(i));
            return out;
        }

        /** The chosen sentences joined with spaces. */
        public String summary() {
            return String.join(" ", summarySentences());
        }
    }

    private final SentenceScorer scorer;
    private final int topK;
    private final boolean trigramBlocking;

    private ExtractiveSummarizer(TaskFolder.Opened folder) throws IOException {
        super(folder);
        topK = folder.meta.get("top_k").getAsInt();
        trigramBlocking = folder.meta.get("trigram_blocking").getAsBoolean();
        scorer = new SentenceScorer((BertModel) folder.backbone, folder.tokenizer, folder.meta.get("max_length").getAsInt(),
                folder.meta.has("sentence_vector") ? folder.meta.get("sentence_vector").getAsString() : "cls");
        folder.loadHead(SentenceScorer.HEAD + ".");
    }

    /**
     * The encoder, dropout off: the folder's own weights, or for a PEFT run's folder (adapter_config.json) its base
     * model with the adapter applied, as the other predictors load them ({@link TaskFolder#loadBackbone}).
     */
    private static BertModel loadBert(Path dir, NDManager manager) throws IOException {
        if (!PeftFolder.is(dir)) {
            JsonObject noDropout = new JsonObject();
            noDropout.addProperty("hidden_dropout_prob", 0f);
            noDropout.addProperty("attention_probs_dropout_prob", 0f);
            return HfFolder.loadBert(dir, manager, BertModel.Heads.encoderOnly(), noDropout, HfFolder.Strictness.TASK_FOLDER);
        }
        Backbone b = TaskFolder.loadBackbone(dir, manager);
        if (!(b instanceof BertModel bert)) {
            throw new IOException(dir + ": the adapter's base model is " + b.modelType() + ", but " + ExtractiveTask.TYPE + " needs a BERT-style encoder");
        }
        return bert;
    }

    public static ExtractiveSummarizer load(Path dir) throws IOException {
        return load(dir, "auto");
    }

    public static ExtractiveSummarizer load(Path dir, String device) throws IOException {
        // no pooler, as in training; a PEFT run's folder opens as its base model with the adapter applied
        return open(dir, ExtractiveTask.TYPE, device, (d, meta, m) -> loadBert(d, m), ExtractiveSummarizer::new);
    }

    /** The k the model was trained and evaluated with. */
    public int defaultK() {
        return topK;
    }

    public String summarize(String article) {
        return summarize(article, topK);
    }

    /** The best {@code k} sentences in document order, joined with spaces. */
    public String summarize(String article, int k) {
        return extract(article, k).summary();
    }

    public Extract extract(String article, int k) {
        return extractBatch(List.of(article), k, 1).get(0);
    }

    /** Batched {@link #extract}: {@code batchSize} articles per forward pass, sorted by length; results in input order. */
    public List<Extract> extractBatch(List<String> articles, int k, int batchSize) {
        int[] ks = new int[articles.size()];
        java.util.Arrays.fill(ks, k);
        return extractBatch(articles, ks, batchSize);
    }

    /** As {@link #extractBatch(List, int, int)} with each article's own k. */
    public List<Extract> extractBatch(List<String> articles, int[] ks, int batchSize) {
        for (int k : ks) if (k < 1) throw new IllegalArgumentException("k must be at least 1, got " + k);
        List<List<String>> sents = new ArrayList<>();
        List<SentenceInputs.Encoded> encs = new ArrayList<>();
        for (String a : articles) {
            List<String> s = SentenceSplitter.sentences(a);
            sents.add(s);
            encs.add(scorer.encode(s));
        }
        List<float[]> scores = new ArrayList<>();
        List<SentenceInputs.Encoded> nonEmpty = new ArrayList<>();
        for (SentenceInputs.Encoded e : encs) if (e.covered() > 0) nonEmpty.add(e);
        List<float[]> got = scorer.scores(nonEmpty, folder.manager, batchSize);
        int g = 0;
        for (SentenceInputs.Encoded e : encs) scores.add(e.covered() > 0 ? got.get(g++) : new float[0]);
        List<Extract> out = new ArrayList<>();
        for (int i = 0; i < articles.size(); i++) {
            out.add(new Extract(sents.get(i), scores.get(i),
                    Extraction.select(scores.get(i), sents.get(i), ks[i], trigramBlocking)));
        }
        return out;
    }
}
