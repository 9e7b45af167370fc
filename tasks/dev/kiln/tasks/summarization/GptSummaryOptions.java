package dev.kiln.tasks.summarization;

import dev.kiln.config.Checks;

/** The {@code task} section of {@code summarize-gpt}. */
public class GptSummaryOptions extends AbstractiveOptions {
    /** The text around the article; the summary follows it. {@code {article}} must appear once. */
    public String promptTemplate = "{article}\n\nTL;DR: ";

    @Override
    public void validate(Checks c) {
        super.validate(c);
        int at = promptTemplate.indexOf(GptPrompt.ARTICLE);
        if (at < 0 || promptTemplate.indexOf(GptPrompt.ARTICLE, at + 1) >= 0) {
            c.error("prompt_template", "must contain " + GptPrompt.ARTICLE + " exactly once, got \"" + promptTemplate.replace("\n", "\\n") + "\"");
        }
    }
}
