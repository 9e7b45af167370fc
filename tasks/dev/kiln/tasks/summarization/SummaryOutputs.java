package dev.kiln.tasks.summarization;

import dev.kiln.train.EvalOutputs;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A summarization model's outputs on a slice of evaluation rows, beside their references: each summary one sentence
 * per line (ROUGE-Lsum), and what {@code evaluate} reports beside its ROUGE: lead-k's summaries (extractive, else
 * null) or each generated summary's tokens (abstractive, else null). Slices join in order (a Spark job's partitions)
 * and {@link #metrics} over the joined outputs is what {@code kiln evaluate} reports on the same rows, since both
 * go through it; the ROUGE settings travel with the outputs because the driver may not see the model folder.
 */
record SummaryOutputs(List<String> lines, List<String> references, List<String> lead, long[] tokens, int k,
                      boolean stem) implements EvalOutputs.Joinable {

    /** ROUGE-1/2/L/Lsum F1 and, for an extractive model, {@code k} and lead-k's; for an abstractive one {@code gen_len}. */
    Map<String, Object> metrics() {
        Map<String, Object> out = new LinkedHashMap<>();
        if (lead != null) out.put("k", k);
        out.putAll(SummaryScores.metrics(SummaryScores.score(lines, references, stem), ""));
        if (lead != null) out.putAll(SummaryScores.metrics(SummaryScores.score(lead, references, stem), "lead" + k + "_"));
        if (tokens != null) out.put("gen_len", meanTokens(tokens));
        return out;
    }

    /** Mean summary length in tokens (0 without summaries). */
    static double meanTokens(long[] tokens) {
        return java.util.Arrays.stream(tokens).sum() / (double) Math.max(1, tokens.length);
    }

    @Override
    public EvalOutputs join(List<? extends EvalOutputs> parts) {
        List<String> l = new ArrayList<>(), r = new ArrayList<>(), ld = lead == null ? null : new ArrayList<>();
        java.util.stream.LongStream.Builder t = java.util.stream.LongStream.builder();
        for (EvalOutputs p : parts) {
            SummaryOutputs s = (SummaryOutputs) p;
            if (s.k != k || s.stem != stem || (s.lead == null) != (lead == null)) {
                throw new IllegalArgumentException("cannot join summaries scored with different settings");
            }
            l.addAll(s.lines);
            r.addAll(s.references);
            if (ld != null) ld.addAll(s.lead);
            if (s.tokens != null) for (long x : s.tokens) t.add(x);
        }
        return new SummaryOutputs(l, r, ld, tokens == null ? null : t.build().toArray(), k, stem);
    }
}
