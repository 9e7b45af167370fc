package dev.kiln.tasks.pretraining;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextSourceTest {
    @TempDir
    Path dir;

    /** Documents as lists of lines (pieces of a line joined). */
    static List<List<String>> read(TextSource src) throws IOException {
        List<List<String>> docs = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        src.read(new TextSource.Sink() {
            @Override public void startDocument() { docs.add(new ArrayList<>()); }

            @Override
            public void text(String piece, boolean lineEnd) {
                line.append(piece);
                if (lineEnd) {
                    docs.get(docs.size() - 1).add(line.toString());
                    line.setLength(0);
                }
            }

            @Override public void endDocument() {}
        });
        return docs;
    }

    private TextSource source(String text, TextSource.Documents mode, String marker) throws IOException {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, text, StandardCharsets.UTF_8);
        return new TextSource(List.of(f), mode, marker, StandardCharsets.UTF_8);
    }

    @Test
    void documentModes() throws IOException {
        String text = "\uFEFFa1\r\na2\r\n\r\n = T = \r\nb1\n \nb2\rb3\n";
        assertEquals(List.of(List.of("a1", "a2", "", " = T = ", "b1", " ", "b2", "b3")),
                read(source(text, TextSource.Documents.FILE, null)));
        assertEquals(List.of(List.of("a1", "a2"), List.of(" = T = ", "b1"), List.of("b2", "b3")),
                read(source(text, TextSource.Documents.BLANK_LINE, null)));
        assertEquals(List.of(List.of("a1"), List.of("a2"), List.of(" = T = "), List.of("b1"), List.of("b2"), List.of("b3")),
                read(source(text, TextSource.Documents.LINE, null)));
        assertEquals(List.of(List.of("a1", "a2", ""), List.of(" = T = ", "b1", " ", "b2", "b3")),
                read(source(text, TextSource.Documents.MARKER, "^ = [^=]")));
    }

    @Test
    void longLinesArriveInPiecesCutBeforeASpace() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 500; i++) sb.append("word").append(i).append(' ');
        Path f = dir.resolve("long.txt");
        Files.writeString(f, sb + "\nnext\n");
        List<String> pieces = new ArrayList<>();
        TextSource src = new TextSource(List.of(f), TextSource.Documents.FILE, null, StandardCharsets.UTF_8, 256, 100);
        TextSource.Stats st = src.read(new TextSource.Sink() {
            @Override public void startDocument() {}
            @Override public void text(String piece, boolean lineEnd) { pieces.add(piece); }
            @Override public void endDocument() {}
        });
        assertEquals(sb.toString(), String.join("", pieces.subList(0, pieces.size() - 1)));
        for (int i = 1; i < pieces.size() - 1; i++) assertTrue(pieces.get(i).startsWith(" "), pieces.get(i));
        assertTrue(st.peakLineChars() <= 100, "held " + st.peakLineChars());
        assertEquals(Files.size(f), st.bytes());
    }

    @Test
    void folderFilesInNaturalOrderFilteredByGlob() throws IOException {
        for (String n : new String[] {"chapter_10.txt", "chapter_2.txt", "chapter_1.txt", "notes.md", ".hidden.txt"}) {
            Files.writeString(dir.resolve(n), n);
        }
        List<Path> files = TextSource.files(dir, "chapter_*.txt");
        assertEquals(List.of("chapter_1.txt", "chapter_2.txt", "chapter_10.txt"),
                files.stream().map(p -> p.getFileName().toString()).toList());
        assertEquals(4, TextSource.files(dir, null).size());
    }
}
