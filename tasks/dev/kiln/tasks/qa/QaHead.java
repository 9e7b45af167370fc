package dev.kiln.tasks.qa;

import dev.kiln.models.Architecture;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Linear;

/**
 * Span head: a linear layer hidden → 2 over every token, giving start and end logits. Named as the
 * architecture's HF question-answering class names it ({@code qa_outputs.*} in BertForQuestionAnswering and
 * GPT2ForQuestionAnswering, neither of which applies dropout before it), so the fine-tuned folder loads there.
 */
public final class QaHead {
    static final Architecture.HeadKind KIND = Architecture.HeadKind.QUESTION_ANSWERING;
    /** The head prefix of every HF architecture Kiln has; {@link #prefix()} is the backbone's own. */
    public static final String PREFIX = "qa_outputs.";

    final Backbone backbone;
    final Linear out;

    public QaHead(Backbone backbone) {
        this.backbone = backbone;
        Architecture arch = backbone.architecture();
        this.out = new Linear(backbone.root(), arch.headName(KIND), backbone.hiddenSize(), 2, arch.headBias(KIND));
    }

    /** Parameter-name prefix of the head. */
    public String prefix() {
        return backbone.architecture().headPrefix(KIND);
    }

    /** {start, end} logits, each [B, T]. */
    public NDList logits(NDArray ids, NDArray typeIds, NDArray mask, boolean training) {
        NDArray h = backbone.hiddenStates(ids, typeIds, mask, training);
        NDArray l = out.forward(h); // [B, T, 2]
        return new NDList(l.get(":, :, 0"), l.get(":, :, 1"));
    }

    public static String architecture(Backbone b) {
        return b.architecture().hfClass(KIND, b, null);
    }
}
