package dev.kiln.tasks.qa;


import java.util.ArrayList;
import java.util.List;

/**
 * Post-processing of HF's {@code postprocess_qa_predictions} for SQuAD v1.1: in every window take the
 * n-best start and end positions, pair them into spans that lie in the context with end ≥ start and at
 * most max_answer_length tokens, score a span by start + end logit, and keep the best span over all
 * windows of the example, mapped back to the context's characters through the offsets.
 *
 * <p>Two choices differ from HF's script, both from the original BERT code: candidates are drawn from
 * context positions only (HF ranks all positions and then drops the question ones, which can leave no
 * valid span), and a start counts only in the window where its token has the most context.
 */
public final class SpanDecoder {
    private SpanDecoder() {}

    /** The best span, or an empty answer at 0 when no window has a valid span (empty context). */
    public static QuestionAnswerer.Answer decode(String context, List<QaFeatures.Window> windows,
                                                 List<float[]> startLogits, List<float[]> endLogits,
                                                 int nBest, int maxAnswerLength) {
        int bestW = -1, bestS = -1, bestE = -1;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int w = 0; w < windows.size(); w++) {
            QaFeatures.Window win = windows.get(w);
            float[] sl = startLogits.get(w);
            float[] el = endLogits.get(w);
            int[] starts = top(sl, nBest, win, true);
            int[] ends = top(el, nBest, win, false);
            for (int s : starts) {
                for (int e : ends) {
                    if (e < s || e - s + 1 > maxAnswerLength) continue;
                    double score = (double) sl[s] + el[e];
                    if (score > bestScore) {
                        bestScore = score;
                        bestW = w;
                        bestS = s;
                        bestE = e;
                    }
                }
            }
        }
        if (bestW < 0) return new QuestionAnswerer.Answer("", 0, 0, 0f);
        QaFeatures.Window win = windows.get(bestW);
        int[] chars = TokenSpans.charSpan(win.offsets(), bestS, bestE, context);
        float score = (float) (softmaxAt(startLogits.get(bestW), win, bestS) * softmaxAt(endLogits.get(bestW), win, bestE));
        return new QuestionAnswerer.Answer(context.substring(chars[0], chars[1]), chars[0], chars[1], score);
    }

    /** Positions of the {@code n} largest logits among the window's context tokens (max-context ones for starts). */
    static int[] top(float[] logits, int n, QaFeatures.Window win, boolean maxContextOnly) {
        List<Integer> cand = new ArrayList<>();
        for (int i = 0; i < logits.length; i++) {
            if (win.isContext(i) && (!maxContextOnly || win.maxContext()[i])) cand.add(i);
        }
        cand.sort((a, b) -> Float.compare(logits[b], logits[a]));
        int k = Math.min(n, cand.size());
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = cand.get(i);
        return out;
    }

    /** Softmax probability of position {@code i} among the window's context positions (HF pipeline's score). */
    static double softmaxAt(float[] logits, QaFeatures.Window win, int i) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < logits.length; j++) if (win.isContext(j)) max = Math.max(max, logits[j]);
        double z = 0;
        for (int j = 0; j < logits.length; j++) if (win.isContext(j)) z += Math.exp(logits[j] - max);
        return Math.exp(logits[i] - max) / z;
    }
}
