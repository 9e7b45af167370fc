package dev.kiln.tasks.summarization;

import dev.kiln.data.DataException;
import java.nio.file.Path;

/**
 * One summarization example: an article and its reference summary (null when only articles are given,
 * for prediction). {@code id} is the record's id field, else {@code FILE:LINE}.
 */
public record ArticleSummary(String id, String article, String summary, Path file, int line) {
    public String where() {
        return DataException.where(file, line);
    }
}
