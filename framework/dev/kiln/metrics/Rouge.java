package dev.kiln.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum (Lin 2004) with the semantics of Google's rouge-score
 * package, so numbers compare with published ones:
 * <ul>
 *   <li>tokens: lower-case the text, replace every character outside [a-z0-9] by a space, split;
 *       with stemming, tokens longer than 3 characters go through the Porter stemmer;</li>
 *   <li>ROUGE-N: clipped n-gram overlap; precision over the prediction's n-grams, recall over the
 *       reference's;</li>
 *   <li>ROUGE-L: longest common subsequence of the two token sequences (newlines ignored);</li>
 *   <li>ROUGE-Lsum: summary-level LCS. Both texts are split at newlines into sentences; for each
 *       reference sentence the union of its LCS with every predicted sentence is taken, and each
 *       token of that union is a hit while unused copies of it remain on both sides.</li>
 * </ul>
 * F1 is 2PR/(P+R), 0 when both are 0. A corpus score is the mean of the per-example scores
 * ({@link Aggregate}); rouge-score's bootstrap "mid" estimates the same mean.
 */
public final class Rouge {
    /** Metric names, as rouge-score and HF report them. */
    public static final List<String> TYPES = List.of("rouge1", "rouge2", "rougeL", "rougeLsum");

    public record Score(double precision, double recall, double f1) {
        static Score of(double p, double r) {
            return new Score(p, r, p + r > 0 ? 2 * p * r / (p + r) : 0);
        }

        static final Score ZERO = new Score(0, 0, 0);
    }

    private final boolean stem;
    private final Map<String, String> stemCache = new HashMap<>();

    /** {@code useStemmer}: Porter-stem tokens longer than 3 characters (rouge-score's use_stemmer). */
    public Rouge(boolean useStemmer) {
        this.stem = useStemmer;
    }

    /** rouge-score's tokenizer: runs of [a-z0-9] after lower-casing, optionally stemmed. */
    public List<String> tokenize(String text) {
        String s = text.toLowerCase(Locale.ROOT);
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            while (i < n && !alnum(s.charAt(i))) i++;
            int start = i;
            while (i < n && alnum(s.charAt(i))) i++;
            if (i > start) {
                String t = s.substring(start, i);
                if (stem && t.length() > 3) t = stemCache.computeIfAbsent(t, PorterStemmer::stem);
                out.add(t);
            }
        }
        return out;
    }

    private static boolean alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    }

    /** All four scores of one prediction against one reference, keyed by {@link #TYPES}. */
    public Map<String, Score> score(String prediction, String reference) {
        List<String> p = tokenize(prediction);
        List<String> r = tokenize(reference);
        Map<String, Score> out = new LinkedHashMap<>();
        out.put("rouge1", rougeN(p, r, 1));
        out.put("rouge2", rougeN(p, r, 2));
        out.put("rougeL", rougeL(p, r));
        out.put("rougeLsum", rougeLsum(prediction, reference));
        return out;
    }

    /** ROUGE-N over token lists. */
    public static Score rougeN(List<String> prediction, List<String> reference, int n) {
        Map<String, Integer> pc = ngrams(prediction, n);
        Map<String, Integer> rc = ngrams(reference, n);
        long overlap = 0;
        for (Map.Entry<String, Integer> e : pc.entrySet()) {
            Integer r = rc.get(e.getKey());
            if (r != null) overlap += Math.min(e.getValue(), r);
        }
        int pn = Math.max(0, prediction.size() - n + 1);
        int rn = Math.max(0, reference.size() - n + 1);
        return Score.of(overlap / (double) Math.max(pn, 1), overlap / (double) Math.max(rn, 1));
    }

    /** n-gram counts; an n-gram is its tokens joined by spaces (tokens never contain one). */
    public static Map<String, Integer> ngrams(List<String> tokens, int n) {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i + n <= tokens.size(); i++) {
            String g = n == 1 ? tokens.get(i) : String.join(" ", tokens.subList(i, i + n));
            m.merge(g, 1, Integer::sum);
        }
        return m;
    }

    /** Sentence-level ROUGE-L over token lists. */
    public static Score rougeL(List<String> prediction, List<String> reference) {
        if (prediction.isEmpty() || reference.isEmpty()) return Score.ZERO;
        int lcs = lcsTable(reference, prediction)[reference.size()][prediction.size()];
        return Score.of(lcs / (double) prediction.size(), lcs / (double) reference.size());
    }

    /** Summary-level ROUGE-L; sentences are the non-empty lines of each text. */
    public Score rougeLsum(String prediction, String reference) {
        List<List<String>> p = new ArrayList<>();
        for (String s : lines(prediction)) p.add(tokenize(s));
        List<List<String>> r = new ArrayList<>();
        for (String s : lines(reference)) r.add(tokenize(s));
        return rougeLsum(p, r);
    }

    /** Summary-level ROUGE-L over tokenized sentences. */
    public static Score rougeLsum(List<List<String>> prediction, List<List<String>> reference) {
        if (prediction.isEmpty() || reference.isEmpty()) return Score.ZERO;
        int m = 0;
        int n = 0;
        Map<String, Integer> refCounts = new HashMap<>();
        Map<String, Integer> predCounts = new HashMap<>();
        for (List<String> s : reference) {
            m += s.size();
            for (String t : s) refCounts.merge(t, 1, Integer::sum);
        }
        for (List<String> s : prediction) {
            n += s.size();
            for (String t : s) predCounts.merge(t, 1, Integer::sum);
        }
        if (m == 0 || n == 0) return Score.ZERO;
        int hits = 0;
        for (List<String> ref : reference) {
            // union of the LCS positions in this reference sentence over all predicted sentences
            TreeSet<Integer> union = new TreeSet<>();
            for (List<String> c : prediction) union.addAll(lcsIndexes(ref, c));
            for (int i : union) {
                String t = ref.get(i);
                // a token counts at most as often as it occurs on either side
                if (predCounts.getOrDefault(t, 0) > 0 && refCounts.getOrDefault(t, 0) > 0) {
                    hits++;
                    predCounts.merge(t, -1, Integer::sum);
                    refCounts.merge(t, -1, Integer::sum);
                }
            }
        }
        return Score.of(hits / (double) n, hits / (double) m);
    }

    /** rouge-score splits ROUGE-Lsum texts on "\n" and drops empty lines. */
    static List<String> lines(String text) {
        List<String> out = new ArrayList<>();
        for (String s : text.split("\n", -1)) if (!s.isEmpty()) out.add(s);
        return out;
    }

    /** t[i][j] = LCS length of a[0..i) and b[0..j). */
    static int[][] lcsTable(List<String> a, List<String> b) {
        int[][] t = new int[a.size() + 1][b.size() + 1];
        for (int i = 1; i <= a.size(); i++) {
            for (int j = 1; j <= b.size(); j++) {
                t[i][j] = a.get(i - 1).equals(b.get(j - 1)) ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
            }
        }
        return t;
    }

    /**
     * Indexes into {@code ref} of one LCS with {@code cand}. Which LCS matters for Lsum's union;
     * the walk back prefers dropping a reference token on ties, as rouge-score does.
     */
    static List<Integer> lcsIndexes(List<String> ref, List<String> cand) {
        int[][] t = lcsTable(ref, cand);
        List<Integer> out = new ArrayList<>();
        int i = ref.size();
        int j = cand.size();
        while (i > 0 && j > 0) {
            if (ref.get(i - 1).equals(cand.get(j - 1))) {
                out.add(0, i - 1);
                i--;
                j--;
            } else if (t[i][j - 1] > t[i - 1][j]) {
                j--;
            } else {
                i--;
            }
        }
        return out;
    }

    /** Mean of per-example scores over a corpus. */
    public static final class Aggregate {
        private final Map<String, double[]> sums = new LinkedHashMap<>(); // type -> {p, r, f}
        private int count;

        public void add(Map<String, Score> example) {
            for (Map.Entry<String, Score> e : example.entrySet()) {
                double[] s = sums.computeIfAbsent(e.getKey(), k -> new double[3]);
                s[0] += e.getValue().precision();
                s[1] += e.getValue().recall();
                s[2] += e.getValue().f1();
            }
            count++;
        }

        public int count() {
            return count;
        }

        /** Mean scores by type (empty corpus: zeros). */
        public Map<String, Score> mean() {
            Map<String, Score> out = new LinkedHashMap<>();
            for (Map.Entry<String, double[]> e : sums.entrySet()) {
                double[] s = e.getValue();
                int c = Math.max(count, 1);
                out.put(e.getKey(), new Score(s[0] / c, s[1] / c, s[2] / c));
            }
            return out;
        }

        /** Mean F1 by type ("rouge1" ...), multiplied by {@code scale} (1, or 100 for reports). */
        public Map<String, Double> f1(double scale) {
            Map<String, Double> out = new LinkedHashMap<>();
            mean().forEach((k, v) -> out.put(k, v.f1() * scale));
            return out;
        }
    }
}
