package dev.kiln.tasks.ner;

import dev.kiln.models.Architecture;
import ai.djl.ndarray.NDArray;
import dev.kiln.models.Backbone;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Linear;

/**
 * Token classification on a backbone: hidden states → dropout → linear, one logit per label and token.
 * Named as the architecture's HF token-classification class names it ({@code classifier.*} on BERT and on
 * GPT-2 alike: BertForTokenClassification, GPT2ForTokenClassification), so the saved folder loads there.
 */
final class NerHead {
    static final Architecture.HeadKind KIND = Architecture.HeadKind.TOKEN_CLASSIFICATION;
    /** The head prefix of every HF architecture Kiln has; {@link #prefix()} is the backbone's own. */
    static final String PREFIX = "classifier.";

    final Backbone backbone;
    final Linear out;
    final int numLabels;

    NerHead(Backbone backbone, int numLabels) {
        this.backbone = backbone;
        this.numLabels = numLabels;
        Architecture arch = backbone.architecture();
        out = new Linear(backbone.root(), arch.headName(KIND), backbone.hiddenSize(), numLabels, arch.headBias(KIND));
    }

    /** Parameter-name prefix of the head. */
    String prefix() {
        return backbone.architecture().headPrefix(KIND);
    }

    /** Logits [B, T, numLabels]. */
    NDArray logits(NDArray ids, NDArray typeIds, NDArray mask, boolean training) {
        NDArray h = backbone.hiddenStates(ids, typeIds, mask, training);
        return out.forward(Functional.dropout(h, backbone.hiddenDropout(), training));
    }
}
