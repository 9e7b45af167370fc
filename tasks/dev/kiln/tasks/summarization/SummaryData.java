package dev.kiln.tasks.summarization;

import dev.kiln.config.Checks;
import dev.kiln.config.Rules;
import dev.kiln.config.Validated;

/** The {@code data} keys of both summarization tasks (beyond the common ones). */
public class SummaryData implements Validated {
    /** JSON field holding the article. */
    public String articleField = "article";
    /** JSON field holding the reference summary. */
    public String summaryField = "summary";
    /** JSON field of a title that the article repeats as its first line (BBC News); it is removed. null: none. */
    public String titleField;
    /** JSON field naming the example, when present (for messages and predictions). */
    public String idField = "id";
    /**
     * Hold out this fraction of {@code data.train} as the test split (drawn before {@code data.dev_fraction},
     * so resizing dev leaves test alone). Not with {@code data.test}.
     */
    @Rules.Range(min = 0, max = 1, minExclusive = true, maxExclusive = true)
    public Double testFraction;

    @Override
    public void validate(Checks c) {
        if (testFraction != null && c.config().data.test != null) {
            c.error(c.at("test") + " and " + c.at("test_fraction") + " are both set; use one");
        }
    }
}
