package dev.kiln.tasks.qa;

import dev.kiln.data.TextRecords;
import dev.kiln.data.DataException;
import dev.kiln.data.Splits;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Reads SQuAD v1.1 JSON: {@code {"data":[{"title", "paragraphs":[{"context", "qas":[{"id", "question",
 * "answers":[{"text", "answer_start"}]}]}]}]}}. Every gold answer is kept (dev questions have up to three).
 *
 * <p>Checks are strict: an answer whose text is not at its {@code answer_start} is an error naming the
 * article, paragraph and question, not silently re-located. The official v1.1 train and dev files have
 * no such answer (every one of the 34,726 dev annotations matches exactly), so a mismatch means the
 * file was edited or re-encoded, and guessing (HF's datasets never re-check) would train on wrong spans.
 * {@code answer_start} counts Python code points; it is converted to a Java (UTF-16) index here.
 */
public final class SquadReader {
    private SquadReader() {}

    /** A gold answer: {@code start} and {@code end} are UTF-16 indexes into the context, [start, end). */
    public record Answer(String text, int start) {
        public int end() {
            return start + text.length();
        }
    }

    public record Question(String id, String question, List<Answer> answers) {}

    public record Paragraph(String context, List<Question> questions) {}

    public record Article(String title, List<Paragraph> paragraphs) {
        public int questionCount() {
            int n = 0;
            for (Paragraph p : paragraphs) n += p.questions().size();
            return n;
        }
    }

    /** One question with its context, flattened for training and evaluation. */
    public record Example(String id, String title, String question, String context, List<Answer> answers) {}

    public static List<Article> read(Path file) throws IOException {
        String text;
        try {
            // strict decoding: a bad byte is reported instead of becoming U+FFFD
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(TextRecords.readFile(file))).toString();
        } catch (CharacterCodingException e) {
            throw new DataException(file, 0, "not valid UTF-8; SQuAD files are UTF-8 JSON");
        }
        return parse(text, file);
    }

    /** Parses SQuAD JSON text; {@code file} only names the source in errors. */
    public static List<Article> parse(String json, Path file) {
        JsonElement root;
        try {
            root = JsonParser.parseString(json);
        } catch (JsonParseException e) {
            throw new DataException(file, 0, "not valid JSON (" + dev.kiln.util.JsonErrors.oneLine(e) + ")");
        }
        if (!root.isJsonObject() || !root.getAsJsonObject().has("data") || !root.getAsJsonObject().get("data").isJsonArray()) {
            throw new DataException(file, 0, "expected SQuAD JSON: an object with a \"data\" array of articles");
        }
        JsonArray data = root.getAsJsonObject().getAsJsonArray("data");
        List<Article> out = new ArrayList<>(data.size());
        Map<String, String> seenIds = new HashMap<>();
        for (int a = 0; a < data.size(); a++) {
            String at = "data[" + a + "]";
            JsonObject art = object(data.get(a), file, at);
            String title = string(art, "title", file, at);
            at += " (\"" + title + "\")";
            JsonArray paras = array(art, "paragraphs", file, at);
            List<Paragraph> ps = new ArrayList<>(paras.size());
            for (int p = 0; p < paras.size(); p++) {
                String pat = at + ", paragraph " + p;
                JsonObject para = object(paras.get(p), file, pat);
                String context = string(para, "context", file, pat);
                if (context.isBlank()) throw new DataException(file, 0, pat + ": empty context");
                JsonArray qas = array(para, "qas", file, pat);
                List<Question> qs = new ArrayList<>(qas.size());
                for (int q = 0; q < qas.size(); q++) {
                    JsonObject qa = object(qas.get(q), file, pat + ", qas[" + q + "]");
                    String id = string(qa, "id", file, pat + ", qas[" + q + "]");
                    String qat = pat + ", question id " + id;
                    String prev = seenIds.put(id, qat);
                    if (prev != null) throw new DataException(file, 0, qat + ": duplicate question id (first at " + prev + ")");
                    String question = string(qa, "question", file, qat);
                    if (question.isBlank()) throw new DataException(file, 0, qat + ": empty question");
                    if (qa.has("is_impossible") && qa.get("is_impossible").isJsonPrimitive()
                            && qa.get("is_impossible").getAsJsonPrimitive().isBoolean() && qa.get("is_impossible").getAsBoolean()) {
                        throw new DataException(file, 0, qat + ": unanswerable (SQuAD v2) questions are not supported; "
                                + "use SQuAD v1.1 data");
                    }
                    JsonArray ans = array(qa, "answers", file, qat);
                    if (ans.isEmpty()) throw new DataException(file, 0, qat + ": no answers (SQuAD v1.1 questions need at least one)");
                    List<Answer> as = new ArrayList<>(ans.size());
                    for (int k = 0; k < ans.size(); k++) {
                        String kat = qat + ", answers[" + k + "]";
                        JsonObject an = object(ans.get(k), file, kat);
                        String t = string(an, "text", file, kat);
                        if (t.isEmpty()) throw new DataException(file, 0, kat + ": empty answer text");
                        int cp = integer(an, "answer_start", file, kat);
                        as.add(new Answer(t, locate(context, t, cp, file, kat)));
                    }
                    qs.add(new Question(id, question, List.copyOf(as)));
                }
                ps.add(new Paragraph(context, List.copyOf(qs)));
            }
            out.add(new Article(title, List.copyOf(ps)));
        }
        return out;
    }

    /** The UTF-16 start of {@code text} at code point {@code cp} of {@code context}, checked. */
    private static int locate(String context, String text, int cp, Path file, String at) {
        int cps = context.codePointCount(0, context.length());
        if (cp < 0 || cp > cps) {
            throw new DataException(file, 0, at + ": answer_start " + cp + " is outside the context (" + cps + " characters)");
        }
        int start = context.offsetByCodePoints(0, cp);
        if (!context.startsWith(text, start)) {
            int to = Math.min(context.length(), start + text.length());
            throw new DataException(file, 0, at + ": answer text \"" + text + "\" is not at answer_start " + cp
                    + " (the context has \"" + context.substring(start, to) + "\" there)");
        }
        return start;
    }

    /** All questions in file order, each with its paragraph's context. */
    public static List<Example> examples(List<Article> articles) {
        List<Example> out = new ArrayList<>();
        for (Article a : articles) {
            for (Paragraph p : a.paragraphs()) {
                for (Question q : p.questions()) out.add(new Example(q.id(), a.title(), q.question(), p.context(), q.answers()));
            }
        }
        return out;
    }

    /**
     * Holds out {@code round(articles × fraction)} whole articles (at least one, and at least one kept for
     * training) for validation, chosen by a seeded shuffle; both parts keep file order. Splitting by article,
     * not by question, keeps a paragraph's questions on one side, so validation measures reading unseen text.
     */
    public static Splits.Split<Article> splitByArticle(List<Article> articles, double fraction, long seed) {
        int n = articles.size();
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be between 0 and 1 (exclusive), got " + fraction);
        }
        if (n < 2) throw new IllegalArgumentException("splitting by article needs at least 2 articles, got " + n);
        int k = (int) Math.max(1, Math.min(n - 1, Math.round(n * fraction)));
        // java.util.Random: its sequence is fixed by its specification, so the split is the same on every JVM
        Random rnd = new Random(seed);
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        boolean[] held = new boolean[n];
        for (int i = 0; i < k; i++) { // partial Fisher-Yates: the first k slots are a uniform sample
            int j = i + rnd.nextInt(n - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            held[idx[i]] = true;
        }
        List<Article> train = new ArrayList<>();
        List<Article> dev = new ArrayList<>();
        for (int i = 0; i < n; i++) (held[i] ? dev : train).add(articles.get(i));
        return new Splits.Split<>(train, dev);
    }

    private static JsonObject object(JsonElement e, Path file, String at) {
        if (e == null || !e.isJsonObject()) throw new DataException(file, 0, at + ": expected a JSON object");
        return e.getAsJsonObject();
    }

    private static JsonArray array(JsonObject o, String key, Path file, String at) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) throw new DataException(file, 0, at + ": missing field \"" + key + "\"");
        if (!e.isJsonArray()) throw new DataException(file, 0, at + ": field \"" + key + "\" must be an array");
        return e.getAsJsonArray();
    }

    private static String string(JsonObject o, String key, Path file, String at) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) throw new DataException(file, 0, at + ": missing field \"" + key + "\"");
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new DataException(file, 0, at + ": field \"" + key + "\" must be a string");
        }
        return e.getAsString();
    }

    private static int integer(JsonObject o, String key, Path file, String at) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) throw new DataException(file, 0, at + ": missing field \"" + key + "\"");
        JsonPrimitive p = e.isJsonPrimitive() ? e.getAsJsonPrimitive() : null;
        if (p == null || !p.isNumber()) throw new DataException(file, 0, at + ": field \"" + key + "\" must be an integer");
        double d = p.getAsDouble();
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
            throw new DataException(file, 0, at + ": field \"" + key + "\" must be an integer, got " + p);
        }
        return (int) d;
    }
}
