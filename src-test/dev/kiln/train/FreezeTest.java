package dev.kiln.train;

import ai.djl.ndarray.NDManager;
import dev.kiln.models.Backbone;
import dev.kiln.models.BertConfig;
import dev.kiln.models.BertModel;
import dev.kiln.models.Gpt2Config;
import dev.kiln.models.Gpt2Model;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Freeze strategies on tiny 12-layer BERT (all heads + classifier) and GPT-2 (+ score) trees. */
class FreezeTest {
    static final String WORD = "bert.embeddings.word_embeddings.weight";
    static final String EMB_LN = "bert.embeddings.LayerNorm.weight";
    static final String Q3 = "bert.encoder.layer.3.attention.self.query.weight";
    static final String OUT0 = "bert.encoder.layer.0.output.dense.bias";
    static final String OUT11 = "bert.encoder.layer.11.output.LayerNorm.weight";
    static final String POOLER = "bert.pooler.dense.weight";
    static final String MLM_BIAS = "cls.predictions.bias";
    static final String MLM_DENSE = "cls.predictions.transform.dense.weight";
    static final String CLASSIFIER = "classifier.weight";
    static final String WTE = "transformer.wte.weight";
    static final String WPE = "transformer.wpe.weight";
    static final String H0_LN = "transformer.h.0.ln_1.weight";
    static final String H1 = "transformer.h.1.attn.c_attn.weight";
    static final String H11 = "transformer.h.11.mlp.c_fc.weight";
    static final String LN_F = "transformer.ln_f.weight";
    static final String SCORE = "score.weight";
    static final List<String> BERT = List.of(WORD, EMB_LN, Q3, OUT0, OUT11, POOLER, MLM_BIAS, MLM_DENSE, CLASSIFIER);
    static final List<String> GPT = List.of(WTE, WPE, H0_LN, H1, H11, LN_F, SCORE);

    static BertModel bert(NDManager m, int layers) {
        BertConfig c = new BertConfig();
        c.numHiddenLayers = layers;
        c.hiddenSize = 8;
        c.numAttentionHeads = 2;
        c.intermediateSize = 16;
        c.vocabSize = 30;
        c.maxPositionEmbeddings = 16;
        BertModel b = new BertModel(c, new Parameters(m, 1, 0.02f), BertModel.Heads.all());
        new Linear(b, "classifier", 8, 3, true);
        return b;
    }

    static Gpt2Model gpt2(NDManager m, int layers) {
        Gpt2Config c = new Gpt2Config();
        c.nLayer = layers;
        c.nEmbd = 8;
        c.nHead = 2;
        c.vocabSize = 30;
        c.nPositions = 16;
        Gpt2Model g = new Gpt2Model(c, new Parameters(m, 1, 0.02f));
        new Linear(g, "score", 8, 3, false);
        return g;
    }

    static void expectFrozen(String strategy, List<String> frozen) {
        try (NDManager m = NDManager.newBaseManager()) {
            check(bert(m, 12), BERT, strategy, frozen);
            check(gpt2(m, 12), GPT, strategy, frozen);
        }
    }

    private static void check(Backbone model, List<String> names, String strategy, List<String> frozen) {
        Predicate<String> trainable = Freeze.trainable(strategy, model);
        for (String n : names) {
            assertTrue(model.params().has(n), n);
            assertEquals(!frozen.contains(n), trainable.test(n), strategy + ": " + n);
        }
    }

    @Test
    void none() {
        expectFrozen("none", List.of());
    }

    @Test
    void embeddings() {
        expectFrozen("embeddings", List.of(WORD, EMB_LN, WTE, WPE));
    }

    @Test
    void bottomLayers() {
        expectFrozen("bottom:2", List.of(WORD, EMB_LN, WTE, WPE, OUT0, H0_LN, H1));
        expectFrozen("bottom:4", List.of(WORD, EMB_LN, WTE, WPE, OUT0, H0_LN, H1, Q3));
        expectFrozen("bottom:0", List.of(WORD, EMB_LN, WTE, WPE));
        expectFrozen("bottom:12", List.of(WORD, EMB_LN, WTE, WPE, OUT0, H0_LN, H1, Q3, OUT11, H11));
    }

    @Test
    void allButHead() {
        expectFrozen("all-but-head", List.of(WORD, EMB_LN, Q3, OUT0, OUT11, POOLER, WTE, WPE, H0_LN, H1, H11, LN_F));
    }

    @Test
    void errors() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = bert(m, 12);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Freeze.trainable("top:2", b));
            assertTrue(e.getMessage().contains("'top:2'") && e.getMessage().contains("all-but-head")
                    && e.getMessage().contains("bottom:N"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Freeze.trainable("bottom:13", b));
            assertTrue(e.getMessage().contains("12 layers"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Freeze.trainable("bottom:two", b));
            // GPT-2 LM: the head is tied to wte, so all-but-head leaves nothing to train
            Gpt2Model g = new Gpt2Model(gpt2(m, 1).config, new Parameters(m, 1, 0.02f));
            List<String> names = List.copyOf(g.params.all().keySet());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Freeze.requireTrainable(names, Freeze.trainable("all-but-head", g), "all-but-head"));
            assertTrue(e.getMessage().contains("all-but-head"), e.getMessage());
            Freeze.requireTrainable(names, Freeze.trainable("embeddings", g), "embeddings");
            assertFalse(Freeze.trainable("embeddings", g).test(WTE));
        }
    }
}
