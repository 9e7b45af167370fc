package dev.kiln.generate;

import ai.djl.ndarray.NDManager;
import dev.kiln.TinyModels;
import dev.kiln.cli.KilnCli;
import dev.kiln.io.HfFolder;
import dev.kiln.models.gpt2.Gpt2Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Generation past n_positions with {@link GenerationOptions#slidingWindow}, on a GPT-2 with 16 positions. */
class SlidingWindowTest {
    static final long[] PROMPT = {1, 5, 42, 7};

    @TempDir
    Path dir;

    private static GenerationOptions greedy(int n, boolean sliding) {
        GenerationOptions o = new GenerationOptions();
        o.maxNewTokens = n;
        o.slidingWindow = sliding;
        return o;
    }

    private static int argmax(float[] x) {
        int b = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
        return b;
    }

    @Test
    void eachTokenSeesTheLastNPositionsTokens() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(TinyModels.gpt2(dir.resolve("gpt2"), 2, 32, 16, 3), m);
            long[] cached = Decoder.sampleOrGreedy(new Gpt2Lm(g, true, true), List.of(PROMPT), greedy(40, true)).get(0);
            long[] full = Decoder.sampleOrGreedy(new Gpt2Lm(g, false, true), List.of(PROMPT), greedy(40, true)).get(0);
            assertArrayEquals(full, cached);

            // reference: every step a fresh forward pass over the last 16 tokens (nanoGPT's loop)
            long[] seq = PROMPT.clone();
            for (int t = 0; t < 40; t++) {
                long[] window = Arrays.copyOfRange(seq, Math.max(0, seq.length - 16), seq.length);
                long[] ones = new long[window.length];
                Arrays.fill(ones, 1);
                float[] logits;
                try (Gpt2Lm lm = new Gpt2Lm(g, false)) {
                    logits = lm.start(new long[][] {window}, new long[][] {ones})[0];
                }
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = argmax(logits);
            }
            assertArrayEquals(Arrays.copyOfRange(seq, PROMPT.length, seq.length), cached);

            // within n_positions the window changes nothing
            long[] plain = Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), greedy(12, false)).get(0);
            assertArrayEquals(plain, Arrays.copyOf(cached, 12));
        }
    }

    @Test
    void offByDefaultWithAnErrorThatNamesTheOption() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(TinyModels.gpt2(dir.resolve("gpt2"), 1, 16, 16, 3), m);
            // 4 + 12 tokens fit; the 13th new token is sampled from position 16's logits and never fed back
            assertTrue(Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), greedy(13, false)).get(0).length == 13);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), greedy(14, false)));
            assertTrue(e.getMessage().startsWith("generation reached n_positions 16 (17 tokens)"), e.getMessage());
            assertTrue(e.getMessage().contains("--sliding-window"), e.getMessage());
            long[] longPrompt = new long[20];
            e = assertThrows(IllegalArgumentException.class,
                    () -> Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(longPrompt), greedy(1, false)));
            assertTrue(e.getMessage().contains("(20 tokens)"), e.getMessage());
            // with the window, a prompt longer than the model is cut to its last 16 tokens
            long[] tail = Arrays.copyOfRange(longPrompt, 4, 20);
            tail[0] = 9;
            longPrompt[4] = 9;
            assertArrayEquals(Decoder.sampleOrGreedy(new Gpt2Lm(g, true, true), List.of(tail), greedy(5, true)).get(0),
                    Decoder.sampleOrGreedy(new Gpt2Lm(g, true, true), List.of(longPrompt), greedy(5, true)).get(0));
        }
    }

    @Test
    void cliFlag() throws IOException {
        Path model = TinyModels.gpt2(dir.resolve("gpt2"), 1, 16, 16, 3);
        String[] base = {"generate", model.toString(), "--prompt", "Once upon a time", "--max-new-tokens", "30", "--device", "cpu"};
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        KilnCli.UsageException e = assertThrows(KilnCli.UsageException.class, () -> KilnCli.run(base, out));
        assertTrue(e.getMessage().startsWith("generate: generation reached n_positions 16"), e.getMessage());
        String[] sliding = Arrays.copyOf(base, base.length + 1);
        sliding[base.length] = "--sliding-window";
        assertEquals(0, KilnCli.run(sliding, out));
        try (Generator g = Generator.load(model.toString(), "cpu")) {
            GenerationOptions o = g.defaults();
            o.maxNewTokens = 30;
            o.slidingWindow = true;
            assertEquals(g.generate("Once upon a time", o), buf.toString(StandardCharsets.UTF_8).stripTrailing());
        }
    }

    @Test
    void batchesAndBeamSearchSlideToo() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(TinyModels.gpt2(dir.resolve("gpt2"), 2, 32, 16, 5), m);
            long[] shortPrompt = {3, 11};
            GenerationOptions o = greedy(30, true);
            // left-padded rows drop their padding first, so each row sees what it would see alone
            List<long[]> batch = Decoder.sampleOrGreedy(new Gpt2Lm(g, true, true), List.of(PROMPT, shortPrompt), o);
            assertArrayEquals(Decoder.sampleOrGreedy(new Gpt2Lm(g, true, true), List.of(PROMPT), o).get(0), batch.get(0));
            assertArrayEquals(Decoder.sampleOrGreedy(new Gpt2Lm(g, true, true), List.of(shortPrompt), o).get(0), batch.get(1));
            o.numBeams = 3;
            assertArrayEquals(Decoder.beamSearch(new Gpt2Lm(g, false, true), PROMPT, o),
                    Decoder.beamSearch(new Gpt2Lm(g, true, true), PROMPT, o));
        }
    }
}
