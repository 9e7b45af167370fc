package dev.kiln.tasks.ner;

import dev.kiln.inference.LengthBatches;
import dev.kiln.metrics.SeqevalMetrics;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskPredictor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Predictor for a fine-tuned NER model: {@code NerTagger.load(dir).tag("Angela Merkel visited Paris.")}.
 * {@code dir} is a run directory (its best/ or final/ model is used) or a model folder. Raw text is
 * split into words by the model's tokenizer (as it splits text anyway); pre-split words can be given
 * instead. Sentences longer than the model's max length are tagged in overlapping windows.
 */
public final class NerTagger extends TaskPredictor {

    /**
     * An entity: its type, its text, its [start, end) character offsets in the input string (for
     * pre-split words: in the words joined by single spaces), its words [firstWord, endWord), and a
     * score: the mean over its words of the top label probability at each word's first sub-token.
     */
    public record Entity(String type, String text, int start, int end, float score, int firstWord, int endWord) {}

    /** A tagged sentence: its words, one IOB2 tag per word, and the entities the tags form. */
    public record Tagged(List<String> words, List<String> tags, List<Entity> entities) {}

    private final Tokenizer tok;
    private final NerHead head;
    private final List<String> labels = new ArrayList<>();
    private final int maxLength;
    private final int stride;
    private final int batchSize;

    private NerTagger(TaskFolder.Opened folder) throws IOException {
        super(folder);
        folder.meta.getAsJsonArray("labels").forEach(e -> labels.add(e.getAsString()));
        maxLength = folder.meta.get("max_length").getAsInt();
        stride = folder.meta.get("stride").getAsInt();
        batchSize = folder.meta.has("eval_batch_size") ? folder.meta.get("eval_batch_size").getAsInt() : 32;
        head = new NerHead(folder.backbone, labels.size());
        folder.loadHead(head.prefix());
        tok = folder.tokenizer;
    }

    public static NerTagger load(Path dir) throws IOException {
        return load(dir, "auto");
    }

    public static NerTagger load(Path dir, String device) throws IOException {
        return open(dir, NerTask.TYPE, device, NerTagger::new);
    }

    /** Labels in logit order (O, B-X, I-X, ...). */
    public List<String> labels() {
        return List.copyOf(labels);
    }

    /** The entities of raw text, with character offsets into {@code text}. */
    public List<Entity> tag(String text) {
        return tagText(text).entities();
    }

    public Tagged tagText(String text) {
        return tagTexts(List.of(text)).get(0);
    }

    public List<Tagged> tagTexts(List<String> texts) {
        List<WordAlignment.Aligned> a = new ArrayList<>(texts.size());
        for (String t : texts) a.add(WordAlignment.ofText(tok, t));
        return run(a);
    }

    /** Pre-split words (as in CoNLL files): one tag per given word. */
    public Tagged tagWords(List<String> words) {
        return tagWordsBatch(List.of(words)).get(0);
    }

    public List<Tagged> tagWordsBatch(List<List<String>> sentences) {
        List<WordAlignment.Aligned> a = new ArrayList<>(sentences.size());
        for (List<String> w : sentences) a.add(WordAlignment.ofWords(tok, w));
        return run(a);
    }

    /** The tokenizer {@link #run}'s alignments are made with. */
    Tokenizer tokenizer() {
        return tok;
    }

    /** Tags of aligned sentences (raw text or pre-split words, mixed), their windows batched by length; input order out. */
    List<Tagged> run(List<WordAlignment.Aligned> sentences) {
        List<List<WordAlignment.Window>> windows = new ArrayList<>(sentences.size());
        int[] words = new int[sentences.size()];
        for (int s = 0; s < words.length; s++) {
            windows.add(WordAlignment.windows(tok, sentences.get(s), maxLength, stride));
            words[s] = sentences.get(s).words();
        }
        WordPredictions p = WordPredictions.run(head, tok, windows, words, null, LengthBatches.size(batchSize), folder.manager);
        List<Tagged> out = new ArrayList<>(sentences.size());
        for (int s = 0; s < words.length; s++) {
            WordAlignment.Aligned a = sentences.get(s);
            List<String> w = new ArrayList<>(words[s]);
            List<String> tags = new ArrayList<>(words[s]);
            for (int k = 0; k < words[s]; k++) {
                w.add(a.text().substring(a.wordSpans()[k][0], a.wordSpans()[k][1]));
                tags.add(labels.get(p.labels[s][k]));
            }
            List<Entity> ents = new ArrayList<>();
            for (SeqevalMetrics.Entity e : SeqevalMetrics.entities(tags)) {
                int start = a.wordSpans()[e.start()][0];
                int end = a.wordSpans()[e.end() - 1][1];
                double score = 0;
                for (int k = e.start(); k < e.end(); k++) score += p.probs[s][k];
                ents.add(new Entity(e.type(), a.text().substring(start, end), start, end,
                        (float) (score / (e.end() - e.start())), e.start(), e.end()));
            }
            out.add(new Tagged(List.copyOf(w), List.copyOf(tags), List.copyOf(ents)));
        }
        return out;
    }
}
