package dev.kiln.config;

import dev.kiln.tasks.classification.ClassificationTask;
import dev.kiln.tasks.ner.NerTask;
import dev.kiln.tasks.pretraining.BertPretrainTask;
import dev.kiln.tasks.pretraining.GptPretrainTask;
import dev.kiln.tasks.qa.QaTask;
import dev.kiln.tasks.summarization.Bert2BertTask;
import dev.kiln.tasks.summarization.ExtractiveTask;
import dev.kiln.tasks.summarization.GptSummarizationTask;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** A task's main metric is one constant: what its provider registers is what its task returns. */
class MainMetricTest {
    @Test
    void theDeclaredDirectionGovernsTheMainMetricTheNameRuleTheOthers() {
        MainMetric m = new MainMetric("score", RunConfig.Mode.MIN); // a cost the name does not reveal
        assertEquals(RunConfig.Mode.MIN, m.direction("score"));
        assertEquals(RunConfig.Mode.MAX, m.direction("f1"));
        assertEquals(RunConfig.Mode.MIN, m.direction("eval_loss"));
        assertEquals(RunConfig.Mode.MIN, m.direction("perplexity"));
    }

    @Test
    void providersRegisterTheirTasksConstant() {
        Tasks.all();
        assertSame(ClassificationTask.MAIN_METRIC, ConfigRegistry.task(ClassificationTask.TYPE).main());
        assertSame(NerTask.MAIN_METRIC, ConfigRegistry.task(NerTask.TYPE).main());
        assertSame(QaTask.MAIN_METRIC, ConfigRegistry.task(QaTask.TYPE).main());
        assertSame(GptPretrainTask.MAIN_METRIC, ConfigRegistry.task(GptPretrainTask.TYPE).main());
        assertSame(BertPretrainTask.MAIN_METRIC, ConfigRegistry.task(BertPretrainTask.TYPE).main());
        assertSame(ExtractiveTask.MAIN_METRIC, ConfigRegistry.task(ExtractiveTask.TYPE).main());
        assertSame(GptSummarizationTask.MAIN_METRIC, ConfigRegistry.task(GptSummarizationTask.TYPE).main());
        assertSame(Bert2BertTask.MAIN_METRIC, ConfigRegistry.task(Bert2BertTask.TYPE).main());
        assertEquals(RunConfig.Mode.MAX, GptSummarizationTask.MAIN_METRIC.direction("rougeL"));
        assertEquals(RunConfig.Mode.MIN, ExtractiveTask.MAIN_METRIC.direction("loss"));
        assertEquals("accuracy", ClassificationTask.MAIN_METRIC.name());
        assertEquals(RunConfig.Mode.MIN, BertPretrainTask.MAIN_METRIC.direction("nsp_loss"));
        assertEquals(RunConfig.Mode.MAX, BertPretrainTask.MAIN_METRIC.direction("mlm_accuracy"));
    }

    /** A task with only the abstract methods, and {@code main} as its declaration (null: none). */
    private static dev.kiln.train.TrainableTask task(MainMetric main) {
        return new dev.kiln.train.TrainableTask() {
            @Override public MainMetric declaredMainMetric() {
                return main != null ? main : dev.kiln.train.TrainableTask.super.declaredMainMetric();
            }
            @Override public dev.kiln.models.Backbone backbone() { throw new UnsupportedOperationException(); }
            @Override public int trainSize() { return 0; }
            @Override public Batch collate(int[] indexes) { throw new UnsupportedOperationException(); }
            @Override public Loss loss(Batch b, ai.djl.ndarray.NDManager m, boolean training) { throw new UnsupportedOperationException(); }
            @Override public java.util.Map<String, Double> evaluate(ai.djl.ndarray.NDManager parent) { return java.util.Map.of(); }
            @Override public void save(java.nio.file.Path dir) {}
        };
    }

    @Test
    void aTaskDeclaresItOnceAndTheTrainerReadsItThrough() {
        dev.kiln.train.TrainableTask t = task(new MainMetric("score", RunConfig.Mode.MIN));
        assertEquals("score", t.mainMetric());
        assertEquals(false, t.higherIsBetter("score"));
        assertEquals(true, t.higherIsBetter("accuracy"));
        UnsupportedOperationException e = org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class,
                () -> task(null).mainMetric());
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("override declaredMainMetric()"), e.getMessage());
    }
}
