package dev.kiln;

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
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The layers stay layers: framework/ (what tasks share) never reaches into tasks/. */
class LayersTest {
    private static final Pattern TASKS = Pattern.compile("\\bdev\\.kiln\\.tasks\\.");

    @Test
    void frameworkImportsNothingFromTasks() throws IOException {
        Path root = Paths.get("framework");
        assertTrue(Files.isDirectory(root), root.toAbsolutePath() + " (tests run from the project root)");
        List<String> found = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path f : (Iterable<Path>) s.filter(p -> p.toString().endsWith(".java"))::iterator) {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    if (TASKS.matcher(lines.get(i)).find()) found.add(f + ":" + (i + 1) + ": " + lines.get(i).strip());
                }
            }
        }
        assertEquals(List.of(), found);
    }
}
