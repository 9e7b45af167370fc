package dev.kiln;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The committed notebooks: nbformat 4 with the "java" kernel, no outputs (executed copies go to target/),
 * and nothing a Java kernel other than the one scripts/run-notebooks uses would reject: only {@code %jars}
 * and {@code %maven} line magics (IJava, JJava and rapaio-jupyter-kernel all have those), no cell magics,
 * no shell escapes. The first code cell loads the self-contained jar of this version by a relative path.
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
    void noOutputsAndOnlyPortableMagics() throws IOException {
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
                if (c.has("outputs") && c.getAsJsonArray("outputs").size() > 0) problems.add(where + ": has outputs (strip them)");
                if (c.has("execution_count") && !c.get("execution_count").isJsonNull()) problems.add(where + ": has an execution_count");
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

    @Test
    void checkerCatchesOutputs() {
        JsonObject c = JsonParser.parseString("{\"cell_type\":\"code\",\"source\":[\"%%time\\n\",\"x\"],\"outputs\":[{}]}").getAsJsonObject();
        assertEquals("%%time\nx", source(c));
        assertFalse(c.getAsJsonArray("outputs").isEmpty());
    }
}
