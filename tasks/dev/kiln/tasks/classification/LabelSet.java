package dev.kiln.tasks.classification;

import dev.kiln.data.LabelledText;
import dev.kiln.data.DataException;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The classes of a classifier, in a fixed order: index i is output logit i. Built from the training data and saved
 * beside the model as {@code labels.json} (a JSON list), so evaluation and inference map labels the same way.
 */
public final class LabelSet {
    private static final Pattern INTEGER = Pattern.compile("-?\\d+");
    /** Numerically when every label is an integer ("2" before "10"), so 0/1 datasets keep 0 = negative. */
    private static final Comparator<String> NUMERIC =
            Comparator.<String, BigInteger>comparing(BigInteger::new).thenComparing(Comparator.naturalOrder());

    private final List<String> names;
    private final Map<String, Integer> index;

    private LabelSet(List<String> names) {
        this.names = List.copyOf(names);
        this.index = new HashMap<>();
        for (int i = 0; i < this.names.size(); i++) index.put(this.names.get(i), i);
    }

    /**
     * The distinct labels of the training data: sorted numerically when all are integers, else lexicographically
     * (by UTF-16 code unit, independent of locale). At least two are needed to train a classifier.
     */
    public static LabelSet fromTraining(List<LabelledText> train) {
        if (train.isEmpty()) throw new DataException("the training data is empty; check data.train");
        TreeSet<String> distinct = new TreeSet<>();
        for (LabelledText t : train) distinct.add(t.label());
        List<String> sorted = new ArrayList<>(distinct);
        if (sorted.stream().allMatch(l -> INTEGER.matcher(l).matches())) sorted.sort(NUMERIC);
        if (sorted.size() < 2) {
            LabelledText first = train.get(0);
            throw new DataException(first.file(), 0, "every training example has the label \"" + sorted.get(0)
                    + "\"; a classifier needs at least two classes (is data.label_field the right field?)");
        }
        return new LabelSet(sorted);
    }

    /** An explicit order, e.g. from a config or a saved model. */
    public static LabelSet of(List<String> names) {
        if (names.isEmpty()) throw new DataException("the label list is empty");
        Map<String, Integer> seen = new HashMap<>();
        for (String n : names) {
            if (n == null || n.isBlank()) throw new DataException("the label list contains an empty label");
            if (seen.put(n, 0) != null) throw new DataException("the label list names \"" + n + "\" twice");
        }
        return new LabelSet(names);
    }

    public int size() {
        return names.size();
    }

    public List<String> names() {
        return names;
    }

    public String name(int i) {
        return names.get(i);
    }

    public boolean contains(String label) {
        return index.containsKey(label);
    }

    /** The index of a label; an unknown one is an error (without a location; prefer {@link #index(LabelledText)}). */
    public int index(String label) {
        Integer i = index.get(label);
        if (i == null) throw new DataException(unknown(label));
        return i;
    }

    /** The index of an example's label; an unknown label is reported at the example's file and line. */
    public int index(LabelledText example) {
        Integer i = index.get(example.label());
        if (i == null) throw new DataException(example.file(), example.line(), unknown(example.label()));
        return i;
    }

    /** Indexes for a whole dev/test set; fails on the first unknown label. */
    public int[] indexes(List<LabelledText> examples) {
        int[] out = new int[examples.size()];
        for (int i = 0; i < out.length; i++) out[i] = index(examples.get(i));
        return out;
    }

    private String unknown(String label) {
        List<String> shown = names.size() <= 20 ? names : names.subList(0, 20);
        String list = String.join(", ", shown) + (names.size() > 20 ? ", ... (" + names.size() + " in all)" : "");
        return "label \"" + label + "\" is not among the training labels (" + list
                + "); the model cannot predict it: fix the label or add examples of it to the training data";
    }

    /** Writes {@code ["neg", "pos", ...]} atomically. */
    public void save(Path file) throws IOException {
        JsonArray a = new JsonArray();
        for (String n : names) a.add(n);
        AtomicFiles.writeJson(file, a);
    }

    /** Reads a list written by {@link #save}; the order in the file is kept. */
    public static LabelSet load(Path file) throws IOException {
        JsonElement e;
        try {
            e = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
        } catch (RuntimeException x) {
            throw new DataException(file, 0, "not valid JSON; expected a list of label strings such as [\"negative\", \"positive\"]");
        }
        if (!e.isJsonArray()) {
            throw new DataException(file, 0, "expected a JSON list of label strings such as [\"negative\", \"positive\"]");
        }
        List<String> names = new ArrayList<>();
        for (JsonElement x : e.getAsJsonArray()) {
            if (!x.isJsonPrimitive() || !((JsonPrimitive) x).isString()) {
                throw new DataException(file, 0, "label " + x + " is not a string; expected a JSON list of label strings");
            }
            names.add(x.getAsString());
        }
        try {
            return of(names);
        } catch (DataException x) {
            throw new DataException(file, 0, x.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelSet l && l.names.equals(names);
    }

    @Override
    public int hashCode() {
        return names.hashCode();
    }

    @Override
    public String toString() {
        return names.toString();
    }
}
