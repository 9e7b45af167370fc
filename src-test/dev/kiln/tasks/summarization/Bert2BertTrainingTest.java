package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.models.encdec.EncoderDecoderArchitecture;
import dev.kiln.models.encdec.EncoderDecoderModel;
import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the bert2bert task feeds its model, against HF's EncoderDecoderModel recipe: labels are the summary and [SEP]
 * (-100 on padding, i.e. no target there), decoder inputs are the labels shifted right behind
 * decoder_start_token_id = [CLS]; padding changes no loss; and the warm start's cross-attention reads the article.
 */
@ExtendWith(OneThreadWhenBusy.class)
class Bert2BertTrainingTest {
    static final long CLS = 101;
    static final long SEP = 102;
    static final long PAD = 0;

    @TempDir
    Path tmp;

    /** HF: labels = target ids with -100 on padding; decoder_input_ids = shift_tokens_right(labels, pad, start). */
    @Test
    void batchesAreHfTeacherForcingWithNoTargetOnPadding() {
        // targets as Bert2BertTask.encode builds them: [CLS] summary [SEP]
        Bert2BertTask.Pair a = new Bert2BertTask.Pair(new long[] {CLS, 7, 8, 9, 10, SEP}, new long[] {CLS, 21, 22, 23, SEP});
        Bert2BertTask.Pair b = new Bert2BertTask.Pair(new long[] {CLS, 5, SEP}, new long[] {CLS, 31, SEP});
        Bert2BertTask.HostBatch batch = Bert2BertTask.collate(List.of(a, b), PAD);
        // HF's labels (summary + [SEP], -100 after) and shifted decoder inputs, written out independently
        long[][] hfLabels = {{21, 22, 23, SEP}, {31, SEP, -100, -100}};
        long[][] hfDecoderInput = {{CLS, 21, 22, 23}, {CLS, 31, PAD, PAD}};
        assertArrayEquals(hfDecoderInput[0], batch.tgt()[0]);
        assertArrayEquals(hfDecoderInput[1], batch.tgt()[1]);
        assertArrayEquals(new long[] {1, 1, 1, 1}, batch.tgtMask()[0]);
        assertArrayEquals(new long[] {1, 1, 0, 0}, batch.tgtMask()[1]);
        assertArrayEquals(new long[] {1, 1, 1, 0, 0, 0}, batch.srcMask()[1]);
        assertArrayEquals(new long[] {CLS, 5, SEP, PAD, PAD, PAD}, batch.src()[1]);
        // the (row, position, label) triples are exactly HF's labels that are not -100
        List<long[]> want = new ArrayList<>();
        for (int r = 0; r < 2; r++) for (int c = 0; c < 4; c++) if (hfLabels[r][c] != -100) want.add(new long[] {r, c, hfLabels[r][c]});
        assertEquals(want.size(), batch.targets());
        for (int i = 0; i < want.size(); i++) {
            assertArrayEquals(want.get(i), new long[] {batch.rows()[i], batch.cols()[i], batch.labels()[i]}, "target " + i);
        }
    }

    /** A pair's loss is the same alone and in a padded batch: neither padded inputs nor pad positions add to it. */
    @Test
    void paddingAddsNothingToTheLoss() throws IOException {
        Path bert = TinyModels.bert(tmp.resolve("bert"), 2, 32, 3);
        try (NDManager m = NDManager.newBaseManager()) {
            EncoderDecoderModel model = EncoderDecoderArchitecture.warmStart(bert, m, false, 0f, (int) CLS, (int) PAD,
                    (int) SEP, true);
            Bert2BertTask.Pair a = new Bert2BertTask.Pair(new long[] {CLS, 7, 8, 9, 10, 11, 12, SEP}, new long[] {CLS, 21, 22, 23, 24, SEP});
            Bert2BertTask.Pair b = new Bert2BertTask.Pair(new long[] {CLS, 5, SEP}, new long[] {CLS, 31, SEP});
            float alone = loss(model, List.of(b)) + loss(model, List.of(a));
            float together = loss(model, List.of(a, b));
            assertEquals(alone, together, 1e-4f * Math.abs(alone));
            assertTrue(alone > 1f, "a loss too small to test anything: " + alone);
        }
    }

    static float loss(EncoderDecoderModel model, List<Bert2BertTask.Pair> pairs) {
        try (NDManager m = model.params.manager().newSubManager()) {
            return Bert2BertTask.lossSum(model, Bert2BertTask.collate(pairs, PAD), m, false, 0f).getFloat();
        }
    }

    /** cross_attention_init "self_attention": every cross-attention tensor starts equal to its layer's self-attention one. */
    @Test
    void crossAttentionCopiedFromSelfAttention() throws IOException {
        Path bert = TinyModels.bert(tmp.resolve("bert"), 2, 32, 4);
        for (boolean share : new boolean[] {false, true}) {
            try (NDManager m = NDManager.newBaseManager()) {
                EncoderDecoderModel model = EncoderDecoderArchitecture.warmStart(bert, m, share, 0f, (int) CLS, (int) PAD,
                        (int) SEP, true);
                int n = 0;
                for (Map.Entry<String, NDArray> e : model.params.all().entrySet()) {
                    String k = e.getKey();
                    if (!k.contains(".crossattention.")) continue;
                    String self = k.replace(".crossattention.", ".attention.");
                    if (share) self = self.replace("decoder.bert.", "encoder.");
                    assertArrayEquals(model.params.get(self).toFloatArray(), e.getValue().toFloatArray(), k);
                    n++;
                }
                assertEquals(2 * 10, n, "query, key, value, output dense (weight, bias each) and LayerNorm (2) per layer");
                // and they are distinct tensors: training one leaves the other
                NDArray q = model.params.get("decoder.bert.encoder.layer.0.crossattention.self.query.weight");
                q.set(new float[Math.toIntExact(q.size())]);
                String selfQ = share ? "encoder.encoder.layer.0.attention.self.query.weight"
                        : "decoder.bert.encoder.layer.0.attention.self.query.weight";
                assertTrue(Arrays.stream(box(model.params.get(selfQ).toFloatArray())).anyMatch(v -> v != 0f));
            }
        }
    }

    static Float[] box(float[] a) {
        Float[] o = new Float[a.length];
        for (int i = 0; i < a.length; i++) o[i] = a[i];
        return o;
    }

    /**
     * The failure this catches: a warm-started model whose decoder barely sees the article, so training first
     * learns one generic summary. With MiniLM, the next-token distributions after the same decoder prefix are
     * compared for two unrelated BBC articles: random cross-attention (BERT's 0.02 init: near-uniform attention and
     * tiny values) moves them little; cross-attention copied from self-attention moves them many times more.
     */
    @Test
    void theWarmStartReadsTheArticle() throws IOException {
        Path mini = TinyModels.miniLmFolder();
        List<ArticleSummary> pairs = SummaryRecords.read(BbcSubset.write(tmp.resolve("bbc.jsonl"), 2),
                java.nio.charset.StandardCharsets.UTF_8, new SummaryRecords.Fields("article", "summary", "title", "id"));
        double[] shift = new double[2];
        for (int v = 0; v < 2; v++) {
            try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(mini)) {
                EncoderDecoderModel model = EncoderDecoderArchitecture.warmStart(mini, m, false, 0f, tok.clsId(), 0,
                        tok.sepId(), v == 1);
                long[] prefix = {tok.clsId(), tok.encode("the", false).ids()[0]};
                float[][] logp = new float[2][];
                for (int i = 0; i < 2; i++) {
                    long[] src = Bert2BertTask.source(model, tok, pairs.get(i).article(), 128);
                    try (NDManager s = m.newSubManager()) {
                        NDArray h = model.decode(s.create(new long[][] {prefix}), null,
                                model.encode(s.create(new long[][] {src}), s.create(ones(src.length)), false), null, false);
                        logp[i] = model.logits(h).logSoftmax(-1).get("0, -1, :").toFloatArray();
                    }
                }
                // symmetric KL between the two articles' next-token distributions
                double kl = 0;
                for (int j = 0; j < logp[0].length; j++) {
                    kl += (Math.exp(logp[0][j]) - Math.exp(logp[1][j])) * (logp[0][j] - logp[1][j]);
                }
                shift[v] = kl;
            }
        }
        System.err.printf("next-token symmetric KL between two articles: random cross-attention %.4g, copied %.4g%n",
                shift[0], shift[1]);
        assertTrue(shift[1] > 10 * shift[0], "copied cross-attention must read the article far more: " + Arrays.toString(shift));
    }

    static long[][] ones(int n) {
        long[][] o = new long[1][n];
        Arrays.fill(o[0], 1);
        return o;
    }
}
