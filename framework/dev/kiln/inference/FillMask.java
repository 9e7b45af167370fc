package dev.kiln.inference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
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
        if (bert.mlm == null || (bert.loadReport != null
                && bert.loadReport.missing.stream().anyMatch(k -> k.startsWith("cls.predictions")))) {
            throw new IllegalArgumentException("this model has no masked-LM head (cls.predictions.* not in its checkpoint)");
        }
        Integer maskId = tok.maskId();
        if (maskId == null) throw new IllegalArgumentException("the tokenizer has no mask token");
        Encoding e = tok.encode(text);
        int pos = -1;
        for (int i = 0; i < e.length(); i++) {
            if (e.ids()[i] == maskId) {
                pos = i;
                break;
            }
        }
        if (pos < 0) throw new IllegalArgumentException("text has no " + tok.idToToken(maskId) + " token: " + text);
        try (NDManager m = bert.params.manager().newSubManager()) {
            NDArray ids = m.create(e.ids()).reshape(1, e.length());
            NDArray types = m.create(e.typeIds()).reshape(1, e.length());
            NDArray h = bert.forward(ids, types, null, false).lastHiddenState;
            NDArray probs = bert.mlmLogits(h.get(new NDIndex(":, " + pos + ", :"))).softmax(-1).reshape(-1);
            int k = (int) Math.min(topK, probs.size());
            long[] top = probs.argSort(0, false).get(new NDIndex("0:" + k)).toLongArray();
            float[] p = probs.toFloatArray();
            List<Candidate> out = new ArrayList<>();
            for (long id : top) out.add(new Candidate(tok.decode(new long[] {id}, false).trim(), id, p[(int) id]));
            return out;
        }
    }
}
