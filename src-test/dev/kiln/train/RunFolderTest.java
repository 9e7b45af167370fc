package dev.kiln.train;

import dev.kiln.Kiln;
import dev.kiln.TinyModels;
import dev.kiln.io.HfFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Kiln writes only into its own run folders and deletes only what it wrote (the data-loss cases of a review). */
class RunFolderTest {
    @TempDir
    Path tmp;

    private Path data(String name, int n) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean p = i % 2 == 0;
            lines.add("{\"text\": \"it was " + (p ? "great" : "awful") + " " + i + "\", \"label\": \"" + (p ? "pos" : "neg") + "\"}");
        }
        return Files.write(tmp.resolve(name), lines);
    }

    private String config(Path out) throws IOException {
        Path model = Files.isDirectory(tmp.resolve("bert")) ? tmp.resolve("bert") : TinyModels.bert(tmp.resolve("bert"), 1, 32, 3);
        return "{\"model\": {\"name\": \"" + model + "\", \"device\": \"cpu\"}, \"task\": {\"type\": \"classification\"},"
                + "\"data\": {\"train\": \"" + data("train.jsonl", 16) + "\", \"dev\": \"" + data("dev.jsonl", 8) + "\", \"max_length\": 12},"
                + "\"training\": {\"max_steps\": 2, \"batch_size\": 8, \"eval_every_steps\": 2, \"log_every_steps\": 1},"
                + "\"logging\": {\"plot\": false, \"progress\": \"off\"}, \"checkpointing\": {\"every_steps\": 1},"
                + "\"output\": {\"dir\": \"" + out + "\"}}";
    }

    /** Every file under {@code dir} with its bytes, as text for a readable assertion. */
    private static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                out.put(dir.relativize(p).toString(), Files.isRegularFile(p) ? Files.readString(p) : "/");
            }
        }
        return out;
    }

    @Test
    void aFolderThatIsNotARunIsRefusedBeforeAnythingIsWritten() throws IOException {
        // the layout a review used: a user's folder with Kiln-like names in it
        Path out = tmp.resolve("precious");
        Files.createDirectories(out.resolve("final"));
        Files.createDirectories(out.resolve("best"));
        Files.createDirectories(out.resolve("checkpoints/.hidden"));
        Files.writeString(out.resolve("final/weights.bin"), "mine");
        Files.writeString(out.resolve("best/notes.txt"), "mine");
        Files.writeString(out.resolve("checkpoints/.hidden/x"), "mine");
        Files.writeString(out.resolve("config.json"), "{\"my\": 1}");
        Files.writeString(out.resolve("metrics.jsonl"), "mine\n");
        Map<String, String> before = snapshot(out);
        String json = config(out);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Kiln.training(json).quiet().run());
        assertTrue(e.getMessage().contains("is not empty and is not a Kiln run"), e.getMessage());
        assertTrue(e.getMessage().contains("best/, checkpoints/, config.json and 2 more"), e.getMessage());
        assertEquals(before, snapshot(out));
        // overwrite() is refused the same way and deletes nothing
        assertThrows(IllegalArgumentException.class, () -> Kiln.training(json).overwrite().quiet().run());
        assertEquals(before, snapshot(out));
    }

    @Test
    void rootsHomesAndFilesAreRefused() throws IOException {
        for (Path p : new Path[] {Paths.get("/"), Paths.get(System.getProperty("user.home"))}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunFolder.check(p));
            assertTrue(e.getMessage().contains(p.toAbsolutePath().normalize() + " is a filesystem root")
                    || e.getMessage().contains("home folder"), e.getMessage());
        }
        Path file = Files.writeString(tmp.resolve("out.txt"), "x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunFolder.check(file));
        assertTrue(e.getMessage().contains("is a file"), e.getMessage());
        RunFolder.check(tmp.resolve("new/run")); // a new folder is fine
        Files.createDirectories(tmp.resolve("empty"));
        RunFolder.check(tmp.resolve("empty"));
    }

    @Test
    void overwriteRemovesOnlyWhatTheRunWrote() throws IOException {
        Path out = tmp.resolve("run");
        String json = config(out);
        Kiln.training(json).quiet().run();
        assertTrue(Files.isRegularFile(out.resolve(RunFolder.MARKER)));
        assertTrue(Files.isDirectory(out.resolve("checkpoints/step-2")));
        assertTrue(Files.isDirectory(out.resolve("final")));
        // the user keeps notes beside the run, and in its tensorboard folder
        Files.writeString(out.resolve("notes.md"), "my notes");
        Files.writeString(out.resolve("tensorboard/README"), "mine");
        // a kill while final/ was written left a temporary folder
        Files.createDirectories(out.resolve(".final.tmp-abc123"));

        Kiln.Run again = Kiln.training(json).set("training.max_steps=1").overwrite().quiet().run();
        assertEquals(1, again.result().steps);
        assertEquals("my notes", Files.readString(out.resolve("notes.md")));
        assertEquals("mine", Files.readString(out.resolve("tensorboard/README")));
        assertFalse(Files.exists(out.resolve("checkpoints/step-2")), "the old run's checkpoints are gone");
        assertFalse(Files.exists(out.resolve(".final.tmp-abc123")), "leftovers of a kill are cleaned on the next start");

        // a file of the user's inside final/ would be deleted when final/ is replaced: refused up front
        Files.writeString(out.resolve("final/mine.txt"), "mine");
        String cfgBefore = Files.readString(out.resolve("config.json"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Kiln.training(json).set("training.max_steps=3").quiet().run());
        assertTrue(e.getMessage().contains("final holds files Kiln did not write (mine.txt)"), e.getMessage());
        assertEquals(cfgBefore, Files.readString(out.resolve("config.json")));
        assertThrows(IllegalArgumentException.class, () -> RunFolder.clear(out));
        assertEquals("mine", Files.readString(out.resolve("final/mine.txt")));
    }

    @Test
    void runFoldersGetTheUmaskNotOwnerOnly() throws IOException {
        Path out = tmp.resolve("run");
        Kiln.training(config(out)).quiet().run();
        Path reference = Files.createDirectory(tmp.resolve("reference"));
        String expected = PosixFilePermissions.toString(Files.getPosixFilePermissions(reference));
        for (String sub : new String[] {"checkpoints/step-2", "best", "final", "checkpoints/step-2/model"}) {
            assertEquals(expected, PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve(sub))), sub);
        }
        // files written through a temp file and a rename get the umask too, not owner-only or a fixed mode
        String file = PosixFilePermissions.toString(Files.getPosixFilePermissions(Files.createFile(tmp.resolve("ref.txt"))));
        for (String f : new String[] {"config.json", "manifest.json", "summary.json", "final/kiln_task.json"}) {
            assertEquals(file, PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve(f))), f);
        }
    }

    @Test
    void aModelCardIsKilnsOnlyWithItsMarker() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("final"));
        Files.writeString(dir.resolve("config.json"), "{}");
        Files.writeString(dir.resolve("kiln_head.safetensors"), "x");
        Files.writeString(dir.resolve("README.md"), HfFolder.CARD_MARKER + "\n---\n");
        HfFolder.requireReplaceable(dir);
        Files.writeString(dir.resolve("README.md"), "# my notes on this model\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfFolder.requireReplaceable(dir));
        assertTrue(e.getMessage().contains("holds files Kiln did not write (README.md)"), e.getMessage());
    }

    @Test
    void runsFromBeforeTheMarkerAreStillRuns() throws IOException {
        Path old = Files.createDirectories(tmp.resolve("old-run"));
        Files.writeString(old.resolve("config.json"), "{}");
        Files.writeString(old.resolve("manifest.json"), "{\"kiln_version\": \"0.1\"}");
        assertTrue(RunFolder.isRun(old));
        RunFolder.check(old);
        Files.writeString(old.resolve("manifest.json"), "{\"something\": \"else\"}");
        assertFalse(RunFolder.isRun(old));
    }

    @Test
    void exportAndInitNeverReplaceAUsersFolder() throws IOException {
        Path mine = Files.createDirectories(tmp.resolve("my-model"));
        Files.writeString(mine.resolve("config.json"), "{\"model_type\": \"bert\"}");
        Files.writeString(mine.resolve("model.safetensors"), "not really");
        Path run = tmp.resolve("run");
        Kiln.training(config(run)).quiet().run();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Kiln.export(run, mine));
        assertTrue(e.getMessage().contains("exists and is not empty"), e.getMessage());
        assertEquals("not really", Files.readString(mine.resolve("model.safetensors")));
        // an earlier export is Kiln's own: replaced
        Path exported = Kiln.export(run, tmp.resolve("export"));
        assertTrue(HfFolder.writtenByKiln(exported));
        Kiln.export(run, exported);
    }

    @Test
    void modelDependentConfigErrorsComeBeforeAnyWrite() throws IOException {
        Path out = tmp.resolve("run");
        String json = config(out);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Kiln.training(json).set("training.freeze=bottom:99").quiet().run());
        assertTrue(e.getMessage().contains("bottom:99"), e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void aDamagedNewestCheckpointFallsBackToTheOlderOne() throws IOException {
        Path out = tmp.resolve("run");
        String json = config(out);
        Kiln.training(json).quiet().run();
        Map<String, dev.kiln.nn.HostTensor> uninterrupted = dev.kiln.io.SafeTensors.readCheckpoint(out.resolve("final"));
        // the newest checkpoint is damaged (truncated weights): the run goes on from step-1 and ends where it ended
        Path weights = out.resolve("checkpoints/step-2/model/model.safetensors");
        byte[] b = Files.readAllBytes(weights);
        Files.write(weights, java.util.Arrays.copyOf(b, b.length / 2));
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        try {
            Kiln.training(json).quiet().run();
        } finally {
            System.setErr(old);
        }
        assertTrue(err.toString().contains("resuming from step-1 instead"), err.toString());
        assertTrue(Files.isDirectory(out.resolve("checkpoints/step-2.unreadable")));
        Map<String, dev.kiln.nn.HostTensor> resumed = dev.kiln.io.SafeTensors.readCheckpoint(out.resolve("final"));
        assertEquals(uninterrupted.keySet(), resumed.keySet());
        for (String k : uninterrupted.keySet()) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(uninterrupted.get(k).toFloats(), resumed.get(k).toFloats(), k);
        }
    }

    @Test
    void aRunKilledWhileFinalWasWrittenResumesToTheWholeRunsSummary() throws IOException {
        Path out = tmp.resolve("run");
        String json = config(out);
        Kiln.training(json).quiet().run();
        com.google.gson.JsonObject first = com.google.gson.JsonParser.parseString(Files.readString(out.resolve("summary.json"))).getAsJsonObject();
        // as a kill while final/ was written leaves it: no final/, no summary, a temporary folder
        HfFolder.deleteTree(out.resolve("final"));
        Files.delete(out.resolve("summary.json"));
        Files.createDirectories(out.resolve(".final.tmp-k1ll3d"));
        Kiln.training(json).quiet().run();
        com.google.gson.JsonObject again = com.google.gson.JsonParser.parseString(Files.readString(out.resolve("summary.json"))).getAsJsonObject();
        assertFalse(Files.exists(out.resolve(".final.tmp-k1ll3d")));
        assertTrue(Files.isRegularFile(out.resolve("final/model.safetensors")));
        assertEquals(first.get("final_eval"), again.get("final_eval"));
        assertFalse(again.getAsJsonObject("final_eval").entrySet().isEmpty());
        // the time of the session that did the training, not of the one that only wrote final/
        assertTrue(again.get("train_seconds").getAsDouble() >= 0.5 * first.get("train_seconds").getAsDouble(), again.toString());
    }
}
