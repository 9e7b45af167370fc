package dev.kiln;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every class src-test/slow-tests.txt leaves out of scripts/test --quick exists, so a rename cannot slip back in. */
class SlowTestListTest {
    @Test
    void everyListedClassExists() throws IOException {
        Path list = Path.of(SlowTestReporter.LIST);
        assertTrue(Files.isRegularFile(list), "run from the project root: " + list.toAbsolutePath());
        List<String> names;
        try (Stream<Path> s = Files.walk(Path.of("src-test"))) {
            names = s.map(p -> p.getFileName().toString()).toList();
        }
        List<String> missing = new ArrayList<>();
        int n = 0;
        for (String l : Files.readAllLines(list)) {
            String t = l.strip();
            if (t.isEmpty() || t.startsWith("#")) continue;
            n++;
            assertTrue(t.startsWith("**/") && t.endsWith("Test.java"), "patterns are **/NameTest.java, got " + t);
            if (!names.contains(t.substring(3))) missing.add(t);
        }
        assertTrue(n > 0, "the list is empty");
        assertEquals(List.of(), missing, "listed in " + list + " but not in src-test");
    }
}
