package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.kiln.models.bert.BertModel;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Pooling;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Scores sentences with BERT: each sentence's vector (the state at its [CLS], or the mean of its tokens'
 * states) goes through dropout and a linear layer to one logit ("classifier", as BertForTokenClassification
 * with one label names it, so HF loads the folder).
 */
final class SentenceScorer {
    static final String HEAD = "classifier";

    final BertModel bert;
    final Tokenizer tok;
    final Linear head;
    final int maxLength;
    final boolean alternateSegments;
    /** Mean of the sentence's own tokens (true) or its [CLS] state (false). */
    final boolean meanVector;

    SentenceScorer(BertModel bert, Tokenizer tok, int maxLength, String sentenceVector) {
        this.bert = bert;
        this.tok = tok;
        this.maxLength = maxLength;
        if (!sentenceVector.equals("cls") && !sentenceVector.equals("mean")) {
            throw new IllegalArgumentException("sentence_vector is \"" + sentenceVector + "\"; use \"cls\" or \"mean\"");
        }
        this.meanVector = sentenceVector.equals("mean");
        // interval segments need two segment embeddings; a model with one gets all zeros
        this.alternateSegments = bert.config.typeVocabSize >= 2;
        this.head = new Linear(bert, HEAD, bert.config.hiddenSize, 1, true);
    }

    SentenceInputs.Encoded encode(List<String> sentences) {
        return SentenceInputs.encode(tok, sentences, maxLength, alternateSegments);
    }

    String sentenceVector() {
        return meanVector ? "mean" : "cls";
    }

    /**
     * A padded batch plus the (row, [CLS] position) of every covered sentence, example by example, and for
     * mean vectors the [N, B*T] averaging matrix (1/n at the n tokens of sentence i between its [CLS] and [SEP]).
     */
    record Inputs(Sequences.Padded x, long[] rows, long[] cols, float[] meanWeights) {}

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
        Sequences.Padded x = Sequences.pad(in, Sequences.padId(tok));
        float[] w = null;
        if (meanVector) {
            int t = x.ids()[0].length;
            w = new float[n * encs.size() * t];
            k = 0;
            for (int i = 0; i < encs.size(); i++) {
                int[] cls = encs.get(i).cls();
                int len = encs.get(i).ids().length;
                for (int j = 0; j < cls.length; j++) {
                    // tokens of sentence j: after its [CLS], before its [SEP] (the next [CLS] - 1, or the end - 1)
                    int from = cls[j] + 1;
                    int to = (j + 1 < cls.length ? cls[j + 1] : len) - 1;
                    for (int p = from; p < to; p++) w[(k * encs.size() + i) * t + p] = 1f / (to - from);
                    k++;
                }
            }
        }
        return new Inputs(x, rows, cols, w);
    }

    /** One logit per covered sentence, [N], in the order of {@link Inputs#rows()}. */
    NDArray logits(Inputs b, NDManager m, boolean training) {
        NDArray hidden = bert.hiddenStates(m.create(b.x().ids()), m.create(b.x().typeIds()), m.create(b.x().mask()), training);
        NDArray vec;
        if (b.meanWeights() == null) {
            vec = Pooling.at(m, hidden, b.rows(), b.cols());
        } else {
            Shape s = hidden.getShape();
            NDArray w = m.create(b.meanWeights(), new Shape(b.rows().length, s.get(0) * s.get(1))).toDevice(hidden.getDevice(), false);
            vec = w.toType(hidden.getDataType(), false).matMul(hidden.reshape(s.get(0) * s.get(1), s.get(2)));
        }
        return head.forward(Functional.dropout(vec, bert.hiddenDropout(), training)).reshape(-1);
    }

    /** Sentence scores (logits) of each example, in batches of {@code batchSize}. */
    /** Each article's sentence logits, articles batched {@code batchSize} at a time by length (results in input order). */
    List<float[]> scores(List<SentenceInputs.Encoded> encs, NDManager parent, int batchSize) {
        int[] lengths = new int[encs.size()];
        for (int i = 0; i < lengths.length; i++) lengths[i] = encs.get(i).ids().length;
        return dev.kiln.inference.LengthBatches.map(encs, lengths, batchSize, chunk -> {
            float[] flat;
            try (NDManager m = parent.newSubManager()) {
                flat = logits(inputs(chunk), m, false).toFloatArray();
            }
            List<float[]> out = new ArrayList<>(chunk.size());
            int k = 0;
            for (SentenceInputs.Encoded e : chunk) {
                float[] x = new float[e.covered()];
                System.arraycopy(flat, k, x, 0, x.length);
                k += x.length;
                out.add(x);
            }
            return out;
        });
    }
}
