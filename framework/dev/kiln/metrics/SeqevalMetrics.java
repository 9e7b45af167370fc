package dev.kiln.metrics;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Entity-level precision, recall and F1 as seqeval computes them by default (conlleval semantics, not
 * seqeval's strict mode): an entity is a maximal run of tags of one type that starts where conlleval
 * starts a chunk. So an I-X after O or after another type starts a new entity, B-X B-X are two
 * entities, and a change of type ends an entity. A predicted entity counts only when its type, start
 * and end all equal a gold entity's. Also token accuracy (tags equal, O included).
 */
public final class SeqevalMetrics {

    /** An entity over tokens [start, end) of one sentence. */
    public record Entity(String type, int start, int end) {}

    /** Scores of one entity type, or of all (micro-averaged: counts summed over types). */
    public record Score(double precision, double recall, double f1, int gold, int predicted, int correct) {
        static Score of(int gold, int predicted, int correct) {
            double p = predicted == 0 ? 0 : (double) correct / predicted; // seqeval's zero_division: 0
            double r = gold == 0 ? 0 : (double) correct / gold;
            double f = p + r == 0 ? 0 : 2 * p * r / (p + r);
            return new Score(p, r, f, gold, predicted, correct);
        }
    }

    private final Score micro;
    private final Map<String, Score> byType;
    private final double accuracy;
    private final long tokens;

    private SeqevalMetrics(Score micro, Map<String, Score> byType, double accuracy, long tokens) {
        this.micro = micro;
        this.byType = byType;
        this.accuracy = accuracy;
        this.tokens = tokens;
    }

    /**
     * The entities of one tag sequence, in order. This is conlleval's chunking as seqeval's
     * {@code get_entities} implements it (prefix = the tag's first character; type = the rest after
     * "-"), which also reads IOBES tags.
     */
    public static List<Entity> entities(List<String> tags) {
        List<Entity> out = new ArrayList<>();
        char prevTag = 'O';
        String prevType = "";
        int begin = 0;
        for (int i = 0; i <= tags.size(); i++) {
            String t = i < tags.size() ? tags.get(i) : "O"; // a final O closes an open entity
            char tag = t.isEmpty() ? 'O' : t.charAt(0);
            String type = typeOf(t);
            if (endOfChunk(prevTag, tag, prevType, type)) out.add(new Entity(prevType, begin, i));
            if (startOfChunk(prevTag, tag, prevType, type)) begin = i;
            prevTag = tag;
            prevType = type;
        }
        return out;
    }

    /** seqeval: {@code chunk[1:].split('-', 1)[-1] or '_'}; so "O" has type "_". */
    private static String typeOf(String t) {
        String rest = t.length() > 1 ? t.substring(1) : "";
        int dash = rest.indexOf('-');
        String type = dash >= 0 ? rest.substring(dash + 1) : rest;
        return type.isEmpty() ? "_" : type;
    }

    private static boolean endOfChunk(char prevTag, char tag, String prevType, String type) {
        if (prevTag == 'E' || prevTag == 'S') return true;
        if ((prevTag == 'B' || prevTag == 'I') && (tag == 'B' || tag == 'S' || tag == 'O')) return true;
        return prevTag != 'O' && prevTag != '.' && !prevType.equals(type);
    }

    private static boolean startOfChunk(char prevTag, char tag, String prevType, String type) {
        if (tag == 'B' || tag == 'S') return true;
        if ((prevTag == 'E' || prevTag == 'S' || prevTag == 'O') && (tag == 'E' || tag == 'I')) return true;
        return tag != 'O' && tag != '.' && !prevType.equals(type);
    }

    /** Scores over sentences; {@code gold.get(i)} and {@code predicted.get(i)} must have equal lengths. */
    public static SeqevalMetrics of(List<List<String>> gold, List<List<String>> predicted) {
        if (gold.size() != predicted.size()) {
            throw new IllegalArgumentException(gold.size() + " gold sentences but " + predicted.size() + " predicted");
        }
        Map<String, int[]> counts = new TreeMap<>(); // type -> {gold, predicted, correct}
        long tokens = 0;
        long equal = 0;
        for (int s = 0; s < gold.size(); s++) {
            List<String> g = gold.get(s);
            List<String> p = predicted.get(s);
            if (g.size() != p.size()) {
                throw new IllegalArgumentException("sentence " + s + ": " + g.size() + " gold tags but " + p.size() + " predicted");
            }
            for (int i = 0; i < g.size(); i++) if (g.get(i).equals(p.get(i))) equal++;
            tokens += g.size();
            List<Entity> ge = entities(g);
            Set<Entity> gs = new HashSet<>(ge);
            for (Entity e : ge) counts.computeIfAbsent(e.type(), k -> new int[3])[0]++;
            for (Entity e : entities(p)) {
                int[] c = counts.computeIfAbsent(e.type(), k -> new int[3]);
                c[1]++;
                if (gs.contains(e)) c[2]++;
            }
        }
        Map<String, Score> byType = new LinkedHashMap<>();
        int g = 0, p = 0, c = 0;
        for (Map.Entry<String, int[]> e : counts.entrySet()) {
            int[] x = e.getValue();
            byType.put(e.getKey(), Score.of(x[0], x[1], x[2]));
            g += x[0];
            p += x[1];
            c += x[2];
        }
        return new SeqevalMetrics(Score.of(g, p, c), byType, tokens == 0 ? 0 : (double) equal / tokens, tokens);
    }

    /** Micro-averaged entity scores (seqeval's default {@code f1_score}). */
    public Score micro() { return micro; }

    public double precision() { return micro.precision(); }

    public double recall() { return micro.recall(); }

    public double f1() { return micro.f1(); }

    /** Fraction of tokens whose predicted tag equals the gold tag. */
    public double accuracy() { return accuracy; }

    public long tokens() { return tokens; }

    /** Per entity type (gold or predicted), sorted by type name. */
    public Map<String, Score> byType() { return byType; }

    /** precision, recall, f1, accuracy, then f1_TYPE for each type: the names dev evaluation reports. */
    public Map<String, Double> toMap() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("precision", precision());
        m.put("recall", recall());
        m.put("f1", f1());
        m.put("accuracy", accuracy);
        for (Map.Entry<String, Score> e : byType.entrySet()) m.put("f1_" + e.getKey(), e.getValue().f1());
        return m;
    }

    /** Everything, for CLI output: micro scores plus precision/recall/f1/support per type. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("precision", precision());
        m.put("recall", recall());
        m.put("f1", f1());
        m.put("accuracy", accuracy);
        m.put("entities", micro.gold());
        m.put("predicted_entities", micro.predicted());
        Map<String, Object> types = new LinkedHashMap<>();
        for (Map.Entry<String, Score> e : byType.entrySet()) {
            Score s = e.getValue();
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("precision", s.precision());
            t.put("recall", s.recall());
            t.put("f1", s.f1());
            t.put("support", s.gold());
            types.put(e.getKey(), t);
        }
        m.put("per_type", types);
        return m;
    }
}
