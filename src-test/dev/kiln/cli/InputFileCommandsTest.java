package dev.kiln.cli;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.Kiln;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.io.HfFolder;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * fill-mask --input and score --input: one JSON line per input line, in input order, the same at any batch size as
 * the one-text form gives for that line alone; a line the model cannot take is a usage error naming the line.
 */
@ExtendWith(OneThreadWhenBusy.class)
class InputFileCommandsTest {
    @TempDir
    static Path tmp;

    static String cli(String... args) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(0, KilnCli.run(args, new PrintStream(buf, true, StandardCharsets.UTF_8)));
        return buf.toString(StandardCharsets.UTF_8).trim();
    }

    /** A random 1-layer BERT with an MLM head and the uncased WordPiece vocabulary. */
    static Path mlmBert() throws IOException {
        Path dir = tmp.resolve("mlm-bert");
        if (Files.isDirectory(dir)) return dir;
        BertConfig c = new BertConfig();
        c.numHiddenLayers = 1;
        c.hiddenSize = 32;
        c.numAttentionHeads = 4;
        c.intermediateSize = 64;
        c.maxPositionEmbeddings = 64;
        try (NDManager m = NDManager.newBaseManager()) {
            // std 0.5: candidates far apart, so a wrong row's or position's candidates would show
            BertModel b = new BertModel(c, new Parameters(m, 11, 0.5f), BertModel.Heads.all());
            HfFolder.save(b, dir, TinyModels.miniLmFolder());
        }
        return dir;
    }

    @Test
    void fillMaskInputGivesEachLinesOwnCandidates() throws IOException {
        Path model = mlmBert();
        List<String> texts = List.of("the [MASK] sat on the mat.", "a very long sentence about a [MASK] that needs the padding of others",
                "[MASK] .", "paris is the capital of [MASK] and a city of lights");
        Path file = Files.write(tmp.resolve("masked.txt"), texts);
        List<String> one = cli("fill-mask", model.toString(), "--input", file.toString(), "--top-k", "3", "--batch-size", "1").lines().toList();
        List<String> many = cli("fill-mask", model.toString(), "--input", file.toString(), "--top-k", "3", "--batch-size", "64").lines().toList();
        assertEquals(texts.size(), one.size());
        assertEquals(texts.size(), many.size());
        for (int i = 0; i < texts.size(); i++) {
            List<String> alone = cli("fill-mask", model.toString(), texts.get(i), "--top-k", "3").lines().toList();
            assertEquals(3, alone.size());
            for (List<String> out : List.of(one, many)) {
                JsonArray got = JsonParser.parseString(out.get(i)).getAsJsonArray();
                assertEquals(3, got.size(), "line " + (i + 1));
                for (int k = 0; k < 3; k++) {
                    JsonObject want = JsonParser.parseString(alone.get(k)).getAsJsonObject(), have = got.get(k).getAsJsonObject();
                    assertEquals(want.get("token").getAsString(), have.get("token").getAsString(), "line " + (i + 1) + " candidate " + k);
                    assertEquals(want.get("score").getAsDouble(), have.get("score").getAsDouble(), 2e-4, "line " + (i + 1));
                }
            }
        }
        Path bad = Files.write(tmp.resolve("unmasked.txt"), List.of("a [MASK] here", "", "no mask here"));
        assertEquals("fill-mask: --input line 3 has no [MASK] token: put one in the text or drop the line",
                assertThrows(KilnCli.UsageException.class, () -> cli("fill-mask", model.toString(), "--input", bad.toString())).getMessage());
        assertEquals("fill-mask: give exactly one of TEXT or --input FILE",
                assertThrows(KilnCli.UsageException.class, () -> cli("fill-mask", model.toString())).getMessage());
    }

    @Test
    void scoreInputGivesEachLinesOwnLogprobs() throws IOException {
        Path model = TinyModels.gpt2(tmp.resolve("gpt2"), 2, 32, 3);
        List<String> texts = List.of("Hello world, this is a test.", "Short one", "A much longer line of text, so that the others in "
                + "its batch need padding after them", "Kiln scores text.");
        Path file = Files.write(tmp.resolve("lines.txt"), texts);
        List<String> one = cli("score", model.toString(), "--input", file.toString(), "--batch-size", "1").lines().toList();
        List<String> many = cli("score", model.toString(), "--input", file.toString(), "--batch-size", "64").lines().toList();
        assertEquals(texts.size(), one.size());
        assertEquals(texts.size(), many.size());
        try (Kiln.Scorer s = Kiln.scorer(model.toString(), "cpu")) {
            for (int i = 0; i < texts.size(); i++) {
                JsonObject alone = JsonParser.parseString(cli("score", model.toString(), "--text", texts.get(i))).getAsJsonObject();
                var facade = s.score(texts.get(i));
                assertEquals(alone.get("perplexity").getAsDouble(), facade.perplexity(), 1e-9 * facade.perplexity());
                for (List<String> out : List.of(one, many)) {
                    JsonObject got = JsonParser.parseString(out.get(i)).getAsJsonObject();
                    assertEquals(alone.get("ids"), got.get("ids"), "line " + (i + 1));
                    JsonArray want = alone.getAsJsonArray("logprobs"), have = got.getAsJsonArray("logprobs");
                    assertEquals(want.size(), have.size());
                    for (int k = 0; k < want.size(); k++) {
                        assertEquals(want.get(k).getAsDouble(), have.get(k).getAsDouble(), 1e-4, "line " + (i + 1) + " token " + k);
                    }
                }
            }
            // the single-sequence facade agrees with the ids form
            long[] ids = s.tokenize(texts.get(0));
            assertArrayEquals(Kiln.score(model.toString(), ids, "cpu").logprobs(), s.score(ids).logprobs());
        }
        Path bad = Files.write(tmp.resolve("short.txt"), List.of("two words", "a"));
        assertEquals("score: --input line 2 is 1 token long: scoring needs at least 2",
                assertThrows(KilnCli.UsageException.class, () -> cli("score", model.toString(), "--input", bad.toString())).getMessage());
        assertEquals("score: give exactly one of --text TEXT, --ids 1,5,42 or --input FILE",
                assertThrows(KilnCli.UsageException.class, () -> cli("score", model.toString(), "--text", "x", "--input", bad.toString())).getMessage());
    }
}
