package dev.kiln.config;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every task's page documents every key the task's config classes declare, with the schema's type, default
 * and allowed values, and an example config that loads; so a key added, renamed or given a new default
 * without its docs fails here. Tables are {@code | key | type | default | allowed | meaning |}; a table row
 * belongs to the tasks named (in backticks) by the nearest heading above it that names any, else to all the
 * page's tasks.
 */
class TaskDocsTest {
    /** Task type -> its page. A new task needs a page and a line here. */
    static final Map<String, String> PAGES = Map.of(
            "classification", "docs/classification.md",
            "ner", "docs/ner.md",
            "qa", "docs/qa.md",
            "summarize-extractive", "docs/summarization.md",
            "summarize-gpt", "docs/summarization.md",
            "summarize-bert2bert", "docs/summarization.md",
            "pretrain-gpt", "docs/pretraining.md",
            "pretrain-bert", "docs/pretraining.md");

    private static final Gson GSON = new GsonBuilder().setFieldNamingPolicy(Schema.NAMING).serializeNulls().create();

    @TempDir
    Path tmp;

    @BeforeAll
    static void tasks() {
        Tasks.all();
    }

    /** A key table row and the tasks it is about. */
    record Row(String page, int line, String key, String type, String dflt, String allowed, Set<String> tasks) {
        String where() {
            return page + ":" + line + " `" + key + "`";
        }
    }

    @Test
    void everyTaskHasAPage() {
        for (String t : Tasks.types()) {
            assertTrue(PAGES.containsKey(t), "task \"" + t + "\" has no docs page: write docs/<task>.md and add it to PAGES");
            assertTrue(Files.isRegularFile(Paths.get(PAGES.get(t))), PAGES.get(t) + " is missing (run from the project root)");
        }
    }

    @Test
    void everyTaskKeyIsDocumentedWithItsTypeDefaultAndChoices() throws IOException {
        List<String> problems = new ArrayList<>();
        for (String page : new LinkedHashSet<>(PAGES.values())) problems.addAll(check(page));
        if (!problems.isEmpty()) fail(problems.size() + " problem(s) in the task pages:\n" + String.join("\n", problems));
    }

    @Test
    void everyTaskFormatIsNamedOnItsPage() throws IOException {
        List<String> problems = new ArrayList<>();
        for (String t : Tasks.types()) {
            String md = Files.readString(Paths.get(PAGES.get(t)));
            for (String f : ConfigRegistry.task(t).formats()) {
                if (!RunConfig.Data.FORMATS.contains(f) && !md.contains("`" + f + "`") && !md.contains("`\"" + f + "\"`")) {
                    problems.add(PAGES.get(t) + ": data.format `" + f + "` of task " + t + " is not described");
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void everyPageHasAnExampleConfigPerTaskThatLoads() throws IOException {
        List<String> problems = new ArrayList<>();
        for (String t : Tasks.types()) {
            String page = PAGES.get(t);
            int found = 0;
            for (String json : jsonBlocks(Files.readString(Paths.get(page)))) {
                JsonObject o;
                try {
                    o = JsonParser.parseString(json).getAsJsonObject();
                } catch (RuntimeException e) {
                    continue; // not a config (e.g. a data record)
                }
                JsonObject task = o.has("task") ? o.getAsJsonObject("task") : null;
                if (task == null || !task.has("type") || !task.get("type").getAsString().equals(t)) continue;
                found++;
                Path dir = Files.createDirectories(tmp.resolve(t + "-" + found));
                // the example's input files, as empty placeholders: loading checks they exist, not what they hold
                for (String k : List.of("train", "dev", "test")) {
                    JsonElement p = o.getAsJsonObject("data").get(k);
                    if (p != null && p.isJsonPrimitive()) {
                        Path f = dir.resolve(p.getAsString());
                        Files.createDirectories(f.getParent());
                        Files.writeString(f, "");
                    }
                }
                JsonElement model = o.has("model") ? o.getAsJsonObject("model").get("name") : null;
                if (model != null && model.isJsonPrimitive() && model.getAsString().contains("/")) {
                    Files.createDirectories(dir.resolve(model.getAsString())); // a model folder the example names
                }
                try {
                    RunConfig c = RunConfig.parse(json, "example.json", dir, List.of());
                    assertEquals(t, c.task.type);
                } catch (ConfigException e) {
                    problems.add(page + ": the " + t + " example does not load: " + e.getMessage());
                }
            }
            if (found == 0) problems.add(page + ": no ```json example config with \"task\": {\"type\": \"" + t + "\"}");
        }
        assertEquals(List.of(), problems);
    }

    /** The checker itself: a wrong default, a missing key and a stale key are all reported. */
    @Test
    void checkerReportsDrift() {
        String md = """
                # Classification (`classification`)

                | key | type | default | allowed | meaning |
                |---|---|---|---|---|
                | `task.pooling` | string or null | null | `"cls"`, `"mean"` | x |
                | `task.eval_batch_size` | integer | `32` | ≥ 1 | x |
                | `task.polling` | string | `"x"` | | x |
                """;
        List<String> p = checkText("docs/c.md", md, List.of("classification"));
        assertTrue(p.stream().anyMatch(s -> s.contains("`task.eval_batch_size`") && s.contains("64")), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.contains("`task.pooling`") && s.contains("\"last\"")), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.contains("`task.polling`") && s.contains("no such key")), String.join("\n", p));
        List<String> none = checkText("docs/c.md", "# `classification`\n", List.of("classification"));
        assertTrue(none.stream().anyMatch(s -> s.contains("no row for `task.pooling`")), String.join("\n", none));
    }

    // ---- the checker ----

    private static List<String> check(String page) throws IOException {
        List<String> tasks = new ArrayList<>();
        for (var e : PAGES.entrySet()) if (e.getValue().equals(page) && Tasks.all().containsKey(e.getKey())) tasks.add(e.getKey());
        return checkText(page, Files.readString(Paths.get(page)), tasks);
    }

    static List<String> checkText(String page, String md, List<String> tasks) {
        List<String> problems = new ArrayList<>();
        List<Row> rows = rows(page, md, tasks);
        for (String t : tasks) {
            ConfigRegistry.TaskSpec spec = ConfigRegistry.task(t);
            List<String> own = new ArrayList<>();
            if (spec.taskOptionsClass() != null) own.addAll(Schema.paths(spec.taskOptionsClass(), "task"));
            if (spec.dataOptionsClass() != null) own.addAll(Schema.paths(spec.dataOptionsClass(), "data"));
            for (String key : own) {
                if (rows.stream().noneMatch(r -> r.key.equals(key) && r.tasks.contains(t))) {
                    problems.add(page + ": no row for `" + key + "` (task " + t + ")");
                }
            }
            for (Row r : rows) {
                if (!r.tasks.contains(t)) continue;
                Located at = locate(spec, r.key);
                if (at == null) {
                    problems.add(r.where() + ": no such key in task " + t);
                    continue;
                }
                problems.addAll(checkRow(r, at));
            }
        }
        return problems;
    }

    /** A key's declaration: the class that holds the field, and the field. */
    record Located(Class<?> owner, Schema.Prop prop) {}

    private static Located locate(ConfigRegistry.TaskSpec spec, String path) {
        String[] seg = path.split("\\.");
        List<Class<?>> roots = new ArrayList<>();
        roots.add(RunConfig.class);
        if (seg[0].equals("task") && spec.taskOptionsClass() != null) roots.add(spec.taskOptionsClass());
        if (seg[0].equals("data") && spec.dataOptionsClass() != null) roots.add(spec.dataOptionsClass());
        for (Class<?> root : roots) {
            Class<?> owner = root;
            int from = root == RunConfig.class ? 0 : 1;
            Schema.Prop p = null;
            for (int i = from; i < seg.length; i++) {
                if (p != null) {
                    if (p.kind != Schema.Kind.SECTION) { p = null; break; }
                    owner = p.raw;
                }
                p = Schema.props(owner).get(seg[i]);
                if (p == null) break;
            }
            if (p != null && (root != RunConfig.class || seg.length > 1)) return new Located(owner, p);
        }
        return null;
    }

    private static List<String> checkRow(Row r, Located at) {
        List<String> problems = new ArrayList<>();
        Schema.Prop p = at.prop;
        Object value = Schema.defaultValue(at.owner, p);
        boolean required = p.rule(Rules.Required.class) != null;
        // type: the first word(s) of the type cell
        String want = switch (p.kind) {
            case BOOLEAN -> "boolean";
            case INT, LONG -> "integer";
            case DOUBLE -> "number";
            case STRING, ENUM -> "string";
            case PATH -> "path";
            case LIST -> "list";
            case MAP, JSON, SECTION -> "object";
        };
        if (!r.type.startsWith(want)) problems.add(r.where() + ": type is \"" + want + "\", the row says \"" + r.type + "\"");
        boolean nullable = value == null && !p.raw.isPrimitive() && !required;
        if (nullable != r.type.contains("or null")) {
            problems.add(r.where() + ": type " + (nullable ? "should say \"or null\" (the default is null)" : "says \"or null\" but the default is " + value));
        }
        // default: null / required, or the first `code` of the default cell, read as JSON
        if (value == null) {
            if (!(r.dflt.startsWith("null") || required && r.dflt.startsWith("required"))) {
                problems.add(r.where() + ": default is null, the row says \"" + r.dflt + "\"");
            }
        } else if (p.kind != Schema.Kind.SECTION) {
            JsonElement expected = GSON.toJsonTree(value);
            Matcher m = Pattern.compile("`([^`]+)`").matcher(r.dflt);
            JsonElement shown = null;
            if (m.find()) {
                try {
                    shown = JsonParser.parseString(m.group(1));
                } catch (RuntimeException ignored) {
                    // reported below
                }
            }
            if (shown == null || !sameJson(expected, shown)) {
                problems.add(r.where() + ": default is `" + expected + "`, the row says \"" + r.dflt + "\"");
            }
        }
        // choices
        List<String> choices = new ArrayList<>();
        Rules.Matches mt = p.rule(Rules.Matches.class);
        if (mt != null) choices.addAll(List.of(mt.allowed()));
        if (p.kind == Schema.Kind.ENUM) choices.addAll(Schema.enumNames(p.raw));
        Rules.Registered reg = p.rule(Rules.Registered.class);
        if (reg != null) choices.addAll(ConfigRegistry.names(reg.value()));
        for (String c : choices) {
            if (!r.allowed.contains("\"" + c + "\"")) problems.add(r.where() + ": allowed values miss \"" + c + "\"");
        }
        Rules.Range rg = p.rule(Rules.Range.class);
        if (rg != null) {
            for (double b : new double[] {rg.min(), rg.max()}) {
                if (Double.isInfinite(b)) continue;
                String s = BigDecimal.valueOf(b).stripTrailingZeros().toPlainString();
                if (!r.allowed.matches(".*(^|[^0-9.])" + Pattern.quote(s) + "([^0-9.]|$).*")) {
                    problems.add(r.where() + ": allowed range should show the bound " + s + ", the row says \"" + r.allowed + "\"");
                }
            }
        }
        return problems;
    }

    private static boolean sameJson(JsonElement a, JsonElement b) {
        if (a.isJsonPrimitive() && b.isJsonPrimitive() && a.getAsJsonPrimitive().isNumber() && b.getAsJsonPrimitive().isNumber()) {
            return a.getAsBigDecimal().compareTo(b.getAsBigDecimal()) == 0;
        }
        if (a.isJsonArray() && b.isJsonArray() && a.getAsJsonArray().size() == b.getAsJsonArray().size()) {
            for (int i = 0; i < a.getAsJsonArray().size(); i++) {
                if (!sameJson(a.getAsJsonArray().get(i), b.getAsJsonArray().get(i))) return false;
            }
            return true;
        }
        return a.equals(b);
    }

    private static final Pattern HEADING = Pattern.compile("^(#+)\\s+(.*)$");
    private static final Pattern KEY_ROW = Pattern.compile("^\\|\\s*`([a-z_]+\\.[a-z_.]+)`\\s*\\|(.*)$");
    private static final Pattern NAMED = Pattern.compile("`([a-z][a-z0-9-]*)`");

    static List<Row> rows(String page, String md, List<String> tasks) {
        List<Row> out = new ArrayList<>();
        Map<Integer, Set<String>> scopes = new LinkedHashMap<>(); // heading level -> tasks it names
        String[] lines = md.split("\n", -1);
        boolean inCode = false;
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i];
            if (l.startsWith("```")) inCode = !inCode;
            if (inCode) continue;
            Matcher h = HEADING.matcher(l);
            if (h.matches()) {
                int level = h.group(1).length();
                scopes.keySet().removeIf(k -> k >= level);
                Set<String> named = new LinkedHashSet<>();
                Matcher n = NAMED.matcher(h.group(2));
                while (n.find()) if (tasks.contains(n.group(1))) named.add(n.group(1));
                if (!named.isEmpty()) scopes.put(level, named);
                continue;
            }
            Matcher m = KEY_ROW.matcher(l);
            if (!m.matches()) continue;
            Set<String> scope = Set.copyOf(tasks);
            for (Set<String> s : scopes.values()) scope = s; // the deepest heading that names a task
            List<String> cells = cells(m.group(2));
            if (cells.size() != 4) {
                out.add(new Row(page, i + 1, m.group(1), "(row needs 5 columns: key | type | default | allowed | meaning)", "", "", scope));
                continue;
            }
            out.add(new Row(page, i + 1, m.group(1), cells.get(0), cells.get(1), cells.get(2), scope));
        }
        return out;
    }

    /** The cells after the key cell; "\|" is a pipe inside a cell. */
    private static List<String> cells(String rest) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < rest.length(); i++) {
            char c = rest.charAt(i);
            if (c == '\\' && i + 1 < rest.length() && rest.charAt(i + 1) == '|') {
                cur.append('|');
                i++;
            } else if (c == '|') {
                out.add(cur.toString().strip());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        if (!cur.toString().isBlank()) out.add(cur.toString().strip());
        return out;
    }

    private static List<String> jsonBlocks(String md) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?s)```json\\n(.*?)```").matcher(md);
        while (m.find()) out.add(m.group(1));
        return out;
    }
}
