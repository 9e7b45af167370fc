package dev.kiln.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads labelled text (classification data) from JSON lines, CSV, TSV or "label-first" text files.
 * Every record keeps its file and line so that errors here and later (unknown labels, empty text) name the spot.
 * The whole file is decoded up front: datasets for fine-tuning are small, and it lets a bad byte be reported by line.
 */
public final class TextRecords {
    private TextRecords() {}

    /** How a file is laid out. Names (for config): auto, jsonl, csv, csv-headerless, tsv, tsv-headerless, label-first. */
    public enum Format {
        /** By extension: .jsonl/.json = JSONL, .csv = CSV, .tsv = TSV. */
        AUTO("auto"),
        /** One JSON object per line; blank lines are skipped. */
        JSONL("jsonl"),
        /** RFC 4180 CSV; the header row names the columns. */
        CSV("csv"),
        /** CSV without a header; fields are 0-based column indexes. */
        CSV_HEADERLESS("csv-headerless"),
        /** Tab-separated with a header row. No quoting (as in GLUE's files): quote characters are text. */
        TSV("tsv"),
        /** TSV without a header; fields are 0-based column indexes. */
        TSV_HEADERLESS("tsv-headerless"),
        /** {@code LABEL text...} per line (SST-2, MR, TREC as distributed by Kim 2014 et al.). Fields are ignored. */
        LABEL_FIRST("label-first");

        private final String configName;

        Format(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }

        /** Parses a config value such as {@code label-first} (case and '-'/'_' are not significant). */
        public static Format parse(String name) {
            String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
            for (Format f : values()) if (f.configName.equals(n)) return f;
            throw new DataException("unknown data format \"" + name + "\"; set data.format to one of " + names());
        }

        static String names() {
            StringBuilder sb = new StringBuilder();
            for (Format f : values()) sb.append(sb.length() == 0 ? "" : ", ").append(f.configName);
            return sb.toString();
        }
    }

    /**
     * Which fields (JSONL keys or CSV/TSV header names) hold the text, the optional second text and the label.
     * For headerless CSV/TSV they are 0-based column indexes written as numbers, e.g. {@code "0"}.
     */
    public record Fields(String text, String textPair, String label) {
        public static final Fields DEFAULT = new Fields("text", null, "label");

        public Fields {
            if (text == null || text.isBlank()) throw new DataException("the text field name is empty; set data.text_field");
            if (label == null || label.isBlank()) throw new DataException("the label field name is empty; set data.label_field");
            if (textPair != null && textPair.isBlank()) textPair = null;
        }

        public static Fields of(String text, String label) {
            return new Fields(text, null, label);
        }

        public static Fields pair(String text, String textPair, String label) {
            return new Fields(text, textPair, label);
        }

        /** Column indexes for headerless CSV/TSV. */
        public static Fields columns(int text, int label) {
            return new Fields(Integer.toString(text), null, Integer.toString(label));
        }

        public static Fields columns(int text, int textPair, int label) {
            return new Fields(Integer.toString(text), Integer.toString(textPair), Integer.toString(label));
        }
    }

    /** Reads a UTF-8 file. */
    /** The bytes of a data file; a folder or an unreadable file is an error that names the path and the reason. */
    public static byte[] readFile(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new DataException(file + ": is a folder; give the data file inside it");
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DataException(file + ": cannot be read (" + dev.kiln.util.IoErrors.reason(e) + ")");
        }
    }

    public static List<LabelledText> read(Path file, Format format, Fields fields) throws IOException {
        return read(file, format, fields, StandardCharsets.UTF_8);
    }

    /** Reads a file in the given encoding (MR and TREC, for example, are Latin-1). */
    public static List<LabelledText> read(Path file, Format format, Fields fields, Charset charset) throws IOException {
        Format f = format == Format.AUTO ? detect(file) : format;
        String s = decode(file, readFile(file), charset);
        return switch (f) {
            case JSONL -> readJsonl(file, s, fields);
            case CSV -> readTable(file, parseCsv(file, s), fields, true, ',');
            case CSV_HEADERLESS -> readTable(file, parseCsv(file, s), fields, false, ',');
            case TSV -> readTable(file, parseTsv(s), fields, true, '\t');
            case TSV_HEADERLESS -> readTable(file, parseTsv(s), fields, false, '\t');
            case LABEL_FIRST -> readLabelFirst(file, s, fields);
            case AUTO -> throw new AssertionError();
        };
    }

    /** The format implied by the file's extension. */
    public static Format detect(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl") || name.endsWith(".json")) return Format.JSONL;
        if (name.endsWith(".csv")) return Format.CSV;
        if (name.endsWith(".tsv")) return Format.TSV;
        throw new DataException(file, 0, "cannot tell the format from the file name; set data.format to one of "
                + Format.names());
    }

    // ---- decoding ----

    /** Strict decoding, so a Latin-1 file read as UTF-8 fails at a named line instead of yielding U+FFFD. */
    public static String decode(Path file, byte[] bytes, Charset charset) {
        CharsetDecoder dec = charset.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate((int) Math.ceil(bytes.length * (double) dec.maxCharsPerByte()) + 1);
        CoderResult r = dec.decode(in, out, true);
        if (!r.isError()) r = dec.flush(out);
        if (r.isError()) {
            int at = in.position();
            int line = 1;
            for (int i = 0; i < at; i++) if (bytes[i] == '\n') line++;
            String hint = charset.equals(StandardCharsets.UTF_8)
                    ? "; if the file is Latin-1 or Windows-1252, set data.encoding accordingly"
                    : "; set data.encoding to the file's encoding";
            throw new DataException(file, line, String.format("not valid %s (byte 0x%02X)%s",
                    charset.name(), bytes[at] & 0xFF, hint));
        }
        out.flip();
        String s = out.toString();
        // A BOM (Excel writes one) would otherwise become part of the first column name.
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }

    /** Physical lines split on '\n' only (MR's Latin-1 0x85 must not split), with a trailing '\r' removed. */
    public static List<String> lines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        while (start < s.length()) {
            int nl = s.indexOf('\n', start);
            int end = nl < 0 ? s.length() : nl;
            int e = end > start && s.charAt(end - 1) == '\r' ? end - 1 : end;
            out.add(s.substring(start, e));
            start = end + 1;
        }
        return out;
    }

    // ---- JSON lines ----

    private static List<LabelledText> readJsonl(Path file, String s, Fields fields) {
        return fromJson(file, jsonLines(file, s), fields);
    }

    /** Labelled texts from JSON objects (a JSONL file's, or a table's rows as such); errors name {@code file} and each line. */
    public static List<LabelledText> fromJson(Path file, List<JsonLine> lines, Fields fields) {
        List<LabelledText> out = new ArrayList<>();
        JsonLine firstLabel = null; // a number among string labels would silently become a class of its own
        for (JsonLine l : lines) {
            int n = l.line();
            JsonObject o = l.object();
            String text = jsonText(file, n, o, fields.text(), "data.text_field");
            String pair = fields.textPair() == null ? null
                    : jsonText(file, n, o, fields.textPair(), "data.text_pair_field");
            String label = jsonLabel(file, n, o, fields.label());
            if (firstLabel == null) {
                firstLabel = l;
            } else {
                JsonElement a = firstLabel.object().get(fields.label()), b = o.get(fields.label());
                if (!kind(a).equals(kind(b))) {
                    throw new DataException(file, n, "label " + b + " is " + kind(b) + " but line " + firstLabel.line()
                            + "'s label " + a + " is " + kind(a) + "; write every label the same way (all strings or all numbers)");
                }
            }
            out.add(new LabelledText(text, pair, label, file, n));
        }
        return out;
    }

    /** One object of a JSON-lines file and its 1-based line. */
    public record JsonLine(JsonObject object, int line) {}

    /**
     * The objects of a JSON-lines file (strictly decoded and parsed, blank lines skipped), for tasks whose
     * records are not labelled text; errors name FILE:LINE as for {@link #read}.
     */
    public static List<JsonLine> readJsonLines(Path file, Charset charset) throws IOException {
        return jsonLines(file, decode(file, readFile(file), charset));
    }

    private static List<JsonLine> jsonLines(Path file, String s) {
        List<String> lines = lines(s);
        List<JsonLine> out = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) continue;
            if (out.isEmpty() && line.strip().startsWith("[")) {
                // The common mix-up: a .json file holding one array rather than one object per line.
                throw new DataException(file, i + 1, "a JSON array, but JSON lines (one object per line) are expected;"
                        + " convert it, e.g. jq -c '.[]' IN.json > OUT.jsonl");
            }
            out.add(new JsonLine(parseObject(file, i + 1, line), i + 1));
        }
        return out;
    }

    /**
     * A non-empty string field of a JSON-lines record; {@code setting} is the config key that names the
     * field, for the message when it is missing.
     */
    public static String textField(JsonLine l, Path file, String name, String setting) {
        return jsonText(file, l.line(), l.object(), name, setting);
    }

    private static JsonObject parseObject(Path file, int n, String line) {
        JsonElement e;
        JsonReader r = new JsonReader(new StringReader(line));
        r.setStrictness(Strictness.STRICT);
        try {
            // Strict: Gson's default leniency would accept unquoted keys, single quotes and trailing junk.
            e = JsonParser.parseReader(r);
        } catch (RuntimeException x) {
            throw new DataException(file, n, "malformed JSON: " + gsonReason(x) + "; each line must hold one JSON object");
        }
        if (!atEnd(r)) {
            throw new DataException(file, n, "malformed JSON: text after the value; each line must hold one JSON object");
        }
        if (!e.isJsonObject()) {
            throw new DataException(file, n, "expected a JSON object, got " + kind(e) + "; each line must hold one JSON object");
        }
        return e.getAsJsonObject();
    }

    private static boolean atEnd(JsonReader r) {
        try {
            return r.peek() == JsonToken.END_DOCUMENT;
        } catch (IOException | RuntimeException trailingJunk) {
            return false;
        }
    }

    /** Gson's message, minus exception class names, its troubleshooting link and the always-1 line number. */
    private static String gsonReason(Exception x) {
        Throwable t = x;
        while (t.getCause() != null) t = t.getCause();
        String m = String.valueOf(t.getMessage());
        int see = m.indexOf("\nSee ");
        if (see >= 0) m = m.substring(0, see);
        m = m.replaceFirst("^[\\w.$]+(Exception|Error): ", "")
                .replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON",
                        "non-standard JSON (an unquoted key, single quotes or a comment?)")
                .replace("at line 1 column", "at column");
        return m.strip();
    }

    private static String kind(JsonElement e) {
        if (e.isJsonNull()) return "null";
        if (e.isJsonArray()) return "an array";
        if (e.isJsonObject()) return "an object";
        JsonPrimitive p = e.getAsJsonPrimitive();
        return p.isString() ? "a string" : p.isNumber() ? "a number" : "a boolean";
    }

    private static JsonElement jsonField(Path file, int n, JsonObject o, String name, String setting) {
        JsonElement e = o.get(name);
        if (e == null) {
            throw new DataException(file, n, "no field \"" + name + "\" (fields: " + String.join(", ", o.keySet())
                    + "); set " + setting);
        }
        if (e.isJsonNull()) throw new DataException(file, n, "field \"" + name + "\" is null");
        return e;
    }

    private static String jsonText(Path file, int n, JsonObject o, String name, String setting) {
        JsonElement e = jsonField(file, n, o, name, setting);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new DataException(file, n, "field \"" + name + "\" is " + kind(e) + ", expected a string");
        }
        return nonEmptyText(file, n, name, e.getAsString());
    }

    /** Labels may be strings, integers (0/1 in many datasets) or booleans; all become strings. */
    private static String jsonLabel(Path file, int n, JsonObject o, String name) {
        JsonElement e = jsonField(file, n, o, name, "data.label_field");
        if (e.isJsonPrimitive()) {
            JsonPrimitive p = e.getAsJsonPrimitive();
            if (p.isString()) return nonEmptyLabel(file, n, name, p.getAsString());
            if (p.isBoolean()) return Boolean.toString(p.getAsBoolean());
            BigDecimal d = p.getAsBigDecimal();
            try {
                return d.toBigIntegerExact().toString();
            } catch (ArithmeticException notIntegral) {
                throw new DataException(file, n, "label " + p + " in field \"" + name
                        + "\" is not an integer; classification labels must be strings or integers");
            }
        }
        throw new DataException(file, n, "field \"" + name + "\" is " + kind(e) + ", expected a string or integer label");
    }

    private static String nonEmptyText(Path file, int n, String field, String text) {
        if (text.isBlank()) {
            throw new DataException(file, n, "empty text in field \"" + field + "\"; remove the record or fill it in");
        }
        return text;
    }

    private static String nonEmptyLabel(Path file, int n, String field, String label) {
        String l = label.strip();
        if (l.isEmpty()) throw new DataException(file, n, "empty label in field \"" + field + "\"; remove the record or label it");
        return l;
    }

    // ---- CSV / TSV ----

    /** One CSV/TSV record and the 1-based line it starts on. */
    record Row(List<String> cells, int line) {}

    /**
     * RFC 4180: fields may be quoted; inside quotes a doubled quote is a quote and commas and newlines are text.
     * Quotes inside an unquoted field are kept as text (as Python's csv module does). Entirely blank lines are skipped.
     */
    static List<Row> parseCsv(Path file, String s) {
        List<Row> rows = new ArrayList<>();
        int n = s.length();
        int i = 0;
        int line = 1;
        StringBuilder cell = new StringBuilder();
        while (i < n) {
            int start = line;
            List<String> cells = new ArrayList<>();
            boolean anyQuoted = false;
            while (true) {
                if (i < n && s.charAt(i) == '"') {
                    anyQuoted = true;
                    int quoteLine = line;
                    i++;
                    while (true) {
                        if (i >= n) {
                            throw new DataException(file, quoteLine, "unclosed quote: the quoted field starting on this line never ends;"
                                    + " a quote inside a quoted field must be doubled (\"\")");
                        }
                        char c = s.charAt(i++);
                        if (c == '"') {
                            if (i < n && s.charAt(i) == '"') {
                                cell.append('"');
                                i++;
                            } else {
                                break;
                            }
                        } else {
                            if (c == '\n') line++;
                            cell.append(c);
                        }
                    }
                    if (i < n && s.charAt(i) == '\r' && (i + 1 == n || s.charAt(i + 1) == '\n')) i++;
                    if (i < n && s.charAt(i) != ',' && s.charAt(i) != '\n') {
                        throw new DataException(file, line, "text after a closing quote; a quote inside a quoted field"
                                + " must be doubled (\"\")");
                    }
                } else {
                    while (i < n && s.charAt(i) != ',' && s.charAt(i) != '\n') cell.append(s.charAt(i++));
                    int len = cell.length();
                    if (len > 0 && cell.charAt(len - 1) == '\r' && (i == n || s.charAt(i) == '\n')) cell.setLength(len - 1);
                }
                cells.add(cell.toString());
                cell.setLength(0);
                if (i >= n) break;
                char sep = s.charAt(i++);
                if (sep == '\n') {
                    line++;
                    break;
                }
            }
            boolean blank = !anyQuoted && cells.size() == 1 && cells.get(0).isBlank();
            if (!blank) rows.add(new Row(cells, start));
        }
        return rows;
    }

    /** TSV as GLUE writes it: split on tabs, no quoting. Blank lines are skipped. */
    static List<Row> parseTsv(String s) {
        List<String> lines = lines(s);
        List<Row> rows = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.isBlank()) continue;
            rows.add(new Row(Arrays.asList(l.split("\t", -1)), i + 1));
        }
        return rows;
    }

    private static List<LabelledText> readTable(Path file, List<Row> rows, Fields fields, boolean header, char sep) {
        String kind = sep == ',' ? "CSV" : "TSV";
        List<LabelledText> out = new ArrayList<>(rows.size());
        if (rows.isEmpty()) return out;
        int width;
        int textCol;
        int pairCol;
        int labelCol;
        String widthFrom;
        int first;
        if (header) {
            Row h = rows.get(0);
            Map<String, Integer> byName = new HashMap<>();
            for (int c = 0; c < h.cells().size(); c++) {
                String name = h.cells().get(c).strip();
                Integer prev = byName.put(name, c);
                if (prev != null) byName.put(name, -1);   // ambiguous: an error only if a field uses it
            }
            textCol = column(file, h, byName, fields.text(), "data.text_field", sep);
            pairCol = fields.textPair() == null ? -1 : column(file, h, byName, fields.textPair(), "data.text_pair_field", sep);
            labelCol = column(file, h, byName, fields.label(), "data.label_field", sep);
            width = h.cells().size();
            widthFrom = "the header has " + width;
            first = 1;
        } else {
            textCol = index(fields.text(), "data.text_field");
            pairCol = fields.textPair() == null ? -1 : index(fields.textPair(), "data.text_pair_field");
            labelCol = index(fields.label(), "data.label_field");
            Row r0 = rows.get(0);
            width = r0.cells().size();
            int need = Math.max(textCol, Math.max(pairCol, labelCol)) + 1;
            if (need > width) {
                throw new DataException(file, r0.line(), width + " columns, but the fields name column " + (need - 1)
                        + " (0-based); set data.text_field / data.label_field to column indexes below " + width);
            }
            widthFrom = "line " + r0.line() + " has " + width;
            first = 0;
        }
        String fix = sep == ','
                ? "quote fields that contain commas or newlines (\"a, b\")"
                : "TSV has no quoting, so fields must not contain tabs";
        for (int r = first; r < rows.size(); r++) {
            Row row = rows.get(r);
            List<String> c = row.cells();
            if (c.size() != width) {
                throw new DataException(file, row.line(), c.size() + " columns, " + widthFrom + " (" + kind + "); " + fix);
            }
            String text = nonEmptyText(file, row.line(), fields.text(), c.get(textCol));
            String pair = pairCol < 0 ? null : nonEmptyText(file, row.line(), fields.textPair(), c.get(pairCol));
            String label = nonEmptyLabel(file, row.line(), fields.label(), c.get(labelCol));
            out.add(new LabelledText(text, pair, label, file, row.line()));
        }
        return out;
    }

    private static int column(Path file, Row header, Map<String, Integer> byName, String name, String setting, char sep) {
        Integer c = byName.get(name.strip());
        if (c == null && looksLikeData(header.cells())) {
            // no field name can fix this: the file has no header row (AG News, Yelp polarity, ...)
            List<String> cells = header.cells();
            int text = 0;
            int label = -1;
            for (int i = 0; i < cells.size(); i++) {
                if (cells.get(i).strip().length() > cells.get(text).strip().length()) text = i;
                if (label < 0 && isLabelLike(cells.get(i))) label = i;
            }
            String format = sep == ',' ? "csv-headerless" : "tsv-headerless";
            throw new DataException(file, header.line(), "the first row looks like data, not a header (" + preview(cells)
                    + "): the file seems to have no header row; set data.format to \"" + format + "\" and give column indexes "
                    + "(0 is the first), e.g. data.text_field \"" + text + "\"" + (label >= 0 && label != text
                            ? " and data.label_field \"" + label + "\"" : " and data.label_field"));
        }
        if (c == null) {
            List<String> cells = header.cells();
            throw new DataException(file, header.line(), "no column \"" + name + "\" in the header (columns: "
                    + String.join(", ", cells) + "); set " + setting);
        }
        if (c < 0) throw new DataException(file, header.line(), "the header names column \"" + name + "\" more than once");
        return c;
    }

    /** A header names columns: a number, or a cell as long as a sentence, says the row is data instead. */
    static boolean looksLikeData(List<String> cells) {
        for (String c : cells) {
            String s = c.strip();
            if (s.matches("[-+]?\\d+(\\.\\d+)?") || s.length() > 40) return true;
        }
        return false;
    }

    private static boolean isLabelLike(String cell) {
        String s = cell.strip();
        return !s.isEmpty() && s.length() <= 20 && !s.contains(" ");
    }

    private static String preview(List<String> cells) {
        List<String> out = new ArrayList<>();
        for (String c : cells) {
            String s = c.strip();
            out.add('"' + (s.length() > 30 ? s.substring(0, 27) + "..." : s) + '"');
        }
        return String.join(", ", out);
    }

    private static int index(String field, String setting) {
        try {
            int i = Integer.parseInt(field.strip());
            if (i >= 0) return i;
        } catch (NumberFormatException ignored) {
            // fall through to the error
        }
        throw new DataException("headerless CSV/TSV: field \"" + field + "\" is not a 0-based column index; set " + setting
                + " to a number, or use a format with a header row");
    }

    // ---- label-first ----

    private static List<LabelledText> readLabelFirst(Path file, String s, Fields fields) {
        if (fields != null && fields.textPair() != null) {
            throw new DataException(file, 0, "label-first lines hold one text, not a pair; unset data.text_pair_field"
                    + " or use jsonl/csv/tsv");
        }
        List<String> lines = lines(s);
        List<LabelledText> out = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty()) continue;
            int sp = 0;
            while (sp < l.length() && !Character.isWhitespace(l.charAt(sp))) sp++;
            String label = l.substring(0, sp);
            String text = l.substring(sp).strip();
            if (text.isEmpty()) {
                throw new DataException(file, i + 1, "no text after the label \"" + label
                        + "\" (label-first lines are \"LABEL text\"); remove the line or fill it in");
            }
            out.add(new LabelledText(text, null, label, file, i + 1));
        }
        return out;
    }
}
