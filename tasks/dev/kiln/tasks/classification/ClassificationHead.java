package dev.kiln.tasks.classification;

import dev.kiln.models.Architecture;
import ai.djl.ndarray.NDArray;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;

/**
 * Sequence classification on a backbone: pooled vector → dropout → linear. Named as the architecture's HF
 * class names it ({@link Architecture#headName}: {@code classifier.*} for BERT, {@code score.weight} without
 * bias for GPT-2), so the fine-tuned folder loads as BertForSequenceClassification / GPT2ForSequenceClassification.
 */
public final class ClassificationHead {
    static final Architecture.HeadKind KIND = Architecture.HeadKind.SEQUENCE_CLASSIFICATION;
    final Backbone backbone;
    final Linear out;
    final String pooling;
    final int numLabels;

    public ClassificationHead(Backbone backbone, int numLabels, String pooling) {
        this.backbone = backbone;
        this.numLabels = numLabels;
        this.pooling = pooling;
        Architecture arch = backbone.architecture();
        out = new Linear(backbone.root(), arch.headName(KIND), backbone.hiddenSize(), numLabels, arch.headBias(KIND));
    }

    /** Parameter-name prefix of the head. */
    public String prefix() {
        return backbone.architecture().headPrefix(KIND);
    }

    /** Logits [B, numLabels]. */
    public NDArray logits(NDArray ids, NDArray typeIds, NDArray mask, boolean training) {
        NDArray v = backbone.pooled(ids, typeIds, mask, training, pooling);
        return out.forward(Functional.dropout(v, backbone.hiddenDropout(), training));
    }

    public static String defaultPooling(Backbone b) {
        return b.architecture().defaultPooling();
    }
}
