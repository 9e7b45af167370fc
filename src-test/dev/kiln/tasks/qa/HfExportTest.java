package dev.kiln.tasks.qa;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import dev.kiln.TinyModels;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfReference;
import dev.kiln.text.Sequences;
import dev.kiln.train.Runs;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A QA folder is BertForQuestionAnswering: HF's start/end logits (qa_outputs) equal Kiln's within 1e-4. */
class HfExportTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void tasks() {
        Tasks.all();
    }

    @Test
    void bertQaIsBertForQuestionAnswering() throws IOException {
        Path model = TinyModels.bert(tmp.resolve("bert"), 2, 64, 3);
        String ctx = "The bridge was built in 1911 by the river company.";
        StringBuilder qas = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i > 0) qas.append(',');
            qas.append("{\"id\": \"q").append(i).append("\", \"question\": \"When was the bridge built?\","
                    + " \"answers\": [{\"text\": \"1911\", \"answer_start\": 24}]}");
        }
        Path train = Files.writeString(tmp.resolve("squad.json"), "{\"version\": \"1.1\", \"data\": [{\"title\": \"t\","
                + " \"paragraphs\": [{\"context\": \"" + ctx + "\", \"qas\": [" + qas + "]}]}]}");
        Gson g = new Gson();
        Path run = tmp.resolve("run");
        Runs.train(RunConfig.parse("""
                {"model": {"name": %s, "device": "cpu"}, "task": {"type": "qa", "doc_stride": 16, "max_question_length": 16},
                 "data": {"train": %s, "max_length": 64},
                 "training": {"max_steps": 3, "batch_size": 4}, "optimizer": {"lr": 0.01},
                 "logging": {"tensorboard": false, "plot": false}, "output": {"dir": %s}}
                """.formatted(g.toJson(model.toString()), g.toJson(train.toString()), g.toJson(run.toString())),
                "t.json", tmp, List.of()), System.err, true);
        Path dir = run.resolve("final");
        HfReference ref = HfReference.load(dir);
        assertEquals("BertForQuestionAnswering", ref.architecture);
        try (TaskFolder.Opened f = TaskFolder.open(dir, QaTask.TYPE, "cpu"); NDManager m = NDManager.newBaseManager()) {
            QaHead h = new QaHead(f.backbone);
            f.loadHead(QaHead.PREFIX);
            Sequences.Input in = Sequences.build(f.tokenizer, f.tokenizer.encode("When was it built?", false).ids(),
                    f.tokenizer.encode(ctx, false).ids(), 64);
            Sequences.Padded x = Sequences.pad(List.of(in), 0);
            NDList l = h.logits(m.create(x.ids()), m.create(x.typeIds()), m.create(x.mask()), false);
            float[] start = l.get(0).toFloatArray(), end = l.get(1).toFloatArray();
            float[][] hf = ref.forward(x.ids()[0], x.typeIds()[0], x.mask()[0]);
            double worst = 0;
            for (int i = 0; i < start.length; i++) {
                worst = Math.max(worst, Math.max(Math.abs(hf[i][0] - start[i]), Math.abs(hf[i][1] - end[i])));
            }
            System.out.printf("BertForQuestionAnswering: max |logit diff| %.2e%n", worst);
            assertTrue(worst < 1e-4, "max |logit diff| " + worst);
        }
    }
}
