package dev.kiln.tasks.ner;

import dev.kiln.text.Encoding;
import dev.kiln.text.InputTemplate;
import dev.kiln.text.Windows;
import dev.kiln.text.Tokenizer;
import dev.kiln.text.Sequences;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Words to sub-tokens for token-level tasks (NER and other tagging): which word each sub-token came
 * from and which sub-token is a word's first, so a word's label goes on its first sub-token and the
 * rest get -100 (HF's convention); plus windows, so a sentence longer than the model's budget is cut
 * into overlapping inputs and every word is still labelled, in exactly one window.
 */
public final class WordAlignment {
    private WordAlignment() {}

    /** The label that cross-entropy ignores (sub-word continuations, special tokens, padding). */
    public static final long IGNORE = -100;

    /**
     * One sentence as sub-tokens, without special tokens. {@code wordOf[t]}: the word of token t;
     * {@code firstToken[w]}: the first token of word w; {@code wordSpans[w]}: its [start, end)
     * characters in {@link #text()}.
     */
    public record Aligned(long[] ids, int[] wordOf, int[] firstToken, int[][] wordSpans, String text) {
        public int words() {
            return firstToken.length;
        }

        public int length() {
            return ids.length;
        }

        public boolean isFirst(int token) {
            return firstToken[wordOf[token]] == token;
        }
    }

    /**
     * Pre-split words (CoNLL tokens), each tokenized alone, as HF does for {@code is_split_into_words}.
     * Where the template says spaces are part of tokens ({@link InputTemplate#spaceBeforeWords}, GPT-2's
     * byte-level BPE), every word but the first gets a leading space
     * (HF's {@code add_prefix_space}, which also spaces the first word; we don't, so training input
     * matches how raw text is tokenized, where the first word has no space before it). A word the
     * tokenizer drops entirely (control or format characters only) becomes [UNK] so it keeps its label.
     * The text of the result is the words joined by single spaces.
     */
    public static Aligned ofWords(Tokenizer tok, List<String> words) {
        List<long[]> pieces = new ArrayList<>(words.size());
        int total = 0;
        InputTemplate template = tok.template();
        for (int w = 0; w < words.size(); w++) {
            String word = words.get(w);
            long[] p = tok.encode(template.wordText(w, word), false).ids();
            if (p.length == 0) {
                if (tok.unkId() == null) throw new IllegalArgumentException("word " + w + " (\"" + word + "\") has no tokens");
                p = new long[] {tok.unkId()};
            }
            pieces.add(p);
            total += p.length;
        }
        long[] ids = new long[total];
        int[] wordOf = new int[total];
        int[] first = new int[words.size()];
        int[][] spans = new int[words.size()][];
        int t = 0;
        int c = 0;
        for (int w = 0; w < words.size(); w++) {
            first[w] = t;
            for (long id : pieces.get(w)) {
                ids[t] = id;
                wordOf[t++] = w;
            }
            spans[w] = new int[] {c, c + words.get(w).length()};
            c += words.get(w).length() + 1;
        }
        return new Aligned(ids, wordOf, first, spans, String.join(" ", words));
    }

    /**
     * Raw text, split into words by the tokenizer itself (BERT: whitespace and punctuation; GPT-2: its
     * byte-level regex), with each word's character span in {@code text} (leading and trailing
     * whitespace that a byte-level token carries is trimmed off).
     */
    public static Aligned ofText(Tokenizer tok, String text) {
        Encoding e = tok.encode(text, false);
        int n = e.length();
        int[] wordOf = new int[n];
        List<Integer> first = new ArrayList<>();
        int w = -1;
        for (int t = 0; t < n; t++) {
            int id = e.wordIds()[t];
            if (t == 0 || id < 0 || id != e.wordIds()[t - 1]) { // a token outside any word is a word of its own
                w++;
                first.add(t);
            }
            wordOf[t] = w;
        }
        int[] firstToken = first.stream().mapToInt(Integer::intValue).toArray();
        int[][] spans = new int[firstToken.length][];
        for (int k = 0; k < firstToken.length; k++) {
            int last = k + 1 < firstToken.length ? firstToken[k + 1] - 1 : n - 1;
            int s = e.offsets()[firstToken[k]][0];
            int end = e.offsets()[last][1];
            while (s < end && Character.isWhitespace(text.charAt(s))) s++;
            while (end > s && Character.isWhitespace(text.charAt(end - 1))) end--;
            spans[k] = new int[] {s, end};
        }
        return new Aligned(e.ids(), wordOf, firstToken, spans, text);
    }

    /**
     * One model input cut from a sentence: {@code tokenStart} is where it starts in the sentence's
     * tokens; {@code wordAt[p]} is the word whose label position p carries (its first sub-token, in the
     * window that holds it with the most context), else -1 (other sub-tokens, specials, shared tokens
     * that another window labels).
     */
    public record Window(Sequences.Input input, int[] wordAt, int tokenStart) {
        /** Labels for this window from per-word label indexes: the word's label where it is carried, else -100. */
        public long[] labels(int[] wordLabels) {
            long[] y = new long[wordAt.length];
            for (int p = 0; p < y.length; p++) y[p] = wordAt[p] < 0 ? IGNORE : wordLabels[wordAt[p]];
            return y;
        }

        public int length() {
            return input.length();
        }
    }

    /**
     * Windows of at most {@code maxLength} tokens including special tokens, consecutive windows sharing
     * {@code overlap} tokens and never cutting a word (unless one word alone is longer than a window).
     * A word seen by several windows is carried by the one where it has the most context on both sides
     * ({@link Windows#maxContextWindow}), so training labels it once and prediction reads it once.
     */
    public static List<Window> windows(Tokenizer tok, Aligned a, int maxLength, int overlap) {
        int budget = maxLength - Sequences.specialCount(tok, false);
        if (budget < 1) throw new IllegalArgumentException("max_length " + maxLength + " leaves no room for tokens");
        if (overlap < 0 || overlap >= budget) {
            throw new IllegalArgumentException("window overlap must be in [0, " + budget + ") for max_length " + maxLength
                    + ", got " + overlap);
        }
        List<Windows.Span> spans = Windows.slideWords(a.wordOf(), budget, overlap);
        int[] best = Windows.maxContextWindow(spans, a.length());
        int lead = Sequences.leadingSpecials(tok);
        List<Window> out = new ArrayList<>(spans.size());
        for (int w = 0; w < spans.size(); w++) {
            Windows.Span sp = spans.get(w);
            Sequences.Input in = Sequences.build(tok, Arrays.copyOfRange(a.ids(), sp.start(), sp.end()), null, maxLength);
            int[] wordAt = new int[in.length()];
            Arrays.fill(wordAt, -1);
            for (int k = 0; k < a.words(); k++) {
                int t = a.firstToken()[k];
                if (sp.contains(t) && best[t] == w) wordAt[lead + t - sp.start()] = k;
            }
            out.add(new Window(in, wordAt, sp.start()));
        }
        return out;
    }
}
