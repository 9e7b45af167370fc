package dev.kiln.tasks.pretraining;

import dev.kiln.text.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * BERT's masked-LM corruption: choose min(max_predictions, max(1, round(len · p))) positions
 * (len counts the special tokens, as the original does) among the non-special tokens, in random
 * order by token or — whole-word masking — by word (a piece plus its following "##" pieces, all or
 * none); replace each with [MASK] (mask_replace_prob), a random token (random_replace_prob) or leave
 * it. Template tokens and the tokenizer's special tokens ([CLS], [SEP], [PAD], [MASK], [UNK]) are
 * never chosen, and random replacements are drawn from the non-special tokens.
 */
final class MlmMasker {
    final double probability;
    final double maskProb;
    final double randomProb;
    final int maxPredictions;
    final boolean wholeWord;
    final int maskId;
    private final boolean[] special;
    private final boolean[] continuation;
    private final int[] randomPool;

    MlmMasker(Tokenizer tok, double probability, double maskProb, double randomProb, int maxPredictions, boolean wholeWord) {
        this.probability = probability;
        this.maskProb = maskProb;
        this.randomProb = randomProb;
        this.maxPredictions = maxPredictions;
        this.wholeWord = wholeWord;
        this.maskId = tok.maskId();
        int v = tok.vocabSize();
        special = new boolean[v];
        continuation = new boolean[v];
        for (Integer id : new Integer[] {tok.clsId(), tok.sepId(), tok.padId(), tok.maskId(), tok.unkId(), tok.eosId()}) {
            if (id != null && id < v) special[id] = true;
        }
        int pool = 0;
        for (int i = 0; i < v; i++) {
            String t = tok.idToToken(i);
            continuation[i] = t != null && t.startsWith("##");
            if (t == null) special[i] = true; // a gap in the ids is no token to draw
            if (!special[i]) pool++;
        }
        randomPool = new int[pool];
        for (int i = 0, k = 0; i < v; i++) if (!special[i]) randomPool[k++] = i;
    }

    boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    /** A corrupted sequence and where to predict what. */
    record Masked(long[] ids, int[] positions, long[] labels) {}

    /** {@code template[p]}: position p holds a template token ([CLS]/[SEP]). {@code ids} is not changed. */
    Masked mask(long[] ids, boolean[] template, SplittableRandom rng) {
        List<int[]> groups = new ArrayList<>();
        int[] cur = null;
        int curLen = 0;
        int last = -2;
        for (int p = 0; p < ids.length; p++) {
            int id = (int) ids[p];
            if (template[p] || isSpecial(id)) continue;
            boolean joins = wholeWord && cur != null && last == p - 1 && id < continuation.length && continuation[id];
            if (joins) {
                if (curLen == cur.length) cur = Arrays.copyOf(cur, cur.length * 2);
                cur[curLen++] = p;
            } else {
                if (cur != null) groups.add(Arrays.copyOf(cur, curLen));
                cur = new int[4];
                cur[0] = p;
                curLen = 1;
            }
            last = p;
        }
        if (cur != null) groups.add(Arrays.copyOf(cur, curLen));
        for (int i = groups.size() - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int[] t = groups.get(i);
            groups.set(i, groups.get(j));
            groups.set(j, t);
        }
        int want = (int) Math.min(maxPredictions, Math.max(1, Math.round(ids.length * probability)));
        int[] chosen = new int[want];
        int n = 0;
        for (int[] g : groups) {
            if (n >= want) break;
            if (n + g.length > want) continue;
            for (int p : g) chosen[n++] = p;
        }
        int[] positions = Arrays.copyOf(chosen, n);
        Arrays.sort(positions);
        long[] out = ids.clone();
        long[] labels = new long[n];
        for (int k = 0; k < n; k++) {
            int p = positions[k];
            labels[k] = ids[p];
            double r = rng.nextDouble();
            if (r < maskProb) out[p] = maskId;
            else if (r < maskProb + randomProb) out[p] = randomPool[rng.nextInt(randomPool.length)];
        }
        return new Masked(out, positions, labels);
    }
}
