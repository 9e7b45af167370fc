package dev.kiln;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The layers stay layers: framework/ (what tasks share) never reaches into tasks/, and holds no class that
 * only one task uses.
 */
class LayersTest {
    private static final Pattern TASKS = Pattern.compile("\\bdev\\.kiln\\.tasks\\.");
    private static final Pattern PACKAGE = Pattern.compile("(?m)^package ([\\w.]+);");
    /**
     * Packages that are shared libraries by design even where one task uses a class today: a metric is
     * the published definition any task may score with, and a model package is its architecture's room.
     */
    private static final List<String> SHARED_BY_DESIGN = List.of("dev.kiln.metrics", "dev.kiln.models");

    @Test
    void frameworkImportsNothingFromTasks() throws IOException {
        List<String> found = new ArrayList<>();
        for (Map.Entry<Path, String> e : sources("framework").entrySet()) {
            List<String> lines = e.getValue().lines().toList();
            for (int i = 0; i < lines.size(); i++) {
                if (TASKS.matcher(lines.get(i)).find()) found.add(e.getKey() + ":" + (i + 1) + ": " + lines.get(i).strip());
            }
        }
        assertEquals(List.of(), found);
    }

    /**
     * A framework class that no other framework class uses and that exactly one task package uses belongs in
     * that task's folder (docs/design.md, "What tasks share"). The facade ({@code dev.kiln.Kiln}) is no task:
     * a class it and one task use stays shared, and so does one only the facade uses.
     */
    @Test
    void frameworkHoldsNoSingleTaskClass() throws IOException {
        Map<Path, String> framework = sources("framework");
        Map<Path, String> tasks = sources("tasks");
        List<String> found = new ArrayList<>();
        for (Map.Entry<Path, String> e : framework.entrySet()) {
            String name = e.getKey().getFileName().toString().replace(".java", "");
            String pkg = packageOf(e.getValue());
            if (name.equals("package-info") || SHARED_BY_DESIGN.stream().anyMatch(pkg::startsWith)) continue;
            boolean frameworkUses = framework.entrySet().stream()
                    .anyMatch(o -> !o.getKey().equals(e.getKey()) && uses(o.getValue(), pkg, name));
            if (frameworkUses) continue;
            Set<String> users = new TreeSet<>();
            for (Map.Entry<Path, String> t : tasks.entrySet()) {
                if (uses(t.getValue(), pkg, name)) users.add(packageOf(t.getValue()));
            }
            if (users.size() == 1 && TASKS.matcher(users.iterator().next() + ".").find()) {
                found.add(pkg + "." + name + " is used only by " + users.iterator().next()
                        + ": move it into that task's folder");
            }
        }
        assertEquals(List.of(), found);
    }

    /** Whether {@code src} names class {@code name} of package {@code pkg}: same package or imported. */
    private static boolean uses(String src, String pkg, String name) {
        Pattern word = Pattern.compile("(?<![\\w.])" + name + "\\b");
        String code = src.replaceAll("(?m)^import .*$", "");
        if (packageOf(src).equals(pkg)) return word.matcher(code).find();
        String q = Pattern.quote(pkg);
        if (Pattern.compile("(?m)^import (static )?" + q + "\\." + name + "\\b").matcher(src).find()) return true;
        if (Pattern.compile("(?m)^import " + q + "\\.\\*;").matcher(src).find()) return word.matcher(code).find();
        return code.contains(pkg + "." + name);
    }

    private static String packageOf(String src) {
        Matcher m = PACKAGE.matcher(src);
        return m.find() ? m.group(1) : "";
    }

    private static Map<Path, String> sources(String dir) throws IOException {
        Path root = Paths.get(dir);
        assertTrue(Files.isDirectory(root), root.toAbsolutePath() + " (tests run from the project root)");
        Map<Path, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path f : (Iterable<Path>) s.filter(p -> p.toString().endsWith(".java"))::iterator) {
                out.put(f, Files.readString(f));
            }
        }
        return out;
    }
}
