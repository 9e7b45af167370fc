package dev.kiln.tasks.summarization;

import dev.kiln.metrics.Rouge;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Sentence selection for extractive summaries: labels from a reference, top-k with trigram blocking, lead-k. */
final class Extraction {
    private Extraction() {}

    private static final Rouge PLAIN = new Rouge(false);

    static String normalize(String s) {
        return s.replaceAll("\\s+", " ").trim();
    }

    /** Sentences found verbatim (up to whitespace) in the summary, and how much of the summary they cover. */
    record Match(boolean[] labels, double coverage) {}

    static Match match(List<String> sentences, String summary) {
        String sum = normalize(summary);
        boolean[] hit = new boolean[sum.length()];
        boolean[] labels = new boolean[sentences.size()];
        for (int i = 0; i < sentences.size(); i++) {
            String t = normalize(sentences.get(i));
            if (t.isEmpty()) continue;
            int k = sum.indexOf(t);
            if (k >= 0) {
                labels[i] = true;
                Arrays.fill(hit, k, k + t.length(), true);
            }
        }
        int n = 0;
        int h = 0;
        for (int i = 0; i < hit.length; i++) {
            if (sum.charAt(i) == ' ') continue;
            n++;
            if (hit[i]) h++;
        }
        return new Match(labels, n == 0 ? 0 : h / (double) n);
    }

    /**
     * Greedy oracle (as BertSum builds its labels): repeatedly add the sentence that most raises
     * ROUGE-1 F1 + ROUGE-2 F1 of the chosen set (in document order) against the reference; stop when
     * nothing raises it or {@code max} sentences are chosen.
     */
    static boolean[] oracle(List<String> sentences, String summary, int max, Rouge rouge) {
        List<List<String>> toks = new ArrayList<>();
        for (String s : sentences) toks.add(rouge.tokenize(s));
        List<String> ref = rouge.tokenize(summary);
        boolean[] chosen = new boolean[sentences.size()];
        double best = 0;
        for (int round = 0; round < max; round++) {
            int pick = -1;
            for (int i = 0; i < sentences.size(); i++) {
                if (chosen[i]) continue;
                List<String> cand = new ArrayList<>();
                for (int j = 0; j < sentences.size(); j++) if (chosen[j] || j == i) cand.addAll(toks.get(j));
                double s = Rouge.rougeN(cand, ref, 1).f1() + Rouge.rougeN(cand, ref, 2).f1();
                if (s > best) {
                    best = s;
                    pick = i;
                }
            }
            if (pick < 0) break;
            chosen[pick] = true;
        }
        return chosen;
    }

    /** Share of summaries' text the matched sentences must cover for "auto" to trust them. */
    static final double MATCH_COVERAGE = 0.8;

    static boolean[] labels(String mode, List<String> sentences, String summary, int oracleMax, Rouge rouge) {
        if (mode.equals("oracle")) return oracle(sentences, summary, oracleMax, rouge);
        Match m = match(sentences, summary);
        if (mode.equals("match") || (m.coverage() >= MATCH_COVERAGE && count(m.labels()) <= oracleMax)) return m.labels();
        return oracle(sentences, summary, oracleMax, rouge);
    }

    static int count(boolean[] b) {
        int n = 0;
        for (boolean x : b) if (x) n++;
        return n;
    }

    /**
     * The indexes of the best {@code k} sentences by score, in document order. With blocking a sentence
     * sharing a word trigram with one already chosen is skipped, which keeps near-duplicates out.
     */
    static int[] select(float[] scores, List<String> sentences, int k, boolean trigramBlocking) {
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -scores[i]));
        List<Integer> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i : order) {
            if (out.size() == k) break;
            Set<String> tri = trigrams(sentences.get(i));
            if (trigramBlocking && tri.stream().anyMatch(seen::contains)) continue;
            seen.addAll(tri);
            out.add(i);
        }
        return out.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    static Set<String> trigrams(String sentence) {
        return Rouge.ngrams(PLAIN.tokenize(sentence), 3).keySet();
    }

    /** The chosen sentences, one per line (the form ROUGE-Lsum reads). */
    static String lines(List<String> sentences, int[] chosen) {
        StringBuilder sb = new StringBuilder();
        for (int i : chosen) {
            if (sb.length() > 0) sb.append('\n');
            sb.append(sentences.get(i));
        }
        return sb.toString();
    }

    /** The first {@code k} sentences: the lead baseline, strong on news. */
    static int[] lead(int sentences, int k) {
        int n = Math.min(k, sentences);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = i;
        return out;
    }
}
