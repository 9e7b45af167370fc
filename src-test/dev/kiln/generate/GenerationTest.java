package dev.kiln.generate;

import ai.djl.ndarray.NDManager;
import dev.kiln.TestSupport;
import dev.kiln.io.HfFolder;
import dev.kiln.models.gpt2.Gpt2Model;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerationTest {
    static final long[] PROMPT = {1, 5, 42, 7};

    /**
     * A hand-built bigram LM over {EOS=0, A=1, B=2, C=3, D=4}: from the start A 0.6 / B 0.4; after A:
     * C 0.3, D 0.4, EOS 0.3; after B: C 0.9, D 0.1; after C or D: EOS. Greedy takes A then D
     * (p = 0.24); the best sequence is B C (p = 0.36), which beam search must find.
     */
    static final class BigramLm implements CausalLm {
        final double[][] table;
        long[] last;

        BigramLm(double[][] table) {
            this.table = table;
        }

        public int vocabSize() {
            return table[0].length;
        }

        float[][] rows() {
            float[][] out = new float[last.length][];
            for (int i = 0; i < last.length; i++) {
                double[] p = table[(int) last[i]];
                out[i] = new float[p.length];
                for (int j = 0; j < p.length; j++) out[i][j] = p[j] == 0 ? Float.NEGATIVE_INFINITY : (float) Math.log(p[j]);
            }
            return out;
        }

        public float[][] start(long[][] prompts, long[][] mask) {
            last = new long[prompts.length];
            for (int i = 0; i < prompts.length; i++) last[i] = prompts[i][prompts[i].length - 1];
            return rows();
        }

        public float[][] next(long[] tokens) {
            last = tokens.clone();
            return rows();
        }

        public void reorder(int[] rows) {
            long[] l = new long[rows.length];
            for (int i = 0; i < rows.length; i++) l[i] = last[rows[i]];
            last = l;
        }
    }

    static BigramLm markov() {
        // row 5 is the "start" state the prompt ends in
        return new BigramLm(new double[][] {
                {1, 0, 0, 0, 0, 0},          // after EOS: EOS
                {0.3, 0, 0, 0.3, 0.4, 0},     // after A
                {0, 0, 0, 0.9, 0.1, 0},       // after B
                {1, 0, 0, 0, 0, 0},           // after C
                {1, 0, 0, 0, 0, 0},           // after D
                {0, 0.6, 0.4, 0, 0, 0}});     // start
    }

    static GenerationOptions opts(int maxNew) {
        GenerationOptions o = new GenerationOptions();
        o.maxNewTokens = maxNew;
        o.eosTokenId = 0;
        return o;
    }

    @Test
    void beamSearchFindsTheSequenceGreedyMisses() {
        long[] greedy = Decoder.sampleOrGreedy(markov(), List.of(new long[] {5}), opts(5)).get(0);
        assertArrayEquals(new long[] {1, 4, 0}, greedy);
        GenerationOptions o = opts(5);
        o.numBeams = 2;
        o.lengthPenalty = 0f; // compare raw probabilities
        assertArrayEquals(new long[] {2, 3, 0}, Decoder.beamSearch(markov(), new long[] {5}, o));
    }

    @Test
    void inputVocabularyOnlyWritesOnlyThePromptsTokens() {
        GenerationOptions o = opts(5);
        o.inputVocabularyOnly = true;
        // prompt tokens {C, B, start}: A (the likelier first token) is not among them, so B then C, then EOS
        long[] prompt = {3, 2, 5};
        assertArrayEquals(new long[] {2, 3, 0}, Decoder.sampleOrGreedy(markov(), List.of(prompt), o).get(0));
        o.numBeams = 2;
        assertArrayEquals(new long[] {2, 3, 0}, Decoder.beamSearch(markov(), prompt, o));
        // without the restriction greedy takes A
        assertArrayEquals(new long[] {1, 4, 0}, Decoder.sampleOrGreedy(markov(), List.of(prompt), opts(5)).get(0));
        // nothing of the input is possible next (the start state only leads to A or B): the row ends instead of
        // writing a banned token
        GenerationOptions none = opts(5);
        none.inputVocabularyOnly = true;
        assertArrayEquals(new long[] {0}, Decoder.sampleOrGreedy(markov(), List.of(new long[] {4, 5}), none).get(0));
        none.numBeams = 2;
        assertArrayEquals(new long[] {0}, Decoder.beamSearch(markov(), new long[] {4, 5}, none));
    }

    @Test
    void oneBeamEqualsGreedy() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(TestSupport.shared("fixtures/gpt2-tiny-sharp"), m);
            GenerationOptions o = new GenerationOptions();
            o.maxNewTokens = 12;
            long[] greedy = Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), o).get(0);
            assertArrayEquals(greedy, Decoder.beamSearch(new Gpt2Lm(g, true), PROMPT, o));
        }
    }

    @Test
    void cachedDecodingEqualsUncached() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(TestSupport.shared("fixtures/gpt2-tiny-sharp"), m);
            GenerationOptions o = new GenerationOptions();
            o.maxNewTokens = 20;
            long[] cached = Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), o).get(0);
            long[] full = Decoder.sampleOrGreedy(new Gpt2Lm(g, false), List.of(PROMPT), o).get(0);
            assertArrayEquals(full, cached);
            o.numBeams = 3;
            assertArrayEquals(Decoder.beamSearch(new Gpt2Lm(g, false), PROMPT, o),
                    Decoder.beamSearch(new Gpt2Lm(g, true), PROMPT, o));
        }
    }

    @Test
    void leftPaddedBatchEqualsOneByOne() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(TestSupport.shared("fixtures/gpt2-tiny-sharp"), m);
            GenerationOptions o = new GenerationOptions();
            o.maxNewTokens = 10;
            List<long[]> prompts = List.of(PROMPT, new long[] {9, 8}, new long[] {3, 3, 3, 3, 3, 3});
            List<long[]> batched = Decoder.sampleOrGreedy(new Gpt2Lm(g, true), prompts, o);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(prompts.get(i)), o).get(0),
                        batched.get(i), "prompt " + i);
            }
        }
    }

    @Test
    void noRepeatNgramBlocksRepeats() {
        // an LM that loves the cycle 1 → 2 → 1 → 2 …
        double[][] t = new double[4][4];
        t[1] = new double[] {0.01, 0.01, 0.9, 0.08};
        t[2] = new double[] {0.01, 0.9, 0.01, 0.08};
        t[3] = new double[] {0.01, 0.5, 0.4, 0.09};
        t[0] = new double[] {0.01, 0.5, 0.4, 0.09};
        GenerationOptions o = opts(12);
        o.eosTokenId = null;
        long[] free = Decoder.sampleOrGreedy(new BigramLm(t), List.of(new long[] {3}), o).get(0);
        assertTrue(hasRepeatedBigram(free), "without the rule the LM repeats: " + Arrays.toString(free));
        o.noRepeatNgramSize = 2;
        for (int beams : new int[] {1, 3}) {
            o.numBeams = beams;
            long[] out = beams == 1 ? Decoder.sampleOrGreedy(new BigramLm(t), List.of(new long[] {3}), o).get(0)
                    : Decoder.beamSearch(new BigramLm(t), new long[] {3}, o);
            long[] withPrompt = new long[out.length + 1];
            withPrompt[0] = 3;
            System.arraycopy(out, 0, withPrompt, 1, out.length);
            assertFalse(hasRepeatedBigram(withPrompt), beams + " beam(s): " + Arrays.toString(withPrompt));
        }
    }

    static boolean hasRepeatedBigram(long[] s) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i + 1 < s.length; i++) if (!seen.add(s[i] + "," + s[i + 1])) return true;
        return false;
    }

    @Test
    void sameSeedSameSampleAndTopKOneIsGreedy() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(TestSupport.shared("fixtures/gpt2-tiny-sharp"), m);
            GenerationOptions o = new GenerationOptions();
            o.maxNewTokens = 15;
            o.doSample = true;
            o.temperature = 1.5f;
            o.seed = 7;
            long[] a = Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), o).get(0);
            long[] b = Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), o).get(0);
            assertArrayEquals(a, b);
            o.seed = 8;
            long[] c = Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), o).get(0);
            assertFalse(Arrays.equals(a, c), "different seeds should give different samples at temperature 1.5");
            o.topK = 1;
            GenerationOptions greedy = new GenerationOptions();
            greedy.maxNewTokens = 15;
            assertArrayEquals(Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), greedy).get(0),
                    Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), o).get(0));
        }
    }

    @Test
    void minNewTokensDelaysEos() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(TestSupport.shared("fixtures/gpt2-tiny-sharp"), m);
            GenerationOptions o = new GenerationOptions();
            o.maxNewTokens = 8;
            long first = Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), o).get(0)[0];
            o.eosTokenId = (int) first; // the token greedy emits first now ends the sequence at once
            assertEquals(1, Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), o).get(0).length);
            o.minNewTokens = 4;
            long[] out = Decoder.sampleOrGreedy(new Gpt2Lm(g, true), List.of(PROMPT), o).get(0);
            assertTrue(out.length >= 4, Arrays.toString(out));
            for (int i = 0; i < 4; i++) assertTrue(out[i] != first, "EOS before min_new_tokens: " + Arrays.toString(out));
        }
    }
}
