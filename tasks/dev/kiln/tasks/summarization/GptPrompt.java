package dev.kiln.tasks.summarization;

import dev.kiln.text.Tokenizer;

import java.util.Arrays;

/**
 * The prompt of abstractive summarization with a causal LM: template text, the article (cut to a token
 * budget), more template text; the summary follows. The three parts are tokenized separately, in
 * training and in prediction alike, so the model always sees the same separator tokens.
 */
final class GptPrompt {
    static final String ARTICLE = "{article}";

    final String template;
    final long[] before;
    final long[] after;

    GptPrompt(Tokenizer tok, String template) {
        this.template = template;
        int at = template.indexOf(ARTICLE);
        if (at < 0) throw new IllegalArgumentException("prompt template without " + ARTICLE + ": " + template);
        String b = template.substring(0, at);
        String a = template.substring(at + ARTICLE.length());
        before = b.isEmpty() ? new long[0] : tok.encode(b, false).ids();
        after = a.isEmpty() ? new long[0] : tok.encode(a, false).ids();
    }

    /** Template tokens around the article. */
    int overhead() {
        return before.length + after.length;
    }

    /** before + the first {@code budget} article tokens + after. */
    long[] prompt(long[] article, int budget) {
        int n = Math.max(0, Math.min(budget, article.length));
        long[] p = new long[before.length + n + after.length];
        System.arraycopy(before, 0, p, 0, before.length);
        System.arraycopy(article, 0, p, before.length, n);
        System.arraycopy(after, 0, p, before.length + n, after.length);
        return p;
    }

    /**
     * A training sequence: prompt + summary (cut to {@code maxSummary}) + EOS within {@code maxLength},
     * the article cut to what is left. {@code promptLength} tells where the loss starts.
     */
    record Sequence(long[] ids, int promptLength) {}

    Sequence trainingSequence(long[] article, long[] summary, int maxLength, int maxSummary, long eos) {
        long[] s = Arrays.copyOf(summary, Math.min(summary.length, maxSummary));
        int budget = maxLength - overhead() - s.length - 1;
        long[] p = prompt(article, budget);
        long[] ids = Arrays.copyOf(p, p.length + s.length + 1);
        System.arraycopy(s, 0, ids, p.length, s.length);
        ids[ids.length - 1] = eos;
        return new Sequence(ids, p.length);
    }
}
