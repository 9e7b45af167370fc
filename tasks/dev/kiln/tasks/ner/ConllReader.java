package dev.kiln.tasks.ner;

import dev.kiln.data.TextRecords;
import dev.kiln.data.DataException;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Token-tagging data: CoNLL column files (one token per line, whitespace- or tab-separated columns,
 * blank line between sentences, {@code -DOCSTART-} lines skipped) and JSONL ({@code {"tokens": [...],
 * "tags": [...]}} per line). Tags are IOB: IOB1 input (an entity starts with I-, B- only between two
 * adjacent entities of one type) is converted to IOB2/BIO on read, so every entity starts with B-.
 */
public final class ConllReader {
    private ConllReader() {}

    /** Tag schemes. AUTO: IOB1 when some entity starts with I-, else IOB2. */
    public enum Scheme {
        AUTO, IOB1, IOB2;

        /** Config names: auto, iob1, iob2 (or bio). */
        public static Scheme parse(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "auto" -> AUTO;
                case "iob1" -> IOB1;
                case "iob2", "bio" -> IOB2;
                default -> throw new DataException("unknown tag scheme \"" + name + "\"; use auto, iob1, iob2 or bio");
            };
        }
    }

    /** One sentence: words and their IOB2 tags; {@code line} is the 1-based line of its first word. */
    public record Sentence(List<String> tokens, List<String> tags, Path file, int line) {
        public int length() {
            return tokens.size();
        }
    }

    /** What was read: the sentences and the scheme of the file (the configured one, or the detected one). */
    public record Result(List<Sentence> sentences, Scheme scheme) {}

    /** How to read. */
    public static final class Options {
        /** 0-based column of the token (CoNLL). */
        public int tokenColumn = 0;
        /** 0-based column of the tag; -1 = the last column (CoNLL). */
        public int tagColumn = -1;
        public Scheme scheme = Scheme.AUTO;
        public Charset charset = StandardCharsets.UTF_8;
        /** JSONL field names. */
        public String tokensField = "tokens";
        public String tagsField = "tags";
    }

    public static final String DOCSTART = "-DOCSTART-";

    /** By format name: "conll" or "jsonl"; "auto" picks jsonl for .jsonl/.ndjson files, else conll. */
    public static Result read(Path file, String format, Options o) throws IOException {
        String f = format.toLowerCase(Locale.ROOT);
        if (f.equals("auto")) {
            String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
            f = n.endsWith(".jsonl") || n.endsWith(".ndjson") ? "jsonl" : "conll";
        }
        return switch (f) {
            case "jsonl" -> readJsonl(file, o);
            case "conll" -> readConll(file, o);
            default -> throw new DataException(file, 0, "token tagging reads \"conll\" or \"jsonl\" files, not \""
                    + format + "\"; set data.format accordingly");
        };
    }

    public static Result readConll(Path file, Options o) throws IOException {
        String text = TextRecords.decode(file, TextRecords.readFile(file), o.charset);
        List<String> lines = TextRecords.lines(text);
        List<Sentence> out = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        int first = 0;
        int columns = -1;     // fixed by the first token line: every line must agree
        int columnsLine = 0;
        for (int i = 0; i <= lines.size(); i++) {
            String line = i < lines.size() ? lines.get(i) : "";
            int no = i + 1;
            if (line.isBlank()) { // WNUT-17 separates sentences with a lone tab
                if (!tokens.isEmpty()) out.add(sentence(tokens, tags, file, first));
                tokens = new ArrayList<>();
                tags = new ArrayList<>();
                continue;
            }
            String[] cols = split(line);
            if (cols[0].equals(DOCSTART)) { // a document boundary also ends the sentence
                if (!tokens.isEmpty()) out.add(sentence(tokens, tags, file, first));
                tokens = new ArrayList<>();
                tags = new ArrayList<>();
                continue;
            }
            if (columns < 0) {
                columns = cols.length;
                columnsLine = no;
                int need = Math.max(o.tokenColumn, o.tagColumn) + 1;
                if (cols.length < 2 || cols.length < need) {
                    throw new DataException(file, no, "has " + cols.length + " column(s), but the token is column "
                            + o.tokenColumn + " and the tag column " + tagColumnName(o)
                            + " (0-based); CoNLL lines are TOKEN ... TAG separated by spaces or tabs; set data.token_column / data.tag_column");
                }
            } else if (cols.length != columns) {
                throw new DataException(file, no, "has " + cols.length + " column(s) but line " + columnsLine + " has "
                        + columns + "; every token line needs the same columns (is a token missing, or does it contain a space? "
                        + "separate columns with tabs to allow spaces in tokens)");
            }
            int tc = o.tagColumn < 0 ? cols.length - 1 : o.tagColumn;
            String token = cols[o.tokenColumn];
            String tag = cols[tc];
            if (token.isEmpty()) {
                throw new DataException(file, no, "empty token in column " + o.tokenColumn + "; remove the line or give the token text");
            }
            checkTag(tag, file, no, tc, cols.length);
            if (tokens.isEmpty()) first = no;
            tokens.add(token);
            tags.add(tag);
        }
        return finish(out, o.scheme);
    }

    public static Result readJsonl(Path file, Options o) throws IOException {
        String text = TextRecords.decode(file, TextRecords.readFile(file), o.charset);
        List<String> lines = TextRecords.lines(text);
        List<TextRecords.JsonLine> objects = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int no = i + 1;
            if (line.isBlank()) continue;
            try {
                JsonElement e = JsonParser.parseString(line);
                if (!e.isJsonObject()) throw new IllegalStateException();
                objects.add(new TextRecords.JsonLine(e.getAsJsonObject(), no));
            } catch (RuntimeException e) {
                throw new DataException(file, no, "not a JSON object; each line must be {\"" + o.tokensField + "\": [...], \""
                        + o.tagsField + "\": [...]}");
            }
        }
        return fromJson(file, objects, o);
    }

    /**
     * Sentences from JSON objects (a JSONL file's, or a table's rows as such); errors name {@code file} and each line.
     * IOB1 is converted sentence by sentence, so slices of a file read as the whole file does.
     */
    public static Result fromJson(Path file, List<TextRecords.JsonLine> objects, Options o) {
        List<Sentence> out = new ArrayList<>();
        for (TextRecords.JsonLine l : objects) {
            JsonObject obj = l.object();
            int no = l.line();
            List<String> tokens = strings(obj, o.tokensField, file, no, "data.tokens_field");
            List<String> tags = strings(obj, o.tagsField, file, no, "data.tags_field");
            if (tokens.size() != tags.size()) {
                throw new DataException(file, no, "\"" + o.tokensField + "\" has " + tokens.size() + " items but \"" + o.tagsField
                        + "\" has " + tags.size() + "; give one tag per token");
            }
            if (tokens.isEmpty() || tokens.equals(List.of(DOCSTART))) continue;
            for (int k = 0; k < tokens.size(); k++) {
                if (tokens.get(k).isEmpty()) {
                    throw new DataException(file, no, "token " + k + " is empty; remove it (and its tag) or give the token text");
                }
                checkTag(tags.get(k), file, no, -1, 0);
                }
            out.add(sentence(tokens, tags, file, no));
        }
        return finish(out, o.scheme);
    }

    /**
     * IOB1 to IOB2: an I-X that does not continue an X entity starts one, so it becomes B-X. IOB2 input
     * comes back unchanged.
     */
    public static List<String> iob1ToIob2(List<String> tags) {
        List<String> out = new ArrayList<>(tags.size());
        String prev = "O";
        for (String t : tags) {
            out.add(t.startsWith("I-") && !continues(prev, t) ? "B-" + t.substring(2) : t);
            prev = t;
        }
        return out;
    }

    /** IOB1 when some entity starts with I- (IOB2 never does), else IOB2. */
    public static Scheme detect(List<Sentence> sentences) {
        for (Sentence s : sentences) {
            String prev = "O";
            for (String t : s.tags()) {
                if (t.startsWith("I-") && !continues(prev, t)) return Scheme.IOB1;
                prev = t;
            }
        }
        return Scheme.IOB2;
    }

    /** Whether tag {@code t} (I-X) continues an entity that {@code prev} is part of. */
    private static boolean continues(String prev, String t) {
        return !prev.equals("O") && prev.substring(2).equals(t.substring(2));
    }

    private static Result finish(List<Sentence> sentences, Scheme configured) {
        Scheme s = configured == Scheme.AUTO ? detect(sentences) : configured;
        if (s == Scheme.IOB1) {
            List<Sentence> conv = new ArrayList<>(sentences.size());
            for (Sentence x : sentences) {
                conv.add(new Sentence(x.tokens(), Collections.unmodifiableList(iob1ToIob2(x.tags())), x.file(), x.line()));
            }
            sentences = conv;
        }
        return new Result(Collections.unmodifiableList(sentences), s);
    }

    private static Sentence sentence(List<String> tokens, List<String> tags, Path file, int line) {
        return new Sentence(Collections.unmodifiableList(tokens), Collections.unmodifiableList(tags), file, line);
    }

    /** Tabs when the line has any (tokens may then hold spaces; empty fields are kept), else runs of whitespace. */
    static String[] split(String line) {
        if (line.indexOf('\t') >= 0) {
            String[] c = line.split("\t", -1);
            for (int i = 0; i < c.length; i++) c[i] = c[i].strip();
            int n = c.length;
            while (n > 1 && c[n - 1].isEmpty()) n--; // trailing tabs
            return n == c.length ? c : java.util.Arrays.copyOf(c, n);
        }
        return line.strip().split("\\s+");
    }

    private static void checkTag(String tag, Path file, int line, int column, int columns) {
        boolean ok = tag.equals("O") || ((tag.startsWith("B-") || tag.startsWith("I-")) && tag.length() > 2);
        if (ok) return;
        String where = column >= 0 ? " (column " + column + " of " + columns + ")" : "";
        String fix = column >= 0 ? "; check data.tag_column" : "";
        if (tag.length() > 1 && "ESLU".indexOf(tag.charAt(0)) >= 0 && tag.charAt(1) == '-') {
            fix = "; IOBES/BILOU tags are not supported, convert them to BIO (S-X → B-X, E-X → I-X)";
        }
        throw new DataException(file, line, "tag \"" + tag + "\"" + where + " is not an IOB tag (O, B-TYPE or I-TYPE)" + fix);
    }

    private static String tagColumnName(Options o) {
        return o.tagColumn < 0 ? "the last" : String.valueOf(o.tagColumn);
    }

    private static List<String> strings(JsonObject obj, String field, Path file, int line, String key) {
        JsonElement e = obj.get(field);
        if (e == null || !e.isJsonArray()) {
            throw new DataException(file, line, "no \"" + field + "\" array" + (e == null ? "" : " (it is " + e + ")")
                    + "; set " + key + " to the field that holds it");
        }
        JsonArray a = e.getAsJsonArray();
        List<String> out = new ArrayList<>(a.size());
        for (JsonElement x : a) {
            if (!x.isJsonPrimitive() || !x.getAsJsonPrimitive().isString()) {
                throw new DataException(file, line, "\"" + field + "\" holds " + x + ", not a string; tags must be names such as "
                        + "\"B-PER\" (map integer tag ids to their names first)");
            }
            out.add(x.getAsString());
        }
        return out;
    }
}
