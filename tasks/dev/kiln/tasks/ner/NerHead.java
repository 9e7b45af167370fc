package dev.kiln.tasks.ner;

import ai.djl.ndarray.NDArray;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;

/**
 * Token classification on a backbone: hidden states → dropout → linear, one logit per label and token.
 * Named {@code classifier.*} on BERT and on GPT-2 alike, as HF's BertForTokenClassification and
 * GPT2ForTokenClassification do, so the saved folder loads there.
 */
final class NerHead {
    static final String PREFIX = "classifier.";

    final Backbone backbone;
    final Linear out;
    final int numLabels;

    NerHead(Backbone backbone, int numLabels) {
        this.backbone = backbone;
        this.numLabels = numLabels;
        out = new Linear(backbone.root(), "classifier", backbone.hiddenSize(), numLabels, true);
    }

    /** Logits [B, T, numLabels]. */
    NDArray logits(NDArray ids, NDArray typeIds, NDArray mask, boolean training) {
        NDArray h = backbone.hiddenStates(ids, typeIds, mask, training);
        return out.forward(Functional.dropout(h, backbone.hiddenDropout(), training));
    }
}
