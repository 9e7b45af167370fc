package dev.kiln.util;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one folder publisher: built beside the target, renamed into place, nothing left behind either way. */
class AtomicFilesTest {
    @TempDir
    Path tmp;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void buildFolderReplacesAnOldFolderAndLeavesNoTemp() throws IOException {
        Path target = tmp.resolve("model");
        AtomicFiles.buildFolder(target, d -> Files.writeString(d.resolve("a.txt"), "old"));
        Files.writeString(target.resolve("stale.txt"), "x");
        AtomicFiles.buildFolder(target, d -> Files.writeString(d.resolve("a.txt"), "new"));
        assertEquals("new", Files.readString(target.resolve("a.txt")));
        assertFalse(Files.exists(target.resolve("stale.txt")), "the old folder is replaced, not merged");
        assertEquals(List.of("model"), names());
    }

    @Test
    void aFailedBuildLeavesTheTargetAsItWas() throws IOException {
        Path target = tmp.resolve("model");
        AtomicFiles.buildFolder(target, d -> Files.writeString(d.resolve("a.txt"), "old"));
        assertThrows(IOException.class, () -> AtomicFiles.buildFolder(target, d -> {
            Files.writeString(d.resolve("a.txt"), "half");
            throw new IOException("disk full");
        }));
        assertEquals("old", Files.readString(target.resolve("a.txt")));
        assertEquals(List.of("model"), names());
    }

    @Test
    void publishNewKeepsWhatAnotherProcessPutThereFirst() throws IOException {
        Path theirs = Files.createDirectory(tmp.resolve("cache"));
        Files.writeString(theirs.resolve("f"), "theirs");
        Path ours = Files.createDirectory(tmp.resolve(".cache.tmp"));
        Files.writeString(ours.resolve("f"), "ours");
        assertFalse(AtomicFiles.publishNew(ours, theirs));
        assertEquals("theirs", Files.readString(theirs.resolve("f")));
        Path fresh = tmp.resolve("fresh");
        assertTrue(AtomicFiles.publishNew(ours, fresh));
        assertEquals("ours", Files.readString(fresh.resolve("f")));
    }

    @Test
    void jsonWritesNullsAndNonFiniteNumbers() {
        com.google.gson.JsonObject o = new com.google.gson.JsonObject();
        o.add("best_metric", com.google.gson.JsonNull.INSTANCE);
        o.addProperty("loss", Double.NaN);
        o.addProperty("eos", "<|endoftext|>");
        assertEquals("{\n  \"best_metric\": null,\n  \"loss\": NaN,\n  \"eos\": \"<|endoftext|>\"\n}\n", AtomicFiles.json(o));
    }
}
