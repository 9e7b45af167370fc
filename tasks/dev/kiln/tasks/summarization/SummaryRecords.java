package dev.kiln.tasks.summarization;

import dev.kiln.data.TextRecords;
import dev.kiln.data.DataException;
import com.google.gson.JsonElement;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Article/summary pairs from JSON lines, e.g. {@code {"id": "business/001", "title": ..., "article": ..., "summary": ...}}
 * (the BBC News Summary file in ../shared has exactly these fields).
 */
public final class SummaryRecords {
    private SummaryRecords() {}

    /**
     * Which fields hold what. {@code title}, when set, names a title that the article repeats as its
     * first line (BBC News does): it is removed from the article so it never counts as a sentence.
     * {@code summary} null reads articles only. {@code id} may be absent from a record.
     */
    public record Fields(String article, String summary, String title, String id) {
        public static final Fields DEFAULT = new Fields("article", "summary", null, "id");
    }

    public static List<ArticleSummary> read(Path file, Charset charset, Fields f) throws IOException {
        List<ArticleSummary> out = records(TextRecords.readJsonLines(file, charset), file, f);
        if (out.isEmpty()) throw new DataException(file, 0, "no records");
        return out;
    }

    /** The pairs of JSON objects read from {@code file} (or a slice of a table: errors name it and each line). */
    static List<ArticleSummary> records(List<TextRecords.JsonLine> lines, Path file, Fields f) {
        List<ArticleSummary> out = new ArrayList<>(lines.size());
        for (TextRecords.JsonLine l : lines) {
            String article = TextRecords.textField(l, file, f.article(), "data.article_field");
            String summary = f.summary() == null ? null : TextRecords.textField(l, file, f.summary(), "data.summary_field");
            if (f.title() != null) {
                JsonElement t = l.object().get(f.title());
                if (t != null && t.isJsonPrimitive()) article = stripTitle(article, t.getAsString());
                if (article.isBlank()) throw new DataException(file, l.line(), "the article is only its title");
            }
            JsonElement id = f.id() == null ? null : l.object().get(f.id());
            String name = id != null && id.isJsonPrimitive() ? id.getAsString() : DataException.where(file, l.line());
            out.add(new ArticleSummary(name, article, summary, file, l.line()));
        }
        return out;
    }

    /** The article without a leading copy of its title (and the blank line after it). */
    public static String stripTitle(String article, String title) {
        String a = article.stripLeading();
        String t = title.strip();
        if (t.isEmpty() || !a.startsWith(t)) return article;
        String rest = a.substring(t.length());
        // only a whole first line: "Ad sales boost profit\n\n..." but not "Ad sales boost profits rose"
        if (!rest.isEmpty() && rest.charAt(0) != '\n' && rest.charAt(0) != '\r') return article;
        return rest.strip();
    }
}
