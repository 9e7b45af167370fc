package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.models.BertModel;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Pooling;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Scores sentences with BERT: the state at each sentence's [CLS] goes through dropout and a linear layer
 * to one logit ("classifier", as BertForTokenClassification with one label names it, so HF loads the folder).
 */
final class SentenceScorer {
    static final String HEAD = "classifier";

    final BertModel bert;
    final Tokenizer tok;
    final Linear head;
    final int maxLength;
    final boolean alternateSegments;

    SentenceScorer(BertModel bert, Tokenizer tok, int maxLength) {
        this.bert = bert;
        this.tok = tok;
        this.maxLength = maxLength;
        // interval segments need two segment embeddings; a model with one gets all zeros
        this.alternateSegments = bert.config.typeVocabSize >= 2;
        this.head = new Linear(bert, HEAD, bert.config.hiddenSize, 1, true);
    }

    SentenceInputs.Encoded encode(List<String> sentences) {
        return SentenceInputs.encode(tok, sentences, maxLength, alternateSegments);
    }

    /** A padded batch plus the (row, [CLS] position) of every covered sentence, example by example. */
    record Inputs(Sequences.Padded x, long[] rows, long[] cols) {}

    Inputs inputs(List<SentenceInputs.Encoded> encs) {
        List<Sequences.Input> in = new ArrayList<>();
        int n = 0;
        for (SentenceInputs.Encoded e : encs) {
            in.add(new Sequences.Input(e.ids(), e.typeIds()));
            n += e.covered();
        }
        long[] rows = new long[n];
        long[] cols = new long[n];
        int k = 0;
        for (int i = 0; i < encs.size(); i++) {
            for (int c : encs.get(i).cls()) {
                rows[k] = i;
                cols[k++] = c;
            }
        }
        return new Inputs(Sequences.pad(in, Sequences.padId(tok)), rows, cols);
    }

    /** One logit per covered sentence, [N], in the order of {@link Inputs#rows()}. */
    NDArray logits(Inputs b, NDManager m, boolean training) {
        NDArray hidden = bert.hiddenStates(m.create(b.x().ids()), m.create(b.x().typeIds()), m.create(b.x().mask()), training);
        NDArray cls = Pooling.at(m, hidden, b.rows(), b.cols());
        return head.forward(Functional.dropout(cls, bert.hiddenDropout(), training)).reshape(-1);
    }

    /** Sentence scores (logits) of each example, in batches of {@code batchSize}. */
    List<float[]> scores(List<SentenceInputs.Encoded> encs, NDManager parent, int batchSize) {
        List<float[]> out = new ArrayList<>();
        for (int s = 0; s < encs.size(); s += batchSize) {
            List<SentenceInputs.Encoded> chunk = encs.subList(s, Math.min(encs.size(), s + batchSize));
            float[] flat;
            try (NDManager m = parent.newSubManager()) {
                flat = logits(inputs(chunk), m, false).toFloatArray();
            }
            int k = 0;
            for (SentenceInputs.Encoded e : chunk) {
                float[] x = new float[e.covered()];
                System.arraycopy(flat, k, x, 0, x.length);
                k += x.length;
                out.add(x);
            }
        }
        return out;
    }
}
