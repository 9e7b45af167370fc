package dev.kiln.text;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A word-level vocabulary built from training text, for the classic models (TextCNN, BiLSTM, MLP).
 *
 * <p>Words are what BERT's basic tokenizer produces: the text lower-cased with accents stripped, split on
 * whitespace and on every punctuation character. The {@code vocabSize - 4} most frequent words seen at least
 * {@code minFreq} times are kept (ties in alphabetical order, so the same data always gives the same ids),
 * after {@code [PAD]} = 0, {@code [UNK]} = 1, {@code [CLS]} = 2 and {@code [SEP]} = 3.
 *
 * <p>The vocabulary becomes an ordinary {@link Tokenizer}: a WordPiece tokenizer whose vocabulary holds
 * whole words only. WordPiece first tries the whole word; a word that is not in the vocabulary can never be
 * completed from {@code ##} pieces (there are none), and WordPiece then emits a single {@code [UNK]} for the
 * whole word. That is word-level lookup exactly, so the tasks (NER's word alignment included), {@link Sequences} and
 * {@link Tokenizer#save}/{@link Tokenizer#load} work unchanged, and the saved {@code vocab.txt} +
 * {@code tokenizer.json} also open in HF's {@code BertTokenizerFast}.
 */
public final class WordVocab {
    private WordVocab() {}

    public static final List<String> SPECIALS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]");

    /** HF WordPiece emits [UNK] for longer words, so they would never be looked up. */
    private static final int MAX_WORD_CHARS = 100;

    /** The words of {@code texts} by descending frequency (then alphabetically), specials first. */
    public static List<String> build(Iterable<String> texts, int minFreq, int vocabSize) throws IOException {
        if (vocabSize <= SPECIALS.size()) throw new IllegalArgumentException("vocabSize must exceed " + SPECIALS.size());
        Map<String, Integer> counts = new HashMap<>();
        Path tmp = Files.createTempDirectory("kiln-words-");
        try {
            // A tokenizer that knows no word: it splits like BERT and returns every word as one [UNK] with its span.
            Path vocab = Files.write(tmp.resolve("vocab.txt"), SPECIALS, StandardCharsets.UTF_8);
            try (Tokenizer splitter = Tokenizer.bertWordPiece(vocab, true)) {
                for (String text : texts) {
                    if (text == null) continue;
                    Encoding e = splitter.encode(text, false);
                    for (int[] span : e.offsets()) {
                        String w = normalize(text.substring(span[0], span[1]));
                        if (!w.isEmpty() && w.length() <= MAX_WORD_CHARS) counts.merge(w, 1, Integer::sum);
                    }
                }
            }
        } finally {
            dev.kiln.util.AtomicFiles.deleteTree(tmp);
        }
        List<Map.Entry<String, Integer>> kept = new ArrayList<>();
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            if (e.getValue() >= minFreq && !SPECIALS.contains(e.getKey())) kept.add(e);
        }
        kept.sort((a, b) -> a.getValue().equals(b.getValue()) ? a.getKey().compareTo(b.getKey()) : b.getValue() - a.getValue());
        List<String> words = new ArrayList<>(SPECIALS);
        for (Map.Entry<String, Integer> e : kept) {
            if (words.size() >= vocabSize) break;
            words.add(e.getKey());
        }
        return words;
    }

    /** Writes {@code words} as a tokenizer folder (vocab.txt, tokenizer.json, ...) and opens it. */
    public static Tokenizer save(List<String> words, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path vocab = Files.write(dir.resolve("vocab.txt"), words, StandardCharsets.UTF_8);
        Tokenizer t = Tokenizer.bertWordPiece(vocab, true);
        try {
            t.save(dir);
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** BERT's normalizer for one word: accents stripped (NFD, combining marks dropped), lower case. */
    static String normalize(String word) {
        String d = Normalizer.normalize(word, Normalizer.Form.NFD);
        StringBuilder sb = new StringBuilder(d.length());
        for (int i = 0; i < d.length(); i++) {
            char c = d.charAt(i);
            if (Character.getType(c) != Character.NON_SPACING_MARK) sb.append(c);
        }
        return sb.toString().toLowerCase(Locale.ROOT);
    }
}
