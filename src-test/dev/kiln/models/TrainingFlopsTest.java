package dev.kiln.models;

import ai.djl.ndarray.NDManager;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.gpt2.Gpt2Config;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * MFU's numerator where a head runs on some positions only, against counts by hand from the config: 6 FLOPs per
 * parameter a position meets, no lookup table, 12·d per query-key pair scored. BERT pretraining's MLM head (tied to
 * the word table) runs at the masked positions, pooler and NSP once per row; GPT-2's tied LM head at the summary
 * positions of summarize-gpt.
 */
class TrainingFlopsTest {
    @Test
    void bertPretrainingChargesTheMlmHeadToMaskedPositionsOnly() {
        BertConfig c = new BertConfig();
        c.vocabSize = 101;
        c.numHiddenLayers = 2;
        c.hiddenSize = 16;
        c.numAttentionHeads = 2;
        c.intermediateSize = 40;
        c.maxPositionEmbeddings = 32;
        long d = 16, f = 40, v = 101, layers = 2, rows = 3, width = 9, masked = 4;
        long layer = 4 * (d * d + d) + 2 * d + (d * f + f) + (f * d + d) + 2 * d;
        long head = (d * d + d) + 2 * d + v * d + v;           // transform, LayerNorm, tied decoder, bias
        long perRow = (d * d + d) + (d * 2 + 2);                // pooler, seq_relationship
        double want = 6.0 * (rows * width * (2 * d + layers * layer) + masked * head + rows * perRow)
                + 12.0 * d * layers * width * rows * width;
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = new BertModel(c, new Parameters(m, 1, 0.02f), BertModel.Heads.all());
            assertEquals(want, b.pretrainingFlops(rows, width, masked), 0.0);
            // all parameters are accounted for: the three tables but the tied word table are only looked up
            assertEquals(b.params.count() - (v + 32 + 2) * d + v * d, 2 * d + layers * layer + head + perRow);
        }
    }

    @Test
    void gpt2ChargesTheTiedLmHeadToTargetPositionsOnly() {
        Gpt2Config c = new Gpt2Config();
        c.vocabSize = 97;
        c.nLayer = 2;
        c.nEmbd = 16;
        c.nHead = 2;
        c.nPositions = 32;
        long d = 16, v = 97, layers = 2, rows = 2, width = 11, targets = 5;
        long block = 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d);
        double want = 6.0 * (rows * width * (layers * block + 2 * d) + targets * v * d) + 12.0 * d * layers * width * rows * width;
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = new Gpt2Model(c, new Parameters(m, 1, 0.02f));
            assertEquals(want, g.lmTrainingFlops(rows, width, targets), 0.0);
            assertEquals(g.params.count() - 32 * d, layers * block + 2 * d + v * d);
        }
    }
}
