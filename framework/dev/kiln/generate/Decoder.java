package dev.kiln.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Decoding strategies over a {@link CausalLm}: greedy, sampling (temperature, top-k, top-p) and beam
 * search (length penalty, no-repeat n-grams, early stopping, min/max new tokens, EOS).
 * Logit processing runs on host arrays: one [V] row per sequence per step is cheap next to the forward pass.
 */
public final class Decoder {
    private Decoder() {}

    /** Greedy or sampled continuations of a batch of prompts (left-padded internally). */
    public static List<long[]> sampleOrGreedy(CausalLm lm, List<long[]> prompts, GenerationOptions o) {
        o.validate();
        int b = prompts.size();
        int width = 0;
        for (long[] p : prompts) width = Math.max(width, p.length);
        long[][] ids = new long[b][width];
        long[][] mask = new long[b][width];
        long pad = o.eosTokenId == null ? 0 : o.eosTokenId;
        List<List<Long>> seqs = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            long[] p = prompts.get(i);
            int off = width - p.length; // left padding keeps every row's last token at the end
            Arrays.fill(ids[i], pad);
            for (int j = 0; j < p.length; j++) {
                ids[i][off + j] = p[j];
                mask[i][off + j] = 1;
            }
            List<Long> s = new ArrayList<>();
            for (long x : p) s.add(x);
            seqs.add(s);
        }
        SplittableRandom rng = new SplittableRandom(o.seed);
        boolean[] done = new boolean[b];
        List<long[]> out = new ArrayList<>();
        List<List<Long>> gen = new ArrayList<>();
        for (int i = 0; i < b; i++) gen.add(new ArrayList<>());
        boolean[][] allowed = new boolean[b][];
        for (int i = 0; i < b; i++) allowed[i] = inputVocabulary(lm, i, prompts.get(i), o);
        float[][] logits = lm.start(ids, mask);
        for (int step = 0; step < o.maxNewTokens; step++) {
            long[] next = new long[b];
            boolean all = true;
            for (int i = 0; i < b; i++) {
                if (done[i]) {
                    next[i] = pad;
                    continue;
                }
                float[] row = logits[i];
                process(row, seqs.get(i), gen.get(i).size(), o, allowed[i]);
                long tok = o.doSample ? sample(row, o, rng) : argMax(row);
                next[i] = tok;
                seqs.get(i).add(tok);
                gen.get(i).add(tok);
                if (o.eosTokenId != null && tok == o.eosTokenId) done[i] = true;
                all &= done[i];
            }
            if (all || step == o.maxNewTokens - 1) break;
            logits = lm.next(next);
        }
        for (List<Long> g : gen) out.add(g.stream().mapToLong(Long::longValue).toArray());
        return out;
    }

    /** Beam search for one prompt; returns the best finished hypothesis (new tokens only). */
    public static long[] beamSearch(CausalLm lm, long[] prompt, GenerationOptions o) {
        o.validate();
        int nb = o.numBeams;
        long[][] ids = {prompt};
        long[][] mask = new long[1][prompt.length];
        Arrays.fill(mask[0], 1);
        boolean[] allowed = inputVocabulary(lm, 0, prompt, o);
        float[] first = lm.start(ids, mask)[0];
        lm.reorder(new int[nb]); // nb copies of the prompt's cache
        List<List<Long>> beams = new ArrayList<>();
        double[] scores = new double[nb];
        for (int k = 0; k < nb; k++) {
            beams.add(new ArrayList<>());
            scores[k] = k == 0 ? 0 : Double.NEGATIVE_INFINITY; // only one live beam at first: no duplicates
        }
        float[][] logits = new float[nb][];
        for (int k = 0; k < nb; k++) logits[k] = first;
        List<Hyp> finished = new ArrayList<>();
        int v = lm.vocabSize();
        for (int step = 0; step < o.maxNewTokens; step++) {
            // candidate scores: beam score + log p(token)
            List<Cand> cands = new ArrayList<>();
            for (int k = 0; k < nb; k++) {
                if (scores[k] == Double.NEGATIVE_INFINITY) continue;
                float[] row = logits[k].clone();
                List<Long> ctx = new ArrayList<>();
                for (long x : prompt) ctx.add(x);
                ctx.addAll(beams.get(k));
                process(row, ctx, beams.get(k).size(), o.copyForBeam(), allowed);
                double[] lp = logSoftmax(row);
                // the 2·nb best per beam are enough for the 2·nb best overall
                int[] top = topIndexes(lp, Math.min(v, 2 * nb));
                for (int t : top) {
                    if (lp[t] == Double.NEGATIVE_INFINITY) continue;
                    cands.add(new Cand(k, t, scores[k] + lp[t]));
                }
            }
            cands.sort(Comparator.comparingDouble((Cand c) -> -c.score));
            List<List<Long>> nextBeams = new ArrayList<>();
            double[] nextScores = new double[nb];
            int[] rows = new int[nb];
            long[] tokens = new long[nb];
            int filled = 0;
            for (Cand c : cands) {
                if (filled == nb) break;
                boolean eos = o.eosTokenId != null && c.token == o.eosTokenId;
                List<Long> seq = new ArrayList<>(beams.get(c.beam));
                seq.add((long) c.token);
                if (eos) {
                    // HF: a finished beam only counts when it ranks within the first nb candidates
                    if (cands.indexOf(c) < nb) finished.add(new Hyp(seq, c.score / Math.pow(seq.size(), o.lengthPenalty)));
                    continue;
                }
                nextBeams.add(seq);
                nextScores[filled] = c.score;
                rows[filled] = c.beam;
                tokens[filled] = c.token;
                filled++;
            }
            for (int k = filled; k < nb; k++) {
                nextBeams.add(new ArrayList<>(nextBeams.isEmpty() ? List.of() : nextBeams.get(0)));
                nextScores[k] = Double.NEGATIVE_INFINITY;
                rows[k] = filled == 0 ? 0 : rows[0];
                tokens[k] = filled == 0 ? 0 : tokens[0];
            }
            beams = nextBeams;
            scores = nextScores;
            if (isDone(finished, scores, beams, o) || filled == 0 || step == o.maxNewTokens - 1) break;
            lm.reorder(rows);
            logits = lm.next(tokens);
        }
        for (int k = 0; k < nb; k++) {
            if (scores[k] == Double.NEGATIVE_INFINITY) continue;
            finished.add(new Hyp(beams.get(k), scores[k] / Math.pow(Math.max(1, beams.get(k).size()), o.lengthPenalty)));
        }
        Hyp best = finished.stream().max(Comparator.comparingDouble(h -> h.score)).orElseThrow();
        return best.tokens.stream().mapToLong(Long::longValue).toArray();
    }

    private static boolean isDone(List<Hyp> finished, double[] scores, List<List<Long>> beams, GenerationOptions o) {
        if (finished.size() < o.numBeams) return false;
        if (o.earlyStopping) return true;
        // no running beam can still beat the worst kept hypothesis (HF's heuristic with early_stopping=False)
        List<Hyp> kept = new ArrayList<>(finished);
        kept.sort(Comparator.comparingDouble((Hyp h) -> -h.score));
        double worst = kept.get(o.numBeams - 1).score;
        double bestRunning = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < scores.length; k++) {
            if (scores[k] == Double.NEGATIVE_INFINITY) continue;
            bestRunning = Math.max(bestRunning, scores[k] / Math.pow(Math.max(1, beams.get(k).size()), o.lengthPenalty));
        }
        return worst >= bestRunning;
    }

    record Cand(int beam, int token, double score) {}

    record Hyp(List<Long> tokens, double score) {}

    /** The tokens a row may write under {@link GenerationOptions#inputVocabularyOnly} (its input's and EOS), else null. */
    static boolean[] inputVocabulary(CausalLm lm, int row, long[] prompt, GenerationOptions o) {
        if (!o.inputVocabularyOnly) return null;
        long[] input = lm.inputTokens(row);
        boolean[] allowed = new boolean[lm.vocabSize()];
        for (long t : input == null ? prompt : input) allowed[(int) t] = true;
        if (o.eosTokenId != null) allowed[o.eosTokenId] = true;
        return allowed;
    }

    /**
     * Applies the input vocabulary ({@code allowed}, null = all tokens), min-new-tokens (EOS banned), no-repeat
     * n-grams, temperature, top-k and top-p in place.
     */
    static void process(float[] logits, List<Long> context, int generated, GenerationOptions o, boolean[] allowed) {
        if (allowed != null) for (int i = 0; i < logits.length; i++) if (!allowed[i]) logits[i] = Float.NEGATIVE_INFINITY;
        if (o.eosTokenId != null && generated < o.minNewTokens) logits[o.eosTokenId] = Float.NEGATIVE_INFINITY;
        if (o.noRepeatNgramSize > 0) banRepeats(logits, context, o.noRepeatNgramSize);
        if (allowed != null && o.eosTokenId != null && allBanned(logits)) {
            logits[o.eosTokenId] = 0f; // a small input vocabulary can run out of unrepeated n-grams: end there
        }
        if (!o.doSample) return;
        if (o.temperature != 1f) for (int i = 0; i < logits.length; i++) logits[i] /= o.temperature;
        if (o.topK > 0 && o.topK < logits.length) {
            float[] sorted = logits.clone();
            Arrays.sort(sorted);
            float kth = sorted[sorted.length - o.topK];
            for (int i = 0; i < logits.length; i++) if (logits[i] < kth) logits[i] = Float.NEGATIVE_INFINITY;
        }
        if (o.topP < 1f) {
            double[] p = softmax(logits);
            Integer[] order = new Integer[p.length];
            for (int i = 0; i < p.length; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            double cum = 0;
            boolean cut = false;
            for (Integer i : order) {
                if (cut) logits[i] = Float.NEGATIVE_INFINITY;
                cum += p[i];
                if (cum >= o.topP) cut = true; // keep the token that crosses p, drop the rest
            }
        }
    }

    private static boolean allBanned(float[] logits) {
        for (float x : logits) if (x != Float.NEGATIVE_INFINITY) return false;
        return true;
    }

    /** Bans every token that would complete an n-gram already present in {@code context}. */
    static void banRepeats(float[] logits, List<Long> context, int n) {
        int len = context.size();
        if (len + 1 < n) return;
        // the last n-1 tokens form the prefix of the n-gram about to be made
        for (int s = 0; s + n <= len; s++) {
            boolean match = true;
            for (int j = 0; j < n - 1; j++) {
                if (!context.get(s + j).equals(context.get(len - (n - 1) + j))) {
                    match = false;
                    break;
                }
            }
            if (match) logits[(int) (long) context.get(s + n - 1)] = Float.NEGATIVE_INFINITY;
        }
    }

    static long argMax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    static long sample(float[] logits, GenerationOptions o, SplittableRandom rng) {
        double[] p = softmax(logits);
        double u = rng.nextDouble();
        double cum = 0;
        for (int i = 0; i < p.length; i++) {
            cum += p[i];
            if (u < cum) return i;
        }
        return argMax(logits);
    }

    static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : logits) max = Math.max(max, x);
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = logits[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : logits) max = Math.max(max, x);
        double sum = 0;
        for (float x : logits) if (x != Float.NEGATIVE_INFINITY) sum += Math.exp(x - max);
        double lse = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) out[i] = logits[i] == Float.NEGATIVE_INFINITY ? Double.NEGATIVE_INFINITY : logits[i] - lse;
        return out;
    }

    /**
     * The indexes of the k largest values, largest first, ties to the lower index (as a stable descending
     * sort). A partial insertion pass: O(V·k) with k = 2·beams, instead of sorting the whole vocabulary
     * of boxed indexes at every step for every beam, which dominated beam search.
     */
    static int[] topIndexes(double[] x, int k) {
        int[] top = new int[k];
        int size = 0;
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            if (size == k && !(v > x[top[k - 1]])) continue;
            int p = size < k ? size++ : k - 1;
            while (p > 0 && v > x[top[p - 1]]) {
                top[p] = top[p - 1];
                p--;
            }
            top[p] = i;
        }
        return size == k ? top : Arrays.copyOf(top, size);
    }
}
