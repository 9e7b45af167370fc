package dev.kiln.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * SQuAD v1.1 exact match and F1, as the official {@code evaluate-v1.1.py}: answers are normalised
 * (lowercase, ASCII punctuation removed, the articles a/an/the removed, whitespace collapsed), F1 is
 * the bag-of-tokens overlap, each question takes the max over its gold answers, and the totals are
 * averaged over all questions and multiplied by 100. A question without a prediction counts as 0.
 *
 * <p>Use as an accumulator ({@link #add}) so evaluation can stream: only two sums are kept.
 */
public final class SquadMetrics {
    /** Python's {@code string.punctuation}: the script removes exactly these, not Unicode punctuation. */
    private static final String PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    /** Python 3's {@code \b} on str patterns is Unicode-aware; so must ours be. */
    private static final Pattern ARTICLES = Pattern.compile("\\b(a|an|the)\\b", Pattern.UNICODE_CHARACTER_CLASS);

    private long count;
    private double exactSum;
    private double f1Sum;

    /** Scores one question: {@code prediction} against every gold answer, keeping the best. */
    public SquadMetrics add(String prediction, List<String> golds) {
        if (golds.isEmpty()) throw new IllegalArgumentException("a question needs at least one gold answer");
        count++;
        exactSum += exactMatch(prediction, golds);
        f1Sum += f1(prediction, golds);
        return this;
    }

    /** A question the model gave no answer for (the official script scores it 0). */
    public SquadMetrics addMissing() {
        count++;
        return this;
    }

    public long count() {
        return count;
    }

    /** Exact match × 100 over the questions added. */
    public double exactMatch() {
        return count == 0 ? 0 : 100.0 * exactSum / count;
    }

    /** F1 × 100 over the questions added. */
    public double f1() {
        return count == 0 ? 0 : 100.0 * f1Sum / count;
    }

    /** {@code exact_match} and {@code f1}, as the official script prints them. */
    public Map<String, Double> toMap() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("exact_match", exactMatch());
        m.put("f1", f1());
        return m;
    }

    /** 1 if the prediction equals some gold answer after normalisation, else 0. */
    public static double exactMatch(String prediction, List<String> golds) {
        String p = normalize(prediction);
        for (String g : golds) if (p.equals(normalize(g))) return 1;
        return 0;
    }

    /** The best token-overlap F1 over the gold answers, in [0, 1]. */
    public static double f1(String prediction, List<String> golds) {
        double best = 0;
        for (String g : golds) best = Math.max(best, f1(prediction, g));
        return best;
    }

    /**
     * Token F1: common = multiset intersection of the normalised tokens; 0 when nothing is in common
     * (also when either side normalises to nothing, as in v1.1; v2.0 changed that case).
     */
    public static double f1(String prediction, String gold) {
        List<String> p = tokens(normalize(prediction));
        List<String> g = tokens(normalize(gold));
        Map<String, Integer> counts = new HashMap<>();
        for (String t : g) counts.merge(t, 1, Integer::sum);
        int same = 0;
        for (String t : p) {
            Integer c = counts.get(t);
            if (c != null && c > 0) {
                same++;
                counts.put(t, c - 1);
            }
        }
        if (same == 0) return 0;
        double precision = (double) same / p.size();
        double recall = (double) same / g.size();
        return 2 * precision * recall / (precision + recall);
    }

    /** The official normalisation: lower, remove punctuation, remove articles, collapse whitespace (in that order). */
    public static String normalize(String s) {
        String lower = s.toLowerCase(java.util.Locale.ROOT);
        StringBuilder b = new StringBuilder(lower.length());
        for (int i = 0; i < lower.length(); i++) {
            char c = lower.charAt(i);
            if (PUNCTUATION.indexOf(c) < 0) b.append(c);
        }
        String noArticles = ARTICLES.matcher(b).replaceAll(" ");
        return String.join(" ", tokens(noArticles));
    }

    /** Python's {@code str.split()}: runs of Unicode whitespace separate, none at the ends. */
    static List<String> tokens(String s) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            while (i < n && isSpace(s.charAt(i))) i++;
            int j = i;
            while (j < n && !isSpace(s.charAt(j))) j++;
            if (j > i) out.add(s.substring(i, j));
            i = j;
        }
        return out;
    }

    /** Python's {@code str.isspace} for one char: Java's whitespace plus no-break spaces and NEL. */
    private static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }
}
