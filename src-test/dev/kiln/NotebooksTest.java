package dev.kiln;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The committed notebooks: nbformat 4 with the "java" kernel, and nothing a Java kernel other than the one
 * scripts/run-notebooks uses would reject: only {@code %jars} and {@code %maven} line magics (IJava, JJava and
 * rapaio-jupyter-kernel all have those), no cell magics, no shell escapes. The first code cell loads the
 * self-contained jar of this version by a relative path. A notebook stored with outputs
 * ({@code scripts/run-notebooks --store}) must show a complete run without errors, and its outputs must come
 * from its current code: metadata.kiln.source_sha256 is the SHA-256 of the code cells it ran.
 */
class NotebooksTest {
    static final Path DIR = Paths.get("notebooks");
    static final List<String> EXPECTED = List.of("01-quickstart-classification.ipynb", "02-generation.ipynb",
            "03-embeddings-and-fill-mask.ipynb", "04-load-and-export.ipynb", "05-ner.ipynb",
            "06-question-answering.ipynb", "07-summarization.ipynb", "08-pretrain-gpt.ipynb", "09-peft.ipynb",
            "10-sweep.ipynb");

    static List<Path> notebooks() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".ipynb")).sorted().toList();
        }
    }

    static String pomVersion() throws IOException {
        // the project's own <version>: the first one after </artifactId> at two-space indent
        Matcher m = Pattern.compile("(?m)^  <version>([^<]+)</version>").matcher(Files.readString(Paths.get("pom.xml")));
        assertTrue(m.find(), "no <version> in pom.xml");
        return m.group(1);
    }

    static String source(JsonObject cell) {
        JsonElement s = cell.get("source");
        if (s.isJsonPrimitive()) return s.getAsString();
        StringBuilder sb = new StringBuilder();
        for (JsonElement e : s.getAsJsonArray()) sb.append(e.getAsString());
        return sb.toString();
    }

    @Test
    void allExpectedNotebooksArePresent() throws IOException {
        List<String> names = notebooks().stream().map(p -> p.getFileName().toString()).toList();
        assertTrue(names.containsAll(EXPECTED), "notebooks/ holds " + names);
    }

    @Test
    void onlyPortableMagics() throws IOException {
        String jarCell = "%jars ../target/kiln-" + pomVersion() + "-all.jar";
        List<String> problems = new ArrayList<>();
        for (Path nb : notebooks()) {
            String name = nb.getFileName().toString();
            JsonObject o = JsonParser.parseString(Files.readString(nb)).getAsJsonObject();
            if (o.get("nbformat").getAsInt() != 4) problems.add(name + ": nbformat is not 4");
            JsonObject ks = o.getAsJsonObject("metadata").getAsJsonObject("kernelspec");
            if (ks == null || !"java".equals(ks.get("name").getAsString())) problems.add(name + ": kernelspec name is not \"java\"");
            JsonArray cells = o.getAsJsonArray("cells");
            boolean firstCode = true;
            for (int i = 0; i < cells.size(); i++) {
                JsonObject c = cells.get(i).getAsJsonObject();
                String where = name + " cell " + i;
                if (!c.get("cell_type").getAsString().equals("code")) {
                    if (c.has("outputs")) problems.add(where + ": a " + c.get("cell_type").getAsString() + " cell with outputs");
                    continue;
                }
                String src = source(c);
                if (firstCode && !src.strip().equals(jarCell)) problems.add(where + ": the first code cell must be exactly '" + jarCell + "'");
                firstCode = false;
                for (String line : src.split("\n")) {
                    String t = line.strip();
                    if (t.startsWith("%%")) problems.add(where + ": cell magic " + t);
                    else if (t.startsWith("%") && !(t.startsWith("%jars ") || t.startsWith("%maven "))) problems.add(where + ": magic " + t + " (only %jars and %maven)");
                    else if (t.startsWith("!")) problems.add(where + ": shell escape " + t);
                }
            }
            if (firstCode) problems.add(name + ": no code cells");
        }
        if (!problems.isEmpty()) fail(String.join("\n", problems));
    }

    /** One test per notebook: stored outputs are a whole, error-free run of the current code; none: skipped. */
    @TestFactory
    Stream<DynamicTest> storedOutputsComeFromTheCurrentCodeAndHoldNoError() throws IOException {
        return notebooks().stream().map(nb -> DynamicTest.dynamicTest(nb.getFileName().toString(), () -> {
            JsonObject o = JsonParser.parseString(Files.readString(nb)).getAsJsonObject();
            Assumptions.assumeTrue(hasOutputs(o), nb.getFileName() + " is stored without outputs (scripts/run-notebooks --store "
                    + nb.getFileName() + " stores a run's); nothing to check");
            List<String> problems = storedRunProblems(nb.getFileName().toString(), o);
            if (!problems.isEmpty()) fail(String.join("\n", problems));
        }));
    }

    static boolean hasOutputs(JsonObject nb) {
        for (JsonElement e : nb.getAsJsonArray("cells")) {
            JsonObject c = e.getAsJsonObject();
            if (c.has("outputs") && !c.getAsJsonArray("outputs").isEmpty()) return true;
            if (c.has("execution_count") && !c.get("execution_count").isJsonNull()) return true;
        }
        return false;
    }

    /** What scripts/lib/store-notebook.py records: SHA-256 over each code cell's source (UTF-8) and a NUL byte. */
    static String codeHash(JsonObject nb) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (JsonElement e : nb.getAsJsonArray("cells")) {
                JsonObject c = e.getAsJsonObject();
                if (!c.get("cell_type").getAsString().equals("code")) continue;
                d.update(source(c).getBytes(StandardCharsets.UTF_8));
                d.update((byte) 0);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException x) {
            throw new IllegalStateException(x);
        }
    }

    /** A Java exception or error at the start of an output line: what a failed cell prints. */
    private static final Pattern THROWN = Pattern.compile("(?m)^(Exception in thread|(\\w+\\.)*\\w*(Exception|Error)(: |$)|\\s+at [\\w.$]+\\()");

    static List<String> storedRunProblems(String name, JsonObject nb) {
        List<String> problems = new ArrayList<>();
        JsonObject meta = nb.getAsJsonObject("metadata").getAsJsonObject("kiln");
        if (meta == null || !meta.has("source_sha256")) {
            problems.add(name + ": has outputs but no metadata.kiln.source_sha256: store it with scripts/run-notebooks --store, "
                    + "or clear its outputs");
        } else if (!meta.get("source_sha256").getAsString().equals(codeHash(nb))) {
            problems.add(name + ": its code changed after the stored run (source_sha256 differs): re-run "
                    + "scripts/run-notebooks --store " + name + ", or clear its outputs");
        }
        JsonArray cells = nb.getAsJsonArray("cells");
        for (int i = 0; i < cells.size(); i++) {
            JsonObject c = cells.get(i).getAsJsonObject();
            if (!c.get("cell_type").getAsString().equals("code")) continue;
            String where = name + " cell " + i;
            if (!c.has("execution_count") || c.get("execution_count").isJsonNull()) problems.add(where + ": not executed in the stored run");
            for (JsonElement oe : c.has("outputs") ? c.getAsJsonArray("outputs") : new JsonArray()) {
                JsonObject out = oe.getAsJsonObject();
                String type = out.get("output_type").getAsString();
                if (type.equals("error")) {
                    problems.add(where + ": error output " + out.get("ename") + ": " + out.get("evalue"));
                    continue;
                }
                String text = type.equals("stream") ? join(out.get("text"))
                        : out.has("data") && out.getAsJsonObject("data").has("text/plain") ? join(out.getAsJsonObject("data").get("text/plain")) : "";
                Matcher m = THROWN.matcher(text);
                if (m.find()) {
                    int end = text.indexOf('\n', m.start());
                    problems.add(where + ": output shows an exception: " + text.substring(m.start(), end < 0 ? text.length() : end).strip());
                }
            }
        }
        return problems;
    }

    private static String join(JsonElement e) {
        if (e == null) return "";
        if (e.isJsonPrimitive()) return e.getAsString();
        StringBuilder sb = new StringBuilder();
        for (JsonElement x : e.getAsJsonArray()) sb.append(x.getAsString());
        return sb.toString();
    }

    @Test
    void checkerCatchesStaleOutputsAndErrors() {
        String cells = "[{\"cell_type\":\"code\",\"source\":[\"%jars x\\n\"],\"execution_count\":1,\"outputs\":[]},"
                + "{\"cell_type\":\"code\",\"source\":\"run()\",\"execution_count\":2,\"outputs\":"
                + "[{\"output_type\":\"stream\",\"name\":\"stdout\",\"text\":[\"step 1/2 loss 0.69\\n\"]}]}]";
        JsonObject nb = JsonParser.parseString("{\"metadata\":{},\"cells\":" + cells + "}").getAsJsonObject();
        assertTrue(hasOutputs(nb));
        assertTrue(storedRunProblems("n", nb).get(0).contains("no metadata.kiln.source_sha256"));
        JsonObject kiln = new JsonObject();
        kiln.addProperty("source_sha256", codeHash(nb));
        nb.getAsJsonObject("metadata").add("kiln", kiln);
        assertEquals(List.of(), storedRunProblems("n", nb));
        // what scripts/lib/store-notebook.py writes for these cells: printf '%%jars x\n\0run()\0' | sha256sum
        assertEquals("a247473d0c86a584a918bea7361d2d6253759b83858e2b3b67a174ddc27bc2ac", codeHash(nb));
        // an edited cell, an error output, a printed stack trace
        nb.getAsJsonArray("cells").get(1).getAsJsonObject().addProperty("source", "run(2)");
        assertTrue(storedRunProblems("n", nb).get(0).contains("its code changed"));
        kiln.addProperty("source_sha256", codeHash(nb));
        JsonArray outs = nb.getAsJsonArray("cells").get(1).getAsJsonObject().getAsJsonArray("outputs");
        outs.add(JsonParser.parseString("{\"output_type\":\"stream\",\"name\":\"stderr\",\"text\":"
                + "\"java.lang.IllegalStateException: boom\\n\\tat dev.kiln.X.y(X.java:1)\\n\"}"));
        outs.add(JsonParser.parseString("{\"output_type\":\"error\",\"ename\":\"EvalException\",\"evalue\":\"x\",\"traceback\":[]}"));
        List<String> p = storedRunProblems("n", nb);
        assertEquals(2, p.size(), String.join("\n", p));
        assertTrue(p.get(0).contains("IllegalStateException: boom"), p.get(0));
        assertTrue(p.get(1).contains("error output"), p.get(1));
        assertFalse(hasOutputs(JsonParser.parseString("{\"cells\":[{\"cell_type\":\"code\",\"source\":\"x\",\"outputs\":[],"
                + "\"execution_count\":null}]}").getAsJsonObject()));
    }
}
