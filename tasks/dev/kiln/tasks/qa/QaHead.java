package dev.kiln.tasks.qa;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Linear;

/**
 * Span head: a linear layer hidden → 2 over every token, giving start and end logits. Named
 * {@code qa_outputs.*} as in HF BertForQuestionAnswering and GPT2ForQuestionAnswering (neither applies
 * dropout before it), so the fine-tuned folder loads there.
 */
public final class QaHead {
    public static final String PREFIX = "qa_outputs.";

    final Backbone backbone;
    final Linear out;

    public QaHead(Backbone backbone) {
        this.backbone = backbone;
        this.out = new Linear(backbone.root(), "qa_outputs", backbone.hiddenSize(), 2, true);
    }

    /** {start, end} logits, each [B, T]. */
    public NDList logits(NDArray ids, NDArray typeIds, NDArray mask, boolean training) {
        NDArray h = backbone.hiddenStates(ids, typeIds, mask, training);
        NDArray l = out.forward(h); // [B, T, 2]
        return new NDList(l.get(":, :, 0"), l.get(":, :, 1"));
    }

    public static String architecture(Backbone b) {
        return b.modelType().equals("gpt2") ? "GPT2ForQuestionAnswering" : "BertForQuestionAnswering";
    }
}
