package dev.kiln.models;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which architecture a folder holds is decided in one place: outside a registered architecture's own
 * package, no source under framework/ or tasks/ compares model-type strings or asks {@code isWordPiece()}
 * to choose an input template. Everything else asks the {@link Architecture}.
 */
class ArchitectureRoomTest {

    /** Comparisons of model types, and the tokenizer kind standing in for the model. */
    static final Pattern FORBIDDEN = Pattern.compile(
            "modelType\\([^()]*\\)\\s*\\.equals"                            // b.modelType().equals(...), HfFolder.modelType(dir).equals(...)
            + "|\\.equals(IgnoreCase)?\\(\\s*[\\w.]*modelType\\("             // x.equals(b.modelType())
            + "|\"(bert|gpt2)\"\\s*\\.equals"                                 // "gpt2".equals(type)
            + "|\\.equals(IgnoreCase)?\\(\\s*\"(bert|gpt2)\"\\s*\\)"          // type.equals("bert")
            + "|case\\s+\"(bert|gpt2)\"\\s*(:|->)"                            // switch (type) { case "bert": ... }
            + "|(?<!boolean )\\bisWordPiece\\(\\)");                          // tok.isWordPiece() choosing a template

    @Test
    void thePatternCatchesWhatItIsFor() {
        for (String bad : List.of("if (b.modelType().equals(\"gpt2\")) x();", "HfFolder.modelType(dir).equals(\"bert\")",
                "\"gpt2\".equals(t)", "t.equals(\"bert\")", "case \"gpt2\":", "case \"bert\" ->", "tok.isWordPiece() ? 1 : 0",
                "type.equals(backbone.modelType())")) {
            assertTrue(FORBIDDEN.matcher(bad).find(), bad);
        }
        for (String ok : List.of("public boolean isWordPiece() {", "new PretrainSetup(cfg, \"bert\")",
                "String modelType();", "arch.modelType()")) {
            assertFalse(FORBIDDEN.matcher(ok).find(), ok);
        }
    }

    @Test
    void noCodeOutsideAnArchitectureFolderReasonsByModelType() throws IOException {
        List<Path> rooms = new ArrayList<>();
        for (Architecture a : Architectures.all().values()) {
            rooms.add(Paths.get("framework", a.getClass().getPackageName().split("\\.")).toAbsolutePath().normalize());
        }
        assertFalse(rooms.isEmpty());
        List<String> found = new ArrayList<>();
        for (String root : List.of("framework", "tasks")) {
            Path r = Paths.get(root);
            assertTrue(Files.isDirectory(r), r.toAbsolutePath() + " (tests run from the project root)");
            try (Stream<Path> s = Files.walk(r)) {
                for (Path f : (Iterable<Path>) s.filter(p -> p.toString().endsWith(".java"))::iterator) {
                    Path abs = f.toAbsolutePath().normalize();
                    if (rooms.stream().anyMatch(abs::startsWith)) continue;
                    List<String> lines = Files.readAllLines(f);
                    for (int i = 0; i < lines.size(); i++) {
                        String code = lines.get(i).replaceFirst("^\\s*(\\*|//).*", ""); // comments may name the types
                        if (FORBIDDEN.matcher(code).find()) found.add(f + ":" + (i + 1) + ": " + lines.get(i).trim());
                    }
                }
            }
        }
        assertEquals(List.of(), found, "model-type tests outside an architecture's folder (ask backbone.architecture()"
                + " or Architectures.of(dir) instead):\n" + String.join("\n", found));
    }
}
