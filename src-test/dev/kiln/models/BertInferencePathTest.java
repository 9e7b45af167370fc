package dev.kiln.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.TinyModels;
import dev.kiln.io.HfFolder;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.nn.Parameters;
import dev.kiln.text.Batch;
import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BERT's inference path ({@code forward(training=false)} without gradients: the real tokens' rows only, one gather
 * per head split, no mask add for a batch without padding) computes the same function
 * as the training-mode path ({@code forward(training=true)}, op by op as before) when dropout is 0: at real tokens
 * they differ by fp32 rounding only.
 */
@ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class BertInferencePathTest {

    static BertModel tiny(NDManager m) {
        BertConfig c = new BertConfig();
        c.numHiddenLayers = 2;
        c.hiddenSize = 64;
        c.numAttentionHeads = 4;
        c.intermediateSize = 256;
        c.maxPositionEmbeddings = 64;
        c.vocabSize = 500;
        c.hiddenDropoutProb = 0;
        c.attentionProbsDropoutProb = 0;
        // std 0.2, not BERT's 0.02: attention far from uniform, so a wrong mask or head layout would show
        return new BertModel(c, new Parameters(m, 3, 0.2f), BertModel.Heads.encoderOnly());
    }

    static long[][] ids(int b, int t, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[][] ids = new long[b][t];
        for (long[] row : ids) for (int j = 0; j < t; j++) row[j] = r.nextLong(1, 500);
        return ids;
    }

    /** max |a - b| over max |b|: fp32 rounding in a different op order leaves ~1e-7 of the values' scale. */
    static float relDiff(float[] a, float[] b) {
        float largest = 0;
        for (float x : b) largest = Math.max(largest, Math.abs(x));
        return maxDiff(a, b) / largest;
    }

    static float maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float worst = 0;
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        return worst;
    }

    /** The values at real tokens (mask 1) of a [B, T, H] output, in order. */
    static float[] realTokens(float[] out, long[][] mask, int h) {
        int t = mask[0].length;
        float[] kept = new float[out.length];
        int k = 0;
        for (int i = 0; i < mask.length; i++) {
            for (int j = 0; j < t; j++) {
                if (mask[i][j] == 0) continue;
                System.arraycopy(out, (i * t + j) * h, kept, k, h);
                k += h;
            }
        }
        return java.util.Arrays.copyOf(kept, k);
    }

    @Test
    void paddedBatchMatchesTrainingModePath() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel bert = tiny(m);
            // right padding, and a mask with holes (allowed: any position may be masked out)
            long[][] mask = {{1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0, 0, 0, 0}, {1, 1, 0, 0, 0, 0, 0, 0, 0},
                             {1, 0, 1, 1, 0, 1, 0, 0, 0}};
            NDArray ids = m.create(ids(4, 9, 1)), att = m.create(mask);
            float[] fast = bert.forward(ids, null, att, false).lastHiddenState.toFloatArray();
            float[] ref = bert.forward(ids, null, att, true).lastHiddenState.toFloatArray();
            int h = bert.config.hiddenSize;
            float d = relDiff(realTokens(fast, mask, h), realTokens(ref, mask, h));
            System.out.printf("tiny BERT, padded batch: inference vs training-mode path max |Δ| / max |x| = %.2e%n", d);
            assertTrue(d <= 2e-6f, "relative max abs diff " + d);
            // padding positions' outputs are not defined: the inference path says so with zeros
            for (int i = 0; i < mask.length; i++) {
                for (int j = 0; j < 9; j++) {
                    if (mask[i][j] == 1) continue;
                    for (int k = 0; k < h; k++) assertEquals(0f, Math.abs(fast[(i * 9 + j) * h + k]), "padding (" + i + ", " + j + ")");
                }
            }
            // the mask matters here: without it the short rows' real tokens would come out different
            float[] unmasked = bert.forward(ids, null, null, false).lastHiddenState.toFloatArray();
            assertTrue(relDiff(realTokens(unmasked, mask, h), realTokens(fast, mask, h)) > 1e-2f, "padding mask had no effect");
        }
    }

    @Test
    void batchWithoutPaddingSkipsTheMaskAndMatches() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel bert = tiny(m);
            NDArray ids = m.create(ids(2, 7, 2));
            NDArray ones = m.ones(new ai.djl.ndarray.types.Shape(2, 7), ai.djl.ndarray.types.DataType.INT64);
            float[] fast = bert.forward(ids, null, ones, false).lastHiddenState.toFloatArray();
            float[] ref = bert.forward(ids, null, ones, true).lastHiddenState.toFloatArray();
            float[] noMask = bert.forward(ids, null, null, true).lastHiddenState.toFloatArray();
            assertTrue(relDiff(fast, ref) <= 1e-6f, "relative max abs diff " + relDiff(fast, ref));
            assertTrue(maxDiff(ref, noMask) == 0f, "an all-ones mask changed the training-mode output");
        }
    }

    @Test
    void anIdentityWrapLeavesTheInferencePathBitForBit() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel bert = tiny(m);
            NDArray ids = m.create(ids(2, 6, 3));
            NDArray att = m.create(new long[][] {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 0, 0, 0}});
            float[] before = bert.forward(ids, null, att, false).lastHiddenState.toFloatArray();
            List<Long> rows = new ArrayList<>();
            bert.wrap("bert.encoder.layer.*.attention.self.query", target -> {
                dev.kiln.nn.Projection base = target.current();
                return x -> {
                    rows.add(x.getShape().get(1));
                    return base.forward(x);
                };
            });
            float[] after = bert.forward(ids, null, att, false).lastHiddenState.toFloatArray();
            assertEquals(List.of(9L, 9L), rows, "a wrapper sees the real tokens' rows [1, N, H], once per layer");
            assertEquals(0f, maxDiff(after, before));
        }
    }

    /**
     * libtorch's grad mode is per thread and on in a new one; the predictors turn it off around their forwards, so a
     * thread of the caller's own gets the inference path too (bit for bit the main thread's vectors).
     */
    @Test
    void predictorsTakeTheInferencePathOnAnyThread() throws Exception {
        Path dir = TinyModels.miniLmFolder();
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            List<String> texts = List.of("a short one", "and a rather longer sentence that pads the short one");
            float[][] main = dev.kiln.inference.SentenceEncoder.encode(bert, tok, texts, dev.kiln.inference.SentenceEncoder.Pool.MEAN, true);
            Object[] got = new Object[3];
            Thread t = new Thread(() -> {
                got[0] = ai.djl.pytorch.jni.JniUtils.isGradMode();
                got[1] = dev.kiln.inference.SentenceEncoder.encode(bert, tok, texts, dev.kiln.inference.SentenceEncoder.Pool.MEAN, true);
                got[2] = ai.djl.pytorch.jni.JniUtils.isGradMode();
            });
            t.start();
            t.join();
            assertEquals(true, got[0], "a new thread records gradients by default (the premise)");
            assertEquals(true, got[2], "the thread's grad mode is restored");
            float[][] other = (float[][]) got[1];
            for (int i = 0; i < texts.size(); i++) org.junit.jupiter.api.Assertions.assertArrayEquals(main[i], other[i]);
        }
    }

    @Test
    void miniLmMatchesTrainingModePath(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path dir = TinyModels.miniLmFolder();
        JsonObject noDropout = new JsonObject();
        noDropout.addProperty("hidden_dropout_prob", 0.0);
        noDropout.addProperty("attention_probs_dropout_prob", 0.0);
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly(), noDropout);
            Batch b = tok.encodeBatch(BertParityTest.SENTENCES, 128);
            NDArray ids = m.create(b.ids()), types = m.create(b.typeIds()), att = m.create(b.attentionMask());
            float[] fast = bert.forward(ids, types, att, false).lastHiddenState.toFloatArray();
            float[] ref = bert.forward(ids, types, att, true).lastHiddenState.toFloatArray();
            // real tokens only (padding positions' outputs are not defined); MiniLM's hidden states reach |x| ~ 10
            int h = bert.config.hiddenSize, t = b.width();
            float worst = 0, largest = 0;
            for (int i = 0; i < b.size(); i++) {
                for (int j = 0; j < t; j++) {
                    if (b.attentionMask()[i][j] == 0) continue;
                    for (int k = 0; k < h; k++) {
                        int at = (i * t + j) * h + k;
                        worst = Math.max(worst, Math.abs(fast[at] - ref[at]));
                        largest = Math.max(largest, Math.abs(ref[at]));
                    }
                }
            }
            System.out.printf("all-MiniLM-L6-v2: inference vs training-mode path max |Δ| = %.2e (largest |x| %.1f), "
                    + "all positions %.2e%n", worst, largest, maxDiff(fast, ref));
            assertTrue(worst <= 1e-6f * largest, "max abs diff " + worst + " vs largest |x| " + largest);
        }
    }
}
