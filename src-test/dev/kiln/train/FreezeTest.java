package dev.kiln.train;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    static final List<String> ALL = List.of(WORD, EMB_LN, Q3, OUT0, OUT11, POOLER, MLM_BIAS, MLM_DENSE, CLASSIFIER,
            WTE, WPE, H0_LN, H1, H11, LN_F, SCORE);

    static void expectFrozen(Predicate<String> trainable, List<String> frozen) {
        for (String n : ALL) assertEquals(!frozen.contains(n), trainable.test(n), n);
    }

    @Test
    void none() {
        expectFrozen(Freeze.trainable("none", 12), List.of());
    }

    @Test
    void embeddings() {
        expectFrozen(Freeze.trainable("embeddings", 12), List.of(WORD, EMB_LN, WTE, WPE));
    }

    @Test
    void bottomLayers() {
        expectFrozen(Freeze.trainable("bottom:2", 12), List.of(WORD, EMB_LN, WTE, WPE, OUT0, H0_LN, H1));
        expectFrozen(Freeze.trainable("bottom:4", 12), List.of(WORD, EMB_LN, WTE, WPE, OUT0, H0_LN, H1, Q3));
        expectFrozen(Freeze.trainable("bottom:0", 12), List.of(WORD, EMB_LN, WTE, WPE));
        expectFrozen(Freeze.trainable("bottom:12", 12), List.of(WORD, EMB_LN, WTE, WPE, OUT0, H0_LN, H1, Q3, OUT11, H11));
        assertEquals(11, Freeze.layerIndex(H11));
        assertEquals(-1, Freeze.layerIndex(LN_F));
    }

    @Test
    void allButHead() {
        expectFrozen(Freeze.trainable("all-but-head", 12),
                List.of(WORD, EMB_LN, Q3, OUT0, OUT11, POOLER, WTE, WPE, H0_LN, H1, H11, LN_F));
        assertTrue(Freeze.trainable("all-but-head", 12).test("qa_outputs.weight"));
    }

    @Test
    void errors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Freeze.trainable("top:2", 12));
        assertTrue(e.getMessage().contains("'top:2'") && e.getMessage().contains("all-but-head")
                && e.getMessage().contains("bottom:N"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Freeze.trainable("bottom:13", 12));
        assertTrue(e.getMessage().contains("12 layers"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Freeze.trainable("bottom:two", 12));
        // GPT-2 LM: the head is tied to wte, so all-but-head leaves nothing to train
        List<String> gpt2 = List.of(WTE, WPE, H0_LN, LN_F);
        e = assertThrows(IllegalArgumentException.class,
                () -> Freeze.requireTrainable(gpt2, Freeze.trainable("all-but-head", 1), "all-but-head"));
        assertTrue(e.getMessage().contains("all-but-head"), e.getMessage());
        Freeze.requireTrainable(gpt2, Freeze.trainable("embeddings", 1), "embeddings");
        assertFalse(Freeze.trainable("embeddings", 1).test(WTE));
    }
}
