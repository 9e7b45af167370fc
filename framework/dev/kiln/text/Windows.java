package dev.kiln.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Sliding windows over a token sequence longer than the model's budget, shared by the token tasks
 * (NER over long sentences, QA over long contexts): nothing is silently truncated.
 */
public final class Windows {
    private Windows() {}

    /** Token range [start, end). */
    public record Span(int start, int end) {
        public int length() {
            return end - start;
        }

        public boolean contains(int i) {
            return i >= start && i < end;
        }
    }

    /**
     * Windows of at most {@code window} tokens over {@code length} tokens, consecutive windows sharing
     * {@code overlap} tokens (HF's {@code doc_stride}); the last window ends at {@code length}.
     */
    public static List<Span> slide(int length, int window, int overlap) {
        if (window < 1) throw new IllegalArgumentException("window must be at least 1 token, got " + window);
        if (overlap < 0 || overlap >= window) {
            throw new IllegalArgumentException("overlap (doc_stride) must be in [0, " + window + "), got " + overlap);
        }
        List<Span> out = new ArrayList<>();
        if (length == 0) {
            out.add(new Span(0, 0));
            return out;
        }
        for (int s = 0; ; s += window - overlap) {
            int e = Math.min(length, s + window);
            out.add(new Span(s, e));
            if (e == length) break;
        }
        return out;
    }

    /**
     * Like {@link #slide} but a window never cuts a word: {@code wordOf[i]} is the word index of token i,
     * and each window ends on a word boundary (a single word longer than the window is cut).
     */
    public static List<Span> slideWords(int[] wordOf, int window, int overlap) {
        int n = wordOf.length;
        List<Span> out = new ArrayList<>();
        if (n <= window) {
            out.add(new Span(0, n));
            return out;
        }
        int s = 0;
        while (true) {
            int e = Math.min(n, s + window);
            if (e < n) {
                int b = e;
                while (b > s && wordOf[b] == wordOf[b - 1]) b--; // back off to the start of the cut word
                if (b > s) e = b;
            }
            out.add(new Span(s, e));
            if (e == n) break;
            int next = Math.max(s + 1, e - overlap);
            while (next > s + 1 && next < n && wordOf[next] == wordOf[next - 1]) next--; // start on a word
            s = next;
        }
        return out;
    }

    /**
     * For each token, the window in which it has the most context on both sides (the "max context"
     * rule of the original BERT SQuAD code): prediction for a token shared by windows comes from there.
     */
    public static int[] maxContextWindow(List<Span> windows, int length) {
        int[] best = new int[length];
        double[] score = new double[length];
        java.util.Arrays.fill(score, -1);
        for (int w = 0; w < windows.size(); w++) {
            Span sp = windows.get(w);
            for (int i = sp.start(); i < sp.end(); i++) {
                int left = i - sp.start();
                int right = sp.end() - 1 - i;
                double sc = Math.min(left, right) + 0.01 * sp.length();
                if (sc > score[i]) {
                    score[i] = sc;
                    best[i] = w;
                }
            }
        }
        return best;
    }
}
