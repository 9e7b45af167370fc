package dev.kiln.inference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.models.bert.BertModel;
import dev.kiln.text.Encoding;
import dev.kiln.text.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/** Masked-token prediction with a BERT that has its MLM head (HF's fill-mask pipeline). */
public final class FillMask {
    private FillMask() {}

    public record Candidate(String token, long id, float score) {}

    /** Top-k candidates for the first mask token in {@code text}. */
    public static List<Candidate> predict(BertModel bert, Tokenizer tok, String text, int topK) {
        return predictBatch(bert, tok, List.of(text), topK, 1).get(0);
    }

    /**
     * {@link #predict} for each text, in input order; the texts run in length-sorted batches of {@code batchSize}
     * (padding is masked out of attention: the same candidates, scores up to float rounding).
     */
    public static List<List<Candidate>> predictBatch(BertModel bert, Tokenizer tok, List<String> texts, int topK, int batchSize) {
        if (bert.mlm == null || (bert.loadReport != null
                && bert.loadReport.missing.stream().anyMatch(k -> k.startsWith("cls.predictions")))) {
            throw new IllegalArgumentException("this model has no masked-LM head (cls.predictions.* not in its checkpoint)");
        }
        Integer maskId = tok.maskId();
        if (maskId == null) throw new IllegalArgumentException("the tokenizer has no mask token");
        List<Masked> in = new ArrayList<>(texts.size());
        for (String text : texts) {
            Encoding e = tok.encode(text);
            int pos = -1;
            for (int i = 0; i < e.length() && pos < 0; i++) if (e.ids()[i] == maskId) pos = i;
            if (pos < 0) throw new IllegalArgumentException("text has no " + tok.idToToken(maskId) + " token: " + text);
            in.add(new Masked(e, pos));
        }
        int[] lengths = in.stream().mapToInt(x -> x.enc().length()).toArray();
        return LengthBatches.map(in, lengths, batchSize, batch -> forward(bert, tok, batch, topK));
    }

    private record Masked(Encoding enc, int pos) {}

    private static List<List<Candidate>> forward(BertModel bert, Tokenizer tok, List<Masked> batch, int topK) {
        int w = 0;
        for (Masked x : batch) w = Math.max(w, x.enc().length());
        int n = batch.size();
        long[][] ids = new long[n][], types = new long[n][], att = new long[n][];
        long[] rows = new long[n];
        for (int b = 0; b < n; b++) {
            Encoding e = batch.get(b).enc();
            ids[b] = java.util.Arrays.copyOf(e.ids(), w);
            if (e.length() < w) java.util.Arrays.fill(ids[b], e.length(), w, dev.kiln.text.Sequences.padId(tok));
            types[b] = java.util.Arrays.copyOf(e.typeIds(), w);
            att[b] = new long[w];
            java.util.Arrays.fill(att[b], 0, e.length(), 1);
            rows[b] = (long) b * w + batch.get(b).pos();
        }
        try (dev.kiln.nn.NoGrad g = dev.kiln.nn.NoGrad.scope(); NDManager m = bert.params.manager().newSubManager()) {
            NDArray h = bert.forward(m.create(ids), m.create(types), m.create(att), false).lastHiddenState;
            // each row's hidden state at its own mask position, then the MLM head on those rows only
            NDArray atMask = h.reshape(-1, h.getShape().get(2)).get(m.create(rows));
            NDArray probs = bert.mlmLogits(atMask).softmax(-1);
            int v = (int) probs.getShape().get(1);
            int k = Math.min(topK, v);
            long[] top = probs.argSort(1, false).get(":, 0:" + k).toLongArray();
            float[] p = probs.toFloatArray();
            List<List<Candidate>> out = new ArrayList<>(n);
            for (int b = 0; b < n; b++) {
                List<Candidate> c = new ArrayList<>(k);
                for (int j = 0; j < k; j++) {
                    long id = top[b * k + j];
                    c.add(new Candidate(tok.decode(new long[] {id}, false).trim(), id, p[b * v + (int) id]));
                }
                out.add(c);
            }
            return out;
        }
    }
}
