package dev.kiln.generate;

import ai.djl.ndarray.NDManager;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.text.Tokenizer;
import dev.kiln.util.Devices;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Text generation with a GPT-2 folder: {@code Generator.load(dir).generate(prompt, options)}. */
public final class Generator implements AutoCloseable {
    private final NDManager manager;
    private final Gpt2Model model;
    private final Tokenizer tok;
    /** Whether close() frees the model and tokenizer (false for {@link #of}). */
    private final boolean owned;

    private Generator(NDManager manager, Gpt2Model model, Tokenizer tok, boolean owned) {
        this.manager = manager;
        this.model = model;
        this.tok = tok;
        this.owned = owned;
    }

    /**
     * A GPT-2 model folder (or zoo name) with tokenizer files, on {@code device} (auto|cpu|gpu[:N]); a PEFT folder
     * (adapter_config.json) loads its base model with the adapter applied.
     */
    public static Generator load(String nameOrPath, String device) throws IOException {
        Path dir = dev.kiln.peft.PeftFolder.is(Path.of(nameOrPath)) ? Path.of(nameOrPath) : ModelZoo.resolve(nameOrPath);
        NDManager m = NDManager.newBaseManager(Devices.parse(device));
        try {
            Gpt2Model g = HfFolder.loadGpt2(dev.kiln.peft.PeftFolder.weightsFolder(dir), m, null,
                    dev.kiln.peft.PeftFolder.strictness(dir, HfFolder.Strictness.STRICT));
            dev.kiln.peft.PeftFolder.applyTo(dir, g);
            return new Generator(m, g, Tokenizer.load(dir), true);
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    public static Generator load(Path dir) throws IOException {
        return load(dir.toString(), "auto");
    }

    /** Wraps a model already in memory (e.g. one being trained); the caller keeps ownership. */
    public static Generator of(Gpt2Model model, Tokenizer tok) {
        return new Generator(null, model, tok, false);
    }

    public Gpt2Model model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return tok;
    }

    /** Options with this model's end-of-text token as EOS. */
    public GenerationOptions defaults() {
        GenerationOptions o = new GenerationOptions();
        o.eosTokenId = tok.eosId() != null ? tok.eosId() : model.config.eosTokenId;
        return o;
    }

    /** The continuation of {@code prompt} (new text only). */
    public String generate(String prompt, GenerationOptions o) {
        return tok.decode(generateIds(tok.encode(prompt, false).ids(), o), true);
    }

    /** New token ids after {@code prompt}; beam search when numBeams > 1. */
    public long[] generateIds(long[] prompt, GenerationOptions o) {
        if (prompt.length == 0) throw new IllegalArgumentException("empty prompt");
        try (Gpt2Lm lm = new Gpt2Lm(model, true, o.slidingWindow)) {
            if (o.numBeams > 1) return Decoder.beamSearch(lm, prompt, o);
            return Decoder.sampleOrGreedy(lm, List.of(prompt), o).get(0);
        }
    }

    /** Batched greedy/sampled generation (left-padded); beam search runs prompt by prompt. */
    public List<String> generateBatch(List<String> prompts, GenerationOptions o) {
        List<long[]> ids = new ArrayList<>();
        for (String p : prompts) ids.add(tok.encode(p, false).ids());
        List<long[]> outs = new ArrayList<>();
        if (o.numBeams > 1) {
            for (long[] p : ids) outs.add(generateIds(p, o));
        } else {
            try (Gpt2Lm lm = new Gpt2Lm(model, true, o.slidingWindow)) {
                outs = Decoder.sampleOrGreedy(lm, ids, o);
            }
        }
        List<String> texts = new ArrayList<>();
        for (long[] x : outs) texts.add(tok.decode(strip(x, o.eosTokenId), true));
        return texts;
    }

    private static long[] strip(long[] x, Integer eos) {
        if (eos == null) return x;
        int n = 0;
        while (n < x.length && x[n] != eos) n++;
        return java.util.Arrays.copyOf(x, n);
    }

    @Override
    public void close() {
        if (!owned) return;
        tok.close();
        manager.close();
    }
}
