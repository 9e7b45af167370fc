package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;

import java.nio.file.Path;
import java.util.List;

/** A loaded abstractive summarizer as {@link AbstractiveProvider}'s predict and evaluate use it. */
interface SummaryModel extends AutoCloseable {
    /** The model folder in use. */
    Path modelDir();

    /** Its kiln_task.json. */
    JsonObject meta();

    /** A summary with the saved generation settings. */
    String summarize(String article);

    /** Summaries of several articles, in their order; a model that generates in batches overrides it. */
    default List<String> summarizeAll(List<String> articles) {
        List<String> out = new java.util.ArrayList<>(articles.size());
        for (String a : articles) out.add(summarize(a));
        return out;
    }

    /** Summaries of {@code data} with the saved generation settings, as training's evaluation decodes them. */
    AbstractiveTask.Generated generate(List<ArticleSummary> data);

    @Override
    void close();
}
