package dev.kiln.data;

import dev.kiln.tasks.classification.LabelSet;
import dev.kiln.data.TextRecords.Fields;
import dev.kiln.data.TextRecords.Format;
import dev.kiln.util.KilnHome;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuickstartDataTest {
    @TempDir
    Path dir;

    private static Path realPackage() {
        Path p = KilnHome.npmPackage(QuickstartData.NPM_PACKAGE, QuickstartData.NPM_VERSION);
        Assumptions.assumeTrue(Files.isDirectory(p.resolve("test/fixtures")),
                "skipped: npm package sentiment@5.0.2 is not at " + p + " (run scripts/fetch-assets)");
        return p;
    }

    private static Map<String, Long> countBy(List<LabelledText> l, java.util.function.Function<LabelledText, String> key) {
        return l.stream().collect(Collectors.groupingBy(key, TreeMap::new, Collectors.counting()));
    }

    @Test
    void realFixturesGive2400TrainAnd600Dev() throws IOException {
        realPackage();
        QuickstartData.Prepared p = QuickstartData.prepare(dir.resolve("qs"));
        assertEquals(2400, p.trainCount());
        assertEquals(600, p.devCount());
        assertEquals(3000, QuickstartData.load(realPackage()).size());

        List<LabelledText> train = TextRecords.read(p.train(), Format.AUTO, Fields.DEFAULT);
        List<LabelledText> dev = TextRecords.read(p.dev(), Format.AUTO, Fields.DEFAULT);
        assertEquals(2400, train.size());
        assertEquals(600, dev.size());
        assertEquals(Map.of("negative", 1200L, "positive", 1200L), countBy(train, LabelledText::label));
        assertEquals(Map.of("negative", 300L, "positive", 300L), countBy(dev, LabelledText::label));
        assertEquals(List.of("negative", "positive"), LabelSet.fromTraining(train).names());

        // stratified by source too: 400/100 of each class from each site
        List<LabelledText> devSources = TextRecords.read(p.dev(), Format.JSONL, Fields.of("text", "source"));
        assertEquals(Map.of("amazon", 200L, "imdb", 200L, "yelp", 200L), countBy(devSources, LabelledText::label));

        // fixed seed: preparing again gives the same bytes
        QuickstartData.Prepared again = QuickstartData.prepare(dir.resolve("qs2"));
        assertArrayEquals(Files.readAllBytes(p.train()), Files.readAllBytes(again.train()));
        assertArrayEquals(Files.readAllBytes(p.dev()), Files.readAllBytes(again.dev()));
        assertTrue(Files.readString(p.train()).startsWith("{\"text\":\""));
    }

    private Path fakePackage(String amazon) throws IOException {
        Path pkg = dir.resolve("fake").resolve("package");
        Path fx = pkg.resolve("test").resolve("fixtures");
        Files.createDirectories(fx);
        Files.writeString(fx.resolve("amazon.json"), amazon, StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < 10; i++) sb.append(i == 0 ? "" : ",").append("{\"text\":\"r").append(i).append("  \",\"class\":").append(i % 2).append('}');
        Files.writeString(fx.resolve("imdb.json"), sb + ",{\"text\":\"\",\"class\":null}]", StandardCharsets.UTF_8);
        Files.writeString(fx.resolve("yelp.json"), "[{\"text\":\"Don't & <go>\",\"class\":0},{\"text\":\"yum\",\"class\":1}]",
                StandardCharsets.UTF_8);
        return pkg;
    }

    @Test
    void mapsClassesDropsEmptiesAndStripsText() throws IOException {
        Path pkg = fakePackage("[{\"text\":\"bad\",\"class\":0},{\"text\":\" \",\"class\":1},{\"text\":\"good\",\"class\":1}]");
        List<QuickstartData.Sentence> s = QuickstartData.load(pkg);
        assertEquals(14, s.size());
        assertEquals(new QuickstartData.Sentence("bad", "negative", "amazon"), s.get(0));
        assertEquals(new QuickstartData.Sentence("good", "positive", "amazon"), s.get(1));
        assertEquals(new QuickstartData.Sentence("r0", "negative", "imdb"), s.get(2));
        assertEquals(new QuickstartData.Sentence("r1", "positive", "imdb"), s.get(3));

        QuickstartData.Prepared p = QuickstartData.prepare(pkg, dir.resolve("out"));
        assertEquals(14, p.trainCount() + p.devCount());
        assertEquals(2, p.devCount());   // imdb: 5 + 5 -> one of each class
        String all = Files.readString(p.train()) + Files.readString(p.dev());
        assertTrue(all.contains("{\"text\":\"Don't & <go>\",\"label\":\"negative\",\"source\":\"yelp\"}"), all);
    }

    @Test
    void errors() throws IOException {
        Path absent = dir.resolve("nowhere");
        DataException e = assertThrows(DataException.class, () -> QuickstartData.prepare(absent, dir.resolve("o")));
        assertEquals("the quick-start data comes from the npm package sentiment@5.0.2, which is not at " + absent
                + "; run scripts/fetch-assets (or set KILN_HOME)", e.getMessage());

        Path pkg = fakePackage("[{\"text\":\"bad\",\"class\":0},{\"text\":\"odd\",\"class\":2}]");
        assertEquals(pkg.resolve("test/fixtures/amazon.json") + ": entry 2 has class 2, expected 0 or 1",
                assertThrows(DataException.class, () -> QuickstartData.load(pkg)).getMessage());
        assertTrue(Files.notExists(dir.resolve("o")), "nothing written on error");
    }
}
