package dev.kiln.tasks.summarization;

import dev.kiln.metrics.Rouge;
import dev.kiln.text.SentenceSplitter;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ROUGE for both summarization tasks, so lead-k, extractive and abstractive numbers come from one
 * scorer. ROUGE-Lsum needs sentences on lines: predictions and references are split with
 * {@link SentenceSplitter} and joined with newlines first (HF's run_summarization does the same with NLTK).
 */
final class SummaryScores {
    private SummaryScores() {}

    /** One sentence per line. */
    static String lines(String text) {
        return String.join("\n", SentenceSplitter.sentences(text));
    }

    /** Mean ROUGE of predictions (already one sentence per line) against raw reference summaries. */
    static Rouge.Aggregate score(List<String> predictionLines, List<String> references, boolean stem) {
        Rouge r = new Rouge(stem);
        Rouge.Aggregate a = new Rouge.Aggregate();
        for (int i = 0; i < references.size(); i++) a.add(r.score(predictionLines.get(i), lines(references.get(i))));
        return a;
    }

    /** rouge1, rouge2, rougeL, rougeLsum F1 in [0, 1], with {@code prefix} on each name. */
    static Map<String, Double> metrics(Rouge.Aggregate a, String prefix) {
        Map<String, Double> out = new LinkedHashMap<>();
        a.f1(1).forEach((k, v) -> out.put(prefix + k, v));
        return out;
    }

    /** A dev evaluation's summaries and their one reference each, for user metrics. */
    static dev.kiln.train.EvalOutputs.Texts outputs(List<String> predictions, List<String> references) {
        List<List<String>> refs = new java.util.ArrayList<>(references.size());
        for (String r : references) refs.add(List.of(r));
        return new dev.kiln.train.EvalOutputs.Texts(List.copyOf(predictions), refs);
    }
}
