package dev.kiln.tasks.ner;

import dev.kiln.log.Activity;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.nn.Losses;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One forward pass over the windows of many sentences, read back per word: the label with the highest
 * probability at the word's first sub-token (in the window that carries it) and that probability.
 * Shared by dev evaluation and the predictor, so both decode the same way.
 */
final class WordPredictions {
    /** Per sentence, per word: predicted label index and its probability. */
    final int[][] labels;
    final float[][] probs;
    /** Summed cross-entropy over the gold-labelled words, and their count (0 when no gold was given). */
    double lossSum;
    long lossTargets;

    private WordPredictions(int[] words) {
        labels = new int[words.length][];
        probs = new float[words.length][];
        for (int s = 0; s < words.length; s++) {
            labels[s] = new int[words[s]];
            probs[s] = new float[words[s]];
        }
    }

    /**
     * {@code windows.get(s)}: the windows of sentence s, which has {@code words[s]} words; {@code gold}
     * (nullable): per sentence the label index of each word, -100 for tags the model does not know.
     */
    static WordPredictions run(NerHead head, Tokenizer tok, List<List<WordAlignment.Window>> windows, int[] words,
                               List<int[]> gold, int batchSize, NDManager parent) {
        WordPredictions out = new WordPredictions(words);
        List<int[]> items = new ArrayList<>(); // {sentence, window}
        for (int s = 0; s < windows.size(); s++) {
            for (int w = 0; w < windows.get(s).size(); w++) {
                // a window that carries no word (empty text) has nothing to predict
                if (java.util.Arrays.stream(windows.get(s).get(w).wordAt()).anyMatch(k -> k >= 0)) items.add(new int[] {s, w});
            }
        }
        // similar lengths together: less padding, same results
        items.sort(Comparator.comparingInt(it -> windows.get(it[0]).get(it[1]).length()));
        long padId = Sequences.padId(tok);
        int c = head.numLabels;
        Activity act = Activity.start("tagging windows", items.size());
        for (int from = 0; from < items.size(); from += batchSize) {
            List<int[]> chunk = items.subList(from, Math.min(items.size(), from + batchSize));
            act.advance(chunk.size());
            List<Sequences.Input> inputs = new ArrayList<>(chunk.size());
            for (int[] it : chunk) inputs.add(windows.get(it[0]).get(it[1]).input());
            Sequences.Padded x = Sequences.pad(inputs, padId);
            int t = x.ids()[0].length;
            try (NDManager m = parent.newSubManager()) {
                NDArray logits = head.logits(m.create(x.ids()), m.create(x.typeIds()), m.create(x.mask()), false);
                if (gold != null) {
                    long[] y = new long[chunk.size() * t];
                    java.util.Arrays.fill(y, WordAlignment.IGNORE);
                    for (int b = 0; b < chunk.size(); b++) {
                        int[] it = chunk.get(b);
                        long[] yw = windows.get(it[0]).get(it[1]).labels(gold.get(it[0]));
                        System.arraycopy(yw, 0, y, b * t, yw.length);
                    }
                    out.lossSum += Losses.crossEntropySum(logits.reshape(-1, c), m.create(y), 0f).getFloat();
                    out.lossTargets += Losses.targets(y);
                }
                float[] p = logits.softmax(-1).toFloatArray();
                for (int b = 0; b < chunk.size(); b++) {
                    int[] it = chunk.get(b);
                    int[] wordAt = windows.get(it[0]).get(it[1]).wordAt();
                    for (int pos = 0; pos < wordAt.length; pos++) {
                        int word = wordAt[pos];
                        if (word < 0) continue;
                        int base = (b * t + pos) * c;
                        int best = 0;
                        for (int k = 1; k < c; k++) if (p[base + k] > p[base + best]) best = k;
                        out.labels[it[0]][word] = best;
                        out.probs[it[0]][word] = p[base + best];
                    }
                }
            }
        }
        act.close();
        return out;
    }
}
