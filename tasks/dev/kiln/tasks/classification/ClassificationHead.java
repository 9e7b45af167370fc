package dev.kiln.tasks.classification;

import ai.djl.ndarray.NDArray;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;

/**
 * Sequence classification on a backbone: pooled vector → dropout → linear. Named as HF does
 * ({@code classifier.*} for BERT, {@code score.weight} without bias for GPT-2), so the fine-tuned
 * folder loads as BertForSequenceClassification / GPT2ForSequenceClassification.
 */
public final class ClassificationHead {
    final Backbone backbone;
    final Linear out;
    final String pooling;
    final int numLabels;

    public ClassificationHead(Backbone backbone, int numLabels, String pooling) {
        this.backbone = backbone;
        this.numLabels = numLabels;
        this.pooling = pooling;
        boolean gpt = backbone.modelType().equals("gpt2");
        out = new Linear(backbone.root(), gpt ? "score" : "classifier", backbone.hiddenSize(), numLabels, !gpt);
    }

    /** Parameter-name prefix of the head. */
    public String prefix() {
        return backbone.modelType().equals("gpt2") ? "score." : "classifier.";
    }

    /** Logits [B, numLabels]. */
    public NDArray logits(NDArray ids, NDArray typeIds, NDArray mask, boolean training) {
        NDArray v = backbone.pooled(ids, typeIds, mask, training, pooling);
        return out.forward(Functional.dropout(v, backbone.hiddenDropout(), training));
    }

    public static String defaultPooling(Backbone b) {
        return b.modelType().equals("gpt2") ? "last" : "cls";
    }
}
