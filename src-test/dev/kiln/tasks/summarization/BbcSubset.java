package dev.kiln.tasks.summarization;

import dev.kiln.TestSupport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Small slices of the BBC News Summary file in ../shared, every category represented. */
public final class BbcSubset {
    private BbcSubset() {}

    public static Path file() {
        return TestSupport.shared("datasets/bbc_news_summary/bbc_news_summary.jsonl");
    }

    /** {@code n} records taken at an even stride through the file (it is sorted by category), written to {@code to}. */
    public static Path write(Path to, int n) throws IOException {
        List<String> lines = Files.readAllLines(file());
        List<String> out = new ArrayList<>();
        int stride = lines.size() / n;
        for (int i = 0; i < n; i++) out.add(lines.get(i * stride));
        Files.write(to, out);
        return to;
    }
}
