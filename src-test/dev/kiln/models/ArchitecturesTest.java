package dev.kiln.models;

import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.models.bert.BertArchitecture;
import dev.kiln.models.gpt2.Gpt2Architecture;
import dev.kiln.models.gpt2.Gpt2Init;
import dev.kiln.text.InputTemplate;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The architecture registry, and the input templates the architectures give (same ids as before they existed). */
class ArchitecturesTest {

    @Test
    void theArchitecturesAreRegisteredAndFoundFromTheirFolders() throws IOException {
        assertEquals(List.of("bert", "gpt2", "mlp", "textcnn", "bilstm", "encoder-decoder"), List.copyOf(Architectures.all().keySet()));
        assertInstanceOf(BertArchitecture.class, Architectures.of(TinyModels.miniLmFolder()));
        assertInstanceOf(Gpt2Architecture.class, Architectures.of(TestSupport.shared("fixtures/gpt2-tiny")));
    }

    @Test
    void anUnknownModelTypeIsOneLineNamingTheRegisteredOnes(@TempDir Path dir) throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Architectures.forType("roberta"));
        assertEquals("model_type 'roberta' is not supported; Kiln knows bert, gpt2, mlp, textcnn, bilstm, encoder-decoder", e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 8}");
        IOException io = assertThrows(IOException.class, () -> Architectures.of(dir));
        assertTrue(io.getMessage().contains("config.json: model_type 'llama' is not supported; Kiln knows bert, gpt2, mlp, textcnn, bilstm, encoder-decoder"), io.getMessage());
        assertFalse(io.getMessage().contains("\n"));
    }

    @Test
    void aConfigWithoutModelTypeIsRecognisedByItsFields(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"n_embd\": 8}");
        assertInstanceOf(Gpt2Architecture.class, Architectures.of(dir));
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 8}");
        assertInstanceOf(BertArchitecture.class, Architectures.of(dir));
        Files.writeString(dir.resolve("config.json"), "{\"d_model\": 8}");
        assertThrows(IOException.class, () -> Architectures.of(dir));
    }

    @Test
    void bertTemplateIsClsTextSepAndSecondSegmentOne() throws IOException {
        try (Tokenizer tok = Tokenizer.load(TinyModels.miniLmFolder())) {
            InputTemplate t = BertArchitecture.INSTANCE.template(tok);
            long cls = tok.clsId(), sep = tok.sepId();
            long[] a = tok.encode("The quick brown fox", false).ids();
            long[] b = tok.encode("jumps over it", false).ids();
            Sequences.Input single = t.build(a, null, 64);
            assertArrayEquals(concat(new long[] {cls}, a, new long[] {sep}), single.ids());
            assertArrayEquals(new long[single.length()], single.typeIds());
            Sequences.Input pair = t.build(a, b, 64);
            assertArrayEquals(concat(new long[] {cls}, a, new long[] {sep}, b, new long[] {sep}), pair.ids());
            long[] types = new long[pair.length()];
            Arrays.fill(types, a.length + 2, types.length, 1);
            assertArrayEquals(types, pair.typeIds());
            // what HF's tokenizer applies itself, and what a tokenizer opened on its own carries
            assertArrayEquals(tok.encodePair("The quick brown fox", "jumps over it").ids(), pair.ids());
            assertArrayEquals(tok.encodePair("The quick brown fox", "jumps over it").typeIds(), pair.typeIds());
            assertEquals(t, InputTemplate.of(tok));
            assertEquals(t, tok.template());
            assertEquals("word", t.wordText(1, "word"));
            assertEquals(3, t.specialCount(true));
            assertEquals(2, t.specialCount(false));
            assertEquals(1, t.leadingSpecials());
        }
    }

    @Test
    void gpt2TemplateJoinsPairsWithEndOfTextAndSpacesWords() throws IOException {
        Path npm = Gpt2Init.tokenizerDir();
        Assumptions.assumeTrue(Files.isDirectory(npm), "skipped: " + npm + " absent; run scripts/fetch-assets");
        try (Tokenizer tok = Tokenizer.load(npm)) {
            InputTemplate t = Gpt2Architecture.INSTANCE.template(tok);
            long[] a = tok.encode("The quick brown fox", false).ids();
            long[] b = tok.encode("jumps over it", false).ids();
            assertArrayEquals(a, t.build(a, null, 64).ids());
            Sequences.Input pair = t.build(a, b, 64);
            assertArrayEquals(concat(a, new long[] {tok.eosId()}, b), pair.ids());
            assertArrayEquals(new long[pair.length()], pair.typeIds());
            assertEquals(t, InputTemplate.of(tok));
            assertEquals(t, tok.template());
            assertEquals("word", t.wordText(0, "word"));
            assertEquals(" word", t.wordText(1, "word"));
            assertEquals(1, t.specialCount(true));
            assertEquals(0, t.specialCount(false));
            // longest-first truncation keeps the template's end-of-text
            Sequences.Input cut = t.build(a, b, 5);
            assertEquals(5, cut.length());
            assertEquals(tok.eosId().longValue(), cut.ids()[2]);
        }
    }

    @Test
    void aTokenizerOpenedForAModelCarriesItsArchitecturesTemplate() throws IOException {
        Path dir = TinyModels.miniLmFolder();
        try (Tokenizer tok = Architectures.of(dir).loadTokenizer(dir)) {
            assertEquals(BertArchitecture.INSTANCE.template(tok), tok.template());
        }
    }

    private static long[] concat(long[]... parts) {
        int n = 0;
        for (long[] p : parts) n += p.length;
        long[] out = new long[n];
        int i = 0;
        for (long[] p : parts) { System.arraycopy(p, 0, out, i, p.length); i += p.length; }
        return out;
    }
}
