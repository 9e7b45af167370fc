package dev.kiln.tasks.qa;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.kiln.inference.LengthBatches;
import dev.kiln.nn.Losses;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;

/**
 * Batched inference that streams: questions are windowed as they are pulled, the windows of a pool of
 * consecutive questions run in length-sorted batches, and the pool's answers are handed on in input order.
 * Only the questions in flight (about {@link #POOL_BATCHES} batches of windows) hold windows and logits, so
 * evaluating a large file needs no more memory than a small one. Shared by dev evaluation, {@code kiln evaluate}
 * and {@link QuestionAnswerer}.
 */
final class QaRunner {
    /** A question to answer; answerStart/answerEnd (characters) label the windows for the dev loss, or -1. */
    record Query(String question, String context, int answerStart, int answerEnd) {}

    interface Sink<T> {
        void accept(T item, QuestionAnswerer.Answer answer);
    }

    private final QaHead head;
    private final Tokenizer tok;
    private final QaFeatures.Settings features;
    private final int nBest;
    private final int maxAnswerLength;
    private final int batchSize;

    /** Loss summed over the windows run so far, and their number (labelled queries only). */
    double lossSum;
    long lossWindows;

    QaRunner(QaHead head, Tokenizer tok, QaFeatures.Settings features, int nBest, int maxAnswerLength, int batchSize) {
        this.head = head;
        this.tok = tok;
        this.features = features;
        this.nBest = nBest;
        this.maxAnswerLength = maxAnswerLength;
        this.batchSize = batchSize;
    }

    /** Windows pulled before they are sorted by length and run: a pool of this many batches. */
    static final int POOL_BATCHES = 8;

    private static final class Pending<T> {
        final T item;
        final Query query;
        final List<QaFeatures.Window> windows;
        final List<float[]> start = new ArrayList<>();
        final List<float[]> end = new ArrayList<>();

        Pending(T item, Query query, List<QaFeatures.Window> windows) {
            this.item = item;
            this.query = query;
            this.windows = windows;
            for (int i = 0; i < windows.size(); i++) {
                start.add(null);
                end.add(null);
            }
        }
    }

    private record Slot<T>(Pending<T> owner, int window) {}

    /**
     * Pulls questions until their windows fill a pool of {@link #POOL_BATCHES} batches, runs the pool's windows
     * sorted by length (each batch pads to nearly its own windows' length; a window's logits do not depend on its
     * batch-mates), then hands on the pool's answers in input order.
     */
    <T> void run(Iterator<T> items, Function<T, Query> toQuery, Sink<T> sink, NDManager parent) {
        int size = LengthBatches.size(batchSize);
        int pool = size * POOL_BATCHES;
        while (items.hasNext()) {
            List<Pending<T>> inFlight = new ArrayList<>();
            List<Slot<T>> slots = new ArrayList<>();
            while (slots.size() < pool && items.hasNext()) {
                T item = items.next();
                Query q = toQuery.apply(item);
                Pending<T> p = new Pending<>(item, q, QaFeatures.build(tok, q.question(), q.context(),
                        q.answerStart(), q.answerEnd(), features));
                inFlight.add(p);
                for (int w = 0; w < p.windows.size(); w++) slots.add(new Slot<>(p, w));
            }
            int[] lengths = new int[slots.size()];
            for (int i = 0; i < lengths.length; i++) lengths[i] = slots.get(i).owner().windows.get(slots.get(i).window()).input().length();
            for (int[] rows : LengthBatches.batches(lengths, size, true)) {
                List<Slot<T>> batch = new ArrayList<>(rows.length);
                for (int r : rows) batch.add(slots.get(r));
                forward(batch, parent);
            }
            for (Pending<T> p : inFlight) {
                sink.accept(p.item, SpanDecoder.decode(p.query.context(), p.windows, p.start, p.end, nBest, maxAnswerLength));
            }
        }
    }

    private <T> void forward(List<Slot<T>> batch, NDManager parent) {
        List<Sequences.Input> in = new ArrayList<>(batch.size());
        long[] ys = new long[batch.size()];
        long[] ye = new long[batch.size()];
        boolean labelled = true;
        for (int i = 0; i < batch.size(); i++) {
            Slot<T> s = batch.get(i);
            QaFeatures.Window w = s.owner().windows.get(s.window());
            in.add(w.input());
            ys[i] = w.startLabel();
            ye[i] = w.endLabel();
            labelled &= s.owner().query.answerStart() >= 0;
        }
        Sequences.Padded x = Sequences.pad(in, Sequences.padId(tok));
        int t = x.ids()[0].length;
        try (NDManager m = parent.newSubManager()) {
            NDArray mask = m.create(x.mask());
            NDList l = head.logits(m.create(x.ids()), m.create(x.typeIds()), mask, false);
            if (labelled) {
                NDArray s = Losses.crossEntropySum(l.get(0), m.create(ys), 0f, mask);
                NDArray e = Losses.crossEntropySum(l.get(1), m.create(ye), 0f, mask);
                lossSum += s.add(e).div(2f).getFloat();
                lossWindows += batch.size();
            }
            float[] sl = l.get(0).toFloatArray();
            float[] el = l.get(1).toFloatArray();
            for (int i = 0; i < batch.size(); i++) {
                Slot<T> s = batch.get(i);
                int len = in.get(i).length();
                s.owner().start.set(s.window(), java.util.Arrays.copyOfRange(sl, i * t, i * t + len));
                s.owner().end.set(s.window(), java.util.Arrays.copyOfRange(el, i * t, i * t + len));
            }
        }
    }
}
