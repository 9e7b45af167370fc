package dev.kiln.tasks.qa;

import dev.kiln.text.Encoding;
import dev.kiln.text.InputTemplate;
import dev.kiln.text.Windows;
import dev.kiln.text.Tokenizer;
import dev.kiln.text.Sequences;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Extractive-QA model inputs: a question and windows over a context too long for one input, as HF's
 * {@code run_qa.py} prepares them. Each window is {@code [CLS] question [SEP] context-part [SEP]} for BERT
 * (type ids 0, then 1 from the context on) or {@code question <eos> context-part} for GPT-2, at most
 * {@code maxLength} tokens; consecutive windows share {@code docStride} context tokens (HF's meaning of
 * doc_stride: the overlap, not the step).
 *
 * <p>Training labels follow HF: the answer's first and last token when the whole answer lies inside the
 * window, else position 0 for both (the [CLS] slot: "not in this window").
 */
public final class QaFeatures {
    private QaFeatures() {}

    /** Window sizes; validated by {@link #check}. */
    public record Settings(int maxLength, int docStride, int maxQuestionLength) {}

    /**
     * One window.
     *
     * @param input        model ids and type ids
     * @param offsets      per position, the [start, end) characters in the context, or null for question and special tokens
     * @param maxContext   per position, whether this window is the one where that context token has the most
     *                     context on both sides (original BERT's rule for tokens shared by windows)
     * @param contextStart position of the first context token in {@code input}
     * @param window       which window of its example, and {@code span} its context-token range
     * @param startLabel   answer start position, 0 when the answer is not wholly inside
     * @param endLabel     answer end position (inclusive), 0 likewise
     */
    public record Window(Sequences.Input input, int[][] offsets, boolean[] maxContext, int contextStart,
                         int window, Windows.Span span, int startLabel, int endLabel) {
        /** Whether position {@code i} holds a context token. */
        public boolean isContext(int i) {
            return i >= 0 && i < offsets.length && offsets[i] != null;
        }
    }

    /** Special tokens around question and context: 3 for BERT ([CLS] [SEP] [SEP]), 1 for GPT-2 (eos). */
    public static int specialCount(Tokenizer tok) {
        return Sequences.specialCount(tok, true);
    }

    /** Null if the settings leave every window room for its overlap, else what is wrong. */
    public static String check(Tokenizer tok, Settings s) {
        int room = s.maxLength() - s.maxQuestionLength() - specialCount(tok);
        if (s.docStride() < 0) return "doc_stride must be >= 0, got " + s.docStride();
        if (room <= s.docStride()) {
            return "max_length " + s.maxLength() + " leaves " + room + " context tokens per window after a question of up to "
                    + s.maxQuestionLength() + " tokens and " + specialCount(tok) + " special tokens; doc_stride "
                    + s.docStride() + " must be smaller than that";
        }
        return null;
    }

    /**
     * The windows of one example. {@code answerStart}/{@code answerEnd} are the answer's [start, end)
     * characters in {@code context}, or -1 for unlabelled (prediction) windows. The question is cut to
     * {@code maxQuestionLength} tokens (original BERT's max_query_length), so every window has context.
     */
    public static List<Window> build(Tokenizer tok, String question, String context, int answerStart, int answerEnd,
                                     Settings s) {
        String bad = check(tok, s);
        if (bad != null) throw new IllegalArgumentException(bad);
        long[] q = tok.encode(question, false).ids();
        if (q.length > s.maxQuestionLength()) q = Arrays.copyOf(q, s.maxQuestionLength());
        Encoding ctx = tok.encode(context, false);
        int n = ctx.length();
        int[][] ctxOffsets = ctx.offsets();
        int budget = s.maxLength() - q.length - specialCount(tok);
        List<Windows.Span> spans = Windows.slide(n, budget, s.docStride());
        int[] best = Windows.maxContextWindow(spans, n);
        int[] answer = answerStart < 0 ? null : TokenSpans.covering(ctxOffsets, 0, n, answerStart, answerEnd);

        InputTemplate t = tok.template();
        int contextStart = t.secondStart(q.length);
        List<Window> out = new ArrayList<>(spans.size());
        for (int w = 0; w < spans.size(); w++) {
            Windows.Span sp = spans.get(w);
            Sequences.Input in = t.build(q, Arrays.copyOfRange(ctx.ids(), sp.start(), sp.end()), Integer.MAX_VALUE);
            long[] ids = in.ids();
            long[] types = in.typeIds();
            int len = ids.length;
            int[][] offsets = new int[len][];
            boolean[] maxCtx = new boolean[len];
            for (int i = sp.start(), p = contextStart; i < sp.end(); i++, p++) {
                offsets[p] = ctxOffsets[i];
                maxCtx[p] = best[i] == w;
            }
            int startLabel = 0;
            int endLabel = 0;
            if (answer != null && answer[0] >= sp.start() && answer[1] < sp.end()) {
                startLabel = contextStart + answer[0] - sp.start();
                endLabel = contextStart + answer[1] - sp.start();
            }
            out.add(new Window(new Sequences.Input(ids, types), offsets, maxCtx, contextStart, w, sp, startLabel, endLabel));
        }
        return out;
    }
}
