package dev.kiln.config;

import dev.kiln.tasks.classification.ClassificationTask;
import dev.kiln.tasks.ner.NerTask;
import dev.kiln.tasks.pretraining.BertPretrainTask;
import dev.kiln.tasks.pretraining.GptPretrainTask;
import dev.kiln.tasks.qa.QaTask;
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
        assertEquals("accuracy", ClassificationTask.MAIN_METRIC.name());
        assertEquals(RunConfig.Mode.MIN, BertPretrainTask.MAIN_METRIC.direction("nsp_loss"));
        assertEquals(RunConfig.Mode.MAX, BertPretrainTask.MAIN_METRIC.direction("mlm_accuracy"));
    }
}
