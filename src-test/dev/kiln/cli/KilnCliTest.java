package dev.kiln.cli;

import dev.kiln.Kiln;
import dev.kiln.config.RunConfig;
import dev.kiln.data.QuickstartData;
import dev.kiln.train.Tasks;
import dev.kiln.util.KilnHome;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line itself: help, version, and the one-line errors for mistyped commands and options. */
class KilnCliTest {

    private static String out(String... args) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            assertEquals(0, KilnCli.run(args, ps), String.join(" ", args));
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    private static String error(String... args) {
        return assertThrows(KilnCli.UsageException.class, () -> KilnCli.run(args, new PrintStream(new ByteArrayOutputStream())))
                .getMessage();
    }

    @Test
    void everyCommandHasHelpWithOptionsDefaultsAndAnExample() throws IOException {
        List<String> names = List.copyOf(KilnCli.commandLine(System.out).getSubcommands().keySet());
        assertTrue(names.containsAll(List.of("train", "evaluate", "predict", "export", "prepare-quickstart", "fetch-model",
                "import", "encode", "fill-mask", "score", "generate", "init-gpt2")), names.toString());
        for (String name : names) {
            if (name.equals("help")) continue;
            String help = out(name, "--help");
            assertTrue(help.startsWith("Usage: kiln " + name), help);
            assertTrue(help.contains("Example"), name + " has no example:\n" + help);
            assertEquals(help, out(name, "-h"), "-h is --help");
            assertEquals(help, out("help", name), "kiln help CMD is CMD --help");
        }
        String train = out("train", "--help");
        assertTrue(train.contains("--set=KEY=VALUE") && train.contains("--dry-run") && train.contains("CONFIG"), train);
        String initGpt2 = out("init-gpt2", "--help");
        assertTrue(initGpt2.matches("(?s).*--n-layer=N\\s+Default: 4.*"), "defaults are shown:\n" + initGpt2);
        String all = out("--help");
        for (String name : names) assertTrue(all.contains("  " + name + " "), name + " listed:\n" + all);
    }

    @Test
    void versionNamesKilnDjlPytorchAndJava() throws IOException {
        List<String> lines = out("--version").lines().toList();
        assertEquals(4, lines.size(), lines.toString());
        assertTrue(lines.get(0).matches("Kiln \\d+\\.\\d+\\.\\d+.*"), lines.get(0));
        assertEquals("DJL 0.35.1", lines.get(1));
        assertEquals("PyTorch 2.7.1", lines.get(2));
        assertTrue(lines.get(3).startsWith("Java " + System.getProperty("java.version")), lines.get(3));
    }

    @Test
    void mistypedCommandsAndOptionsGetDidYouMean() {
        assertEquals("unknown command 'trian' (did you mean \"train\"?); kiln --help lists the commands", error("trian", "x.json"));
        assertEquals("unknown command 'evalute' (did you mean \"evaluate\"?); kiln --help lists the commands", error("evalute"));
        assertEquals("train: unknown option '--ouput' (did you mean \"--output\"?) (kiln train --help)",
                error("train", "c.json", "--ouput", "runs/x"));
        assertEquals("generate: unknown option '--max-new-token' (did you mean \"--max-new-tokens\"?) (kiln generate --help)",
                error("generate", "m", "--prompt", "p", "--max-new-token", "5"));
        assertEquals("train: missing CONFIG (kiln train --help)", error("train"));
        assertEquals("evaluate: missing --data FILE (kiln evaluate --help)", error("evaluate", "runs/x"));
        assertTrue(error("fill-mask", "m", "t", "--top-k", "many").startsWith("fill-mask: Invalid value for option '--top-k'"));
    }

    @Test
    void hfStyleFlagsPointAtTheSetKey() {
        Tasks.all(); // task keys (data.max_length) come from the registered tasks
        assertEquals("train: unknown option '--epochs'; config keys are set with --set training.epochs=3 (kiln train --help)",
                error("train", "c.json", "--epochs", "3"));
        assertEquals("train: unknown option '--num_train_epochs'; config keys are set with --set training.epochs=2 (kiln train --help)",
                error("train", "--num_train_epochs=2", "c.json"));
        assertTrue(error("train", "c.json", "--learning-rate", "3e-5").contains("--set optimizer.lr=3e-5"));
        assertTrue(error("train", "c.json", "--per_device_train_batch_size", "16").contains("--set training.batch_size=16"));
        assertTrue(error("train", "c.json", "--batch-size", "16").contains("--set training.batch_size=16"));
        assertTrue(error("train", "c.json", "--max_seq_length", "128").contains("--set data.max_length=128"));
        assertTrue(error("train", "c.json", "--lr", "1e-4").contains("--set optimizer.lr=1e-4"));
        // a near option of the command wins over a config key
        assertTrue(error("train", "c.json", "--output_dir", "runs/x").contains("did you mean \"--output\"?"));
    }

    @Test
    void textStartingWithAtIsNotAnArgumentFile(@TempDir Path dir) throws IOException {
        Path f = Files.writeString(dir.resolve("args"), "--help\n");
        // picocli would expand @FILE into its lines; a TEXT or a file name must stay what it is
        assertEquals("train: config file not found: @" + f, error("train", "@" + f));
    }

    @Test
    void badInputStaysAUsageErrorWithTheCommandName() {
        assertEquals("train: config file not found: no-such.json", error("train", "no-such.json"));
        assertEquals("import: --format 'pt' (expected onnx or tf-savedmodel)", error("import", "--format", "pt", "x", "--to", "y"));
        assertEquals("score: give exactly one of --text TEXT, --ids 1,5,42 or --input FILE", error("score", "m"));
    }

    /** A fresh KILN_HOME: the quick-start config writes its data on first use instead of "file not found". */
    @Test
    void quickstartConfigPreparesItsDataOnAFreshMachine(@TempDir Path home) throws IOException {
        Path pkg = KilnHome.npmPackage(QuickstartData.NPM_PACKAGE, QuickstartData.NPM_VERSION);
        Assumptions.assumeTrue(Files.isDirectory(pkg.resolve("test/fixtures")), "skipped: " + pkg + " is missing (scripts/fetch-assets)");
        Path linked = home.resolve("assets/npm/" + QuickstartData.NPM_PACKAGE + "@" + QuickstartData.NPM_VERSION);
        Files.createDirectories(linked.getParent());
        Files.createSymbolicLink(linked, pkg.getParent());
        String before = System.getProperty("kiln.home");
        System.setProperty("kiln.home", home.toString());
        try {
            Path cfg = Path.of("configs/quickstart.json");
            RunConfig c = Kiln.training(cfg).config();
            assertEquals(home.resolve("data/quickstart/train.jsonl"), c.data.train);
            assertEquals(2400, Files.readAllLines(c.data.train).size());
            assertEquals(600, Files.readAllLines(c.data.dev).size());
            // any other missing file is still the config error it was
            Path other = Files.writeString(home.resolve("other.json"), Files.readString(cfg).replace("quickstart/train.jsonl", "elsewhere/train.jsonl"));
            assertThrows(dev.kiln.config.ConfigException.class, () -> Kiln.training(other).config());
        } finally {
            if (before == null) System.clearProperty("kiln.home");
            else System.setProperty("kiln.home", before);
        }
    }

    @Test
    void noCommandPrintsTheCommandList() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(2, KilnCli.run(new String[0], new PrintStream(buf, true, StandardCharsets.UTF_8)));
        assertTrue(buf.toString(StandardCharsets.UTF_8).contains("Commands:"));
    }
}
