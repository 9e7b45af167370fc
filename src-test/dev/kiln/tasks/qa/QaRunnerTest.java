package dev.kiln.tasks.qa;

import ai.djl.ndarray.NDManager;
import dev.kiln.TinyModels;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.nn.Parameters;
import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * QaRunner runs a pool of questions' windows in length-sorted batches: every answer must equal the one from
 * running each window alone (no padding, no batch-mates), and answers must come back in input order.
 */
@ExtendWith(dev.kiln.OneThreadWhenBusy.class)
class QaRunnerTest {
    @Test
    void sortedBatchesGiveTheAnswersOfOneWindowAtATimeInInputOrder() throws Exception {
        BertConfig c = new BertConfig();
        c.numHiddenLayers = 2;
        c.hiddenSize = 32;
        c.numAttentionHeads = 4;
        c.intermediateSize = 64;
        c.maxPositionEmbeddings = 64;
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(TinyModels.miniLmFolder())) {
            BertModel bert = new BertModel(c, new Parameters(m, 3, 0.5f), BertModel.Heads.encoderOnly());
            QaHead head = new QaHead(bert);
            List<QaRunner.Query> qs = new ArrayList<>();
            for (int i = 0; i < 11; i++) {
                StringBuilder ctx = new StringBuilder();
                // lengths from a few words to several 48-token windows, in no order
                for (int k = 0; k <= (i * 7) % 11 * 3; k++) ctx.append("Word").append(k).append(" is in town ").append(i).append(". ");
                qs.add(new QaRunner.Query("Which town is number " + i + "?", ctx.toString().trim(), -1, -1));
            }
            QaFeatures.Settings f = new QaFeatures.Settings(48, 16, 16);
            List<Integer> order = new ArrayList<>();
            List<QuestionAnswerer.Answer> batched = new ArrayList<>(), alone = new ArrayList<>();
            QaRunner sorted = new QaRunner(head, tok, f, 5, 10, 3); // pools of 24 windows: several pools, mixed lengths
            sorted.run(java.util.stream.IntStream.range(0, qs.size()).iterator(), qs::get, (i, a) -> {
                order.add(i);
                batched.add(a);
            }, m);
            new QaRunner(head, tok, f, 5, 10, 1).run(qs.iterator(), q -> q, (q, a) -> alone.add(a), m);
            assertEquals(java.util.stream.IntStream.range(0, qs.size()).boxed().toList(), order);
            int windows = 0;
            for (QaRunner.Query q : qs) windows += QaFeatures.build(tok, q.question(), q.context(), -1, -1, f).size();
            assertTrue(windows > 24 && windows > qs.size(), "the queries must fill more than one pool, with multi-window contexts: " + windows);
            for (int i = 0; i < qs.size(); i++) {
                assertEquals(alone.get(i).text(), batched.get(i).text(), "question " + i);
                assertEquals(alone.get(i).start(), batched.get(i).start(), "question " + i);
                assertEquals(alone.get(i).score(), batched.get(i).score(), 1e-5, "question " + i);
            }
        }
    }
}
