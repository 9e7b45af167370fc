package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import dev.kiln.config.RunConfig;
import dev.kiln.data.Splits;
import dev.kiln.train.Runs;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * How a run reads its article/summary data and which examples went to train, dev and test. Saved with
 * the model, so {@code kiln evaluate} reads new files the same way and, given the very file the run split,
 * scores only the held-out test examples.
 */
record SummaryDataSet(String encoding, SummaryRecords.Fields fields, Path source, String sourceSha256,
                      long seed, double devFraction, double testFraction) {

    /** The three parts of a run's data. */
    record Parts(List<ArticleSummary> train, List<ArticleSummary> dev, List<ArticleSummary> test) {}

    static SummaryDataSet of(RunConfig cfg) throws IOException {
        SummaryData d = cfg.dataOptions(SummaryData.class);
        for (Path p : new Path[] {cfg.data.train, cfg.data.dev, cfg.data.test}) {
            if (p == null) continue;
            String f = cfg.data.formatOf(p);
            if (!"jsonl".equals(f) && !"json".equals(f)) {
                throw cfg.error("data.format", "is \"" + cfg.data.format + "\" for " + p.getFileName()
                        + ", but summarization reads JSON lines (one {\"" + d.articleField + "\": ..., \"" + d.summaryField + "\": ...} per line)");
            }
        }
        double dev = cfg.data.dev == null && cfg.data.devFraction != null ? cfg.data.devFraction : 0;
        double test = cfg.data.test == null && d.testFraction != null ? d.testFraction : 0;
        return new SummaryDataSet(cfg.data.encoding,
                new SummaryRecords.Fields(d.articleField, d.summaryField, d.titleField, d.idField),
                cfg.data.train, dev + test > 0 ? Runs.sha256(cfg.data.train) : null, cfg.seed, dev, test);
    }

    List<ArticleSummary> read(Path file) throws IOException {
        return SummaryRecords.read(file, Charset.forName(encoding), fields);
    }

    /** Pairs from a table's rows as JSON objects (a Spark partition), read with this run's fields; errors name {@code source}. */
    List<ArticleSummary> records(List<dev.kiln.data.TextRecords.JsonLine> rows, Path source) {
        return SummaryRecords.records(rows, source, fields);
    }

    /** The Spark evaluate job reads a summarization model's rows with the run's own fields. */
    static void refuseDataOptions(String type, java.util.Map<String, String> options) {
        if (!options.isEmpty()) {
            throw new IllegalArgumentException("the " + type + " task reads the run's article and summary fields and takes no data options (got data."
                    + String.join(", data.", options.keySet()) + ")");
        }
    }

    /** Train, dev and test: from their own files, or held out of the training file by seeded fractions. */
    Parts load(RunConfig cfg) throws IOException {
        List<ArticleSummary> all = read(cfg.data.train);
        Splits.Split3<ArticleSummary> s = Splits.byExample(all, devFraction, testFraction, seed);
        List<ArticleSummary> dev = cfg.data.dev != null ? read(cfg.data.dev) : s.dev();
        List<ArticleSummary> test = cfg.data.test != null ? read(cfg.data.test) : s.test();
        return new Parts(s.train(), dev, test);
    }

    /**
     * The examples of {@code file} to evaluate: the held-out test part when {@code file} is the file this run
     * split (same SHA-256), else all of it. {@code part[0]} receives "test" or "all".
     */
    List<ArticleSummary> evaluationExamples(Path file, String[] part) throws IOException {
        List<ArticleSummary> all = read(file);
        if (testFraction > 0 && sourceSha256 != null && sourceSha256.equals(Runs.sha256(file))) {
            part[0] = "test (held out of the training file)";
            return Splits.byExample(all, devFraction, testFraction, seed).test();
        }
        part[0] = "all";
        return all;
    }

    /**
     * The article of a {@code predict} input line, read as training and {@code evaluate} read the data: when the
     * run had {@code data.title_field} and the line carries that field, the title line the article starts with is
     * removed (it is no sentence of the article), unless the line says {@code "keep_title": true}. A plain-text
     * line is taken as it is.
     */
    String predictArticle(String raw, com.google.gson.JsonObject o, int line) {
        String article = dev.kiln.train.PredictLines.text(raw, o, fields.article(), "article", line);
        if (o == null || fields.title() == null) return article;
        com.google.gson.JsonElement keep = o.get("keep_title");
        if (keep != null && !(keep.isJsonPrimitive() && keep.getAsJsonPrimitive().isBoolean())) {
            throw new IllegalArgumentException("input line " + line + ": \"keep_title\" is " + keep + "; use true or false");
        }
        if (keep != null && keep.getAsBoolean()) return article;
        String title = dev.kiln.train.PredictLines.string(o, fields.title(), line, false);
        return title == null ? article : SummaryRecords.stripTitle(article, title);
    }

    JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("encoding", encoding);
        o.addProperty("article_field", fields.article());
        o.addProperty("summary_field", fields.summary());
        if (fields.title() != null) o.addProperty("title_field", fields.title());
        if (fields.id() != null) o.addProperty("id_field", fields.id());
        JsonObject split = new JsonObject();
        split.addProperty("source", source.toString());
        if (sourceSha256 != null) split.addProperty("sha256", sourceSha256);
        split.addProperty("seed", seed);
        split.addProperty("dev_fraction", devFraction);
        split.addProperty("test_fraction", testFraction);
        o.add("split", split);
        return o;
    }

    static SummaryDataSet fromJson(JsonObject o) {
        JsonObject split = o.getAsJsonObject("split");
        return new SummaryDataSet(o.get("encoding").getAsString(),
                new SummaryRecords.Fields(o.get("article_field").getAsString(), o.get("summary_field").getAsString(),
                        o.has("title_field") ? o.get("title_field").getAsString() : null,
                        o.has("id_field") ? o.get("id_field").getAsString() : null),
                Paths.get(split.get("source").getAsString()),
                split.has("sha256") ? split.get("sha256").getAsString() : null,
                split.get("seed").getAsLong(), split.get("dev_fraction").getAsDouble(), split.get("test_fraction").getAsDouble());
    }
}
