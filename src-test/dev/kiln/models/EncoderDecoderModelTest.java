package dev.kiln.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TestSupport;
import dev.kiln.generate.Decoder;
import dev.kiln.models.encdec.EncoderDecoderLm;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.io.HfFolder;
import dev.kiln.io.SafeTensors;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.encdec.EncoderDecoderArchitecture;
import dev.kiln.models.encdec.EncoderDecoderModel;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The BERT-to-BERT encoder-decoder (HF EncoderDecoderModel): names, a numpy reference, the KV cache, masking, IO. */
@ExtendWith(OneThreadWhenBusy.class)
class EncoderDecoderModelTest {
    static final int VOCAB = 97;
    static final int START = 1;
    static final int PAD = 0;
    static final int EOS = 2;
    static final long[] SRC_A = {1, 17, 23, 5, 42, 8, 61, 9, 2};
    static final long[] SRC_B = {1, 33, 4, 2};
    static final long[] TGT = {1, 12, 40, 7, 88, 3};

    /** A random 2-layer BERT (hidden 32, 4 heads, vocab 97, relu or gelu) as a folder. */
    static Path tinyBert(Path dir) throws IOException {
        BertConfig c = new BertConfig();
        c.vocabSize = VOCAB;
        c.numHiddenLayers = 2;
        c.hiddenSize = 32;
        c.numAttentionHeads = 4;
        c.intermediateSize = 64;
        c.maxPositionEmbeddings = 64;
        try (NDManager m = NDManager.newBaseManager()) {
            HfFolder.save(new BertModel(c, new Parameters(m, 7, c.initializerRange), BertModel.Heads.encoderOnly()), dir, null);
        }
        return dir;
    }

    static EncoderDecoderModel warm(Path bert, NDManager m, boolean share) throws IOException {
        return EncoderDecoderArchitecture.warmStart(bert, m, share, 0f, START, PAD, EOS);
    }

    /**
     * Every weight to N(0, 0.3) (LayerNorm gains 1 + N(0, 0.3)): with BERT's 0.02 init attention is nearly uniform and
     * zero biases hide bias bugs, so a reference comparison on the init would prove little.
     */
    static void sharpen(EncoderDecoderModel model, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (Map.Entry<String, NDArray> e : model.params.all().entrySet()) {
            float[] v = new float[Math.toIntExact(e.getValue().size())];
            boolean gain = e.getKey().endsWith("LayerNorm.weight");
            for (int i = 0; i < v.length; i++) v[i] = (float) ((gain ? 1 : 0) + 0.3 * r.nextGaussian());
            e.getValue().set(v);
        }
    }

    static float[] logits(EncoderDecoderModel model, long[][] src, long[][] mask, long[][] tgt) {
        try (NDManager m = model.params.manager().newSubManager()) {
            return model.forward(m.create(src), m.create(mask), m.create(tgt), null, false).toFloatArray();
        }
    }

    static long[][] ones(long[][] ids) {
        long[][] m = new long[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            m[i] = new long[ids[i].length];
            java.util.Arrays.fill(m[i], 1);
        }
        return m;
    }

    @Test
    void parameterNamesAndConfigAreHfEncoderDecoderModels(@TempDir Path tmp) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            EncoderDecoderModel model = warm(tinyBert(tmp.resolve("bert")), m, false);
            var keys = model.params.all().keySet();
            // spelled as HF's EncoderDecoderModel(BertModel, BertLMHeadModel) state_dict
            for (String k : List.of("encoder.embeddings.word_embeddings.weight", "encoder.encoder.layer.1.attention.self.query.weight",
                    "encoder.encoder.layer.0.output.LayerNorm.bias", "decoder.bert.embeddings.position_embeddings.weight",
                    "decoder.bert.encoder.layer.0.attention.output.dense.weight",
                    "decoder.bert.encoder.layer.1.crossattention.self.key.bias",
                    "decoder.bert.encoder.layer.1.crossattention.output.LayerNorm.weight",
                    "decoder.bert.encoder.layer.0.intermediate.dense.weight", "decoder.cls.predictions.bias",
                    "decoder.cls.predictions.transform.dense.weight", "decoder.cls.predictions.transform.LayerNorm.bias")) {
                assertTrue(keys.contains(k), k + " missing from " + keys);
            }
            assertFalse(keys.contains("decoder.cls.predictions.decoder.weight"), "the LM head is tied to the word embeddings");
            assertFalse(keys.stream().anyMatch(k -> k.contains("pooler")), "EncoderDecoderModel reads no pooler");
            // warm start: the BERT weights on both sides equal the checkpoint's
            var bert = SafeTensors.readCheckpoint(tmp.resolve("bert"));
            String src = bert.containsKey("encoder.layer.1.attention.self.query.weight")
                    ? "encoder.layer.1.attention.self.query.weight" : "bert.encoder.layer.1.attention.self.query.weight";
            try (NDManager t = NDManager.newBaseManager()) {
                float[] want = bert.get(src).toNDArray(t).toFloatArray();
                assertArrayEquals(want, model.params.get("encoder.encoder.layer.1.attention.self.query.weight").toFloatArray());
                assertArrayEquals(want, model.params.get("decoder.bert.encoder.layer.1.attention.self.query.weight").toFloatArray());
            }

            EncoderDecoderArchitecture.save(model, tmp.resolve("out"), null);
            JsonObject cfg = JsonParser.parseString(Files.readString(tmp.resolve("out/config.json"))).getAsJsonObject();
            assertEquals("encoder-decoder", cfg.get("model_type").getAsString());
            assertEquals("EncoderDecoderModel", cfg.getAsJsonArray("architectures").get(0).getAsString());
            assertTrue(cfg.get("is_encoder_decoder").getAsBoolean());
            assertEquals(START, cfg.get("decoder_start_token_id").getAsInt());
            assertEquals(PAD, cfg.get("pad_token_id").getAsInt());
            assertTrue(cfg.getAsJsonObject("decoder").get("is_decoder").getAsBoolean());
            assertTrue(cfg.getAsJsonObject("decoder").get("add_cross_attention").getAsBoolean());
            assertFalse(cfg.getAsJsonObject("encoder").get("is_decoder").getAsBoolean());
            assertEquals("bert", cfg.getAsJsonObject("encoder").get("model_type").getAsString());
            assertEquals("encoder-decoder", Architectures.of(tmp.resolve("out")).modelType());
        }
    }

    @Test
    void sharedModelKeepsOneCopyOfBertAndItsOwnCrossAttention(@TempDir Path tmp) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            EncoderDecoderModel shared = warm(tinyBert(tmp.resolve("bert")), m, true);
            EncoderDecoderModel separate = warm(tmp.resolve("bert"), m, false);
            var keys = shared.params.all().keySet();
            assertFalse(keys.stream().anyMatch(k -> k.startsWith("decoder.bert.embeddings.")
                    || k.startsWith("decoder.bert.") && !k.contains(".crossattention.")), keys.toString());
            assertTrue(keys.contains("decoder.bert.encoder.layer.0.crossattention.self.query.weight"));
            long bertPart = separate.params.all().keySet().stream().filter(k -> k.startsWith("decoder.bert.") && !k.contains("crossattention"))
                    .mapToLong(k -> separate.params.get(k).size()).sum();
            assertEquals(separate.params.count() - bertPart, shared.params.count());
            // the decoder really runs on the encoder's weights: changing one changes the decoder's output
            long[][] src = {SRC_A};
            long[][] tgt = {TGT};
            float[] before = logits(shared, src, ones(src), tgt);
            NDArray w = shared.params.get("encoder.encoder.layer.1.output.dense.weight");
            w.set(scaled(w.toFloatArray(), 3f));
            assertTrue(TestSupport.maxAbsDiff(before, logits(shared, src, ones(src), tgt)) > 1e-3f);
        }
    }

    static float[] scaled(float[] a, float s) {
        float[] o = a.clone();
        for (int i = 0; i < o.length; i++) o[i] *= s;
        return o;
    }

    /**
     * MFU's numerator for seq2seq, against a count by hand from the config (L 2, d 32, f 64, V 97): 6 FLOPs per
     * parameter a token meets, an article token the encoder (and the cross-attention K/V projections of each decoder
     * layer), a decoder position the decoder layers, a target the LM head with its tied table; no embedding table;
     * 12·d per query-key pair scored. The same count with bert2bert-share (shared layers still run on both sides).
     */
    @Test
    void trainingFlopsCountEachSidesTokensAgainstItsOwnParameters(@TempDir Path tmp) throws IOException {
        Path bert = tinyBert(tmp.resolve("bert"));
        long d = 32, f = 64, v = VOCAB, layers = 2;
        long rows = 3, s = 11, t = 5, targets = 13;
        long bertLayer = 4 * (d * d + d) + 2 * d + (d * f + f) + (f * d + d) + 2 * d; // Q K V O, LN, FFN, LN
        long crossQo = 2 * (d * d + d) + 2 * d;  // cross-attention query and output dense, its LayerNorm
        long crossKv = 2 * (d * d + d);          // run on the article's states
        long embLn = 2 * d;                      // the tables are looked up; the embeddings' LayerNorm runs per token
        long head = (d * d + d) + 2 * d + v * d + v; // transform, LayerNorm, tied decoder and its bias
        double want = 6.0 * (rows * s * (embLn + layers * (bertLayer + crossKv))
                + rows * t * (embLn + layers * (bertLayer + crossQo)) + targets * head)
                + 12.0 * d * layers * s * rows * s       // encoder self-attention, S×S per row
                + 12.0 * d * layers * (t + s) * rows * t; // decoder self (T×T) and cross (T×S) attention
        try (NDManager m = NDManager.newBaseManager()) {
            EncoderDecoderModel separate = warm(bert, m, false);
            assertEquals(want, separate.trainingFlops(rows, s, t, targets), 0.0);
            assertEquals(want, warm(bert, m, true).trainingFlops(rows, s, t, targets), 0.0);
            // every parameter is counted once except the three lookup tables per side (the tied one counts in the head)
            long tables = 2 * ((v + 64 + 2) * d);
            assertEquals(separate.params.count() - tables + v * d,
                    2 * embLn + layers * (2 * bertLayer + crossQo + crossKv) + head);
        }
    }

    /** Compares our forward with encdec_reference.py (numpy, float64), when python3 with numpy is there. */
    @Test
    void forwardMatchesAnIndependentNumpyImplementation(@TempDir Path tmp) throws Exception {
        Path script = pythonScript("encdec_reference.py", "numpy", tmp);
        Path bert = tinyBert(tmp.resolve("bert"));
        for (boolean share : new boolean[] {false, true}) {
            try (NDManager m = NDManager.newBaseManager()) {
                EncoderDecoderModel model = warm(bert, m, share);
                sharpen(model, share ? 11 : 12);
                Path dir = tmp.resolve("model-" + share);
                EncoderDecoderArchitecture.save(model, dir, null);
                long[][] src = {SRC_A, {SRC_B[0], SRC_B[1], SRC_B[2], SRC_B[3], 0, 0, 0, 0, 0}};
                long[][] mask = {ones(new long[][] {SRC_A})[0], {1, 1, 1, 1, 0, 0, 0, 0, 0}};
                long[][] tgt = {TGT, {1, 5, 6, 7, 8, 9}};
                JsonObject in = new JsonObject();
                in.add("src", json(src));
                in.add("src_mask", json(mask));
                in.add("tgt", json(tgt));
                Files.writeString(tmp.resolve("in.json"), in.toString());
                Path out = tmp.resolve("out.json");
                assertEquals(0, run(List.of("python3", script.toString(), dir.toString(), tmp.resolve("in.json").toString(),
                        out.toString()), tmp), "reference script failed");
                JsonArray ref = JsonParser.parseString(Files.readString(out)).getAsJsonObject().getAsJsonArray("logits");
                float[] want = new float[2 * TGT.length * VOCAB];
                int n = 0;
                for (var b : ref) for (var t : b.getAsJsonArray()) for (var v : t.getAsJsonArray()) want[n++] = v.getAsFloat();
                float[] got = logits(model, src, mask, tgt);
                float d = TestSupport.maxAbsDiff(want, got);
                System.err.println("encoder-decoder vs numpy float64, share=" + share + ": max |diff| " + d);
                assertTrue(d < 1e-4f, "share=" + share + ": max |ours - numpy| = " + d);
                float spread = 0;
                for (float v : want) spread = Math.max(spread, Math.abs(v));
                assertTrue(spread > 1f, "reference logits too flat to test anything: " + spread);
            }
        }
    }

    /**
     * HF's EncoderDecoderModel.from_pretrained on our folder, by its rules re-implemented without transformers
     * (hf_encdec_load_check.py): every stored key is one HF expects, with HF's shape; nothing is missing but BertModel's
     * pooler (never read by EncoderDecoderModel; HF initialises it and warns); tied keys are HF's.
     */
    @Test
    void hfFromPretrainedFindsEveryKeyItExpects(@TempDir Path tmp) throws Exception {
        Path script = pythonScript("hf_encdec_load_check.py", "json", tmp);
        Path bert = tinyBert(tmp.resolve("bert"));
        for (boolean share : new boolean[] {false, true}) {
            Path dir = tmp.resolve("saved-" + share);
            try (NDManager m = NDManager.newBaseManager()) {
                EncoderDecoderArchitecture.save(warm(bert, m, share), dir, null);
            }
            JsonObject r = hfCheck(script, dir, tmp);
            assertEquals(0, r.getAsJsonArray("config_errors").size(), r.toString());
            assertEquals(0, r.getAsJsonArray("unexpected").size(), r.toString());
            assertEquals(0, r.getAsJsonArray("mismatched").size(), r.toString());
            assertEquals("[\"encoder.pooler.dense.bias\",\"encoder.pooler.dense.weight\"]", r.getAsJsonArray("missing").toString());
            assertFalse(r.get("enc_to_dec_proj").getAsBoolean());
            // shared: the decoder's BERT is tied to the encoder's, so far fewer tensors are stored
            assertTrue(share ? r.get("tied").getAsInt() > 30 : r.get("tied").getAsInt() == 2, r.toString());
        }
        // the check can fail: a decoder without add_cross_attention, or a key HF does not know
        Path dir = tmp.resolve("saved-false");
        JsonObject c = JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
        c.getAsJsonObject("decoder").remove("add_cross_attention");
        Files.writeString(dir.resolve("config.json"), c.toString());
        JsonObject r = hfCheck(script, dir, tmp);
        assertTrue(r.getAsJsonArray("config_errors").toString().contains("add_cross_attention"), r.toString());
        assertTrue(r.getAsJsonArray("unexpected").toString().contains("crossattention"), r.toString());
    }

    static JsonObject hfCheck(Path script, Path dir, Path tmp) throws Exception {
        assertEquals(0, run(List.of("python3", script.toString(), dir.toString()), tmp), "hf_encdec_load_check.py failed");
        List<String> lines = Files.readAllLines(tmp.resolve("python.log"));
        return JsonParser.parseString(lines.get(lines.size() - 1)).getAsJsonObject();
    }

    /** A script beside this test, skipping the test without it or without python3 and {@code module}. */
    static Path pythonScript(String name, String module, Path tmp) throws Exception {
        Path script = Path.of("src-test/dev/kiln/models", name);
        Assumptions.assumeTrue(Files.isRegularFile(script), "skipped: " + script + " not found (run from the project root)");
        Assumptions.assumeTrue(run(List.of("python3", "-c", "import " + module), tmp) == 0, "skipped: python3 with " + module + " unavailable");
        return script;
    }

    static JsonArray json(long[][] a) {
        JsonArray o = new JsonArray();
        for (long[] r : a) {
            JsonArray x = new JsonArray();
            for (long v : r) x.add(v);
            o.add(x);
        }
        return o;
    }

    static int run(List<String> cmd, Path dir) throws IOException, InterruptedException {
        try {
            Process p = new ProcessBuilder(cmd).directory(null).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("python.log").toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroy();
                return -1;
            }
            if (p.exitValue() != 0) System.err.println(Files.readString(dir.resolve("python.log")));
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        }
    }

    @Test
    void cachedDecodingEqualsFullRecomputationTokenForToken(@TempDir Path tmp) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            for (boolean share : new boolean[] {false, true}) {
                EncoderDecoderModel model = warm(tinyBert(tmp.resolve("bert-" + share)), m, share);
                sharpen(model, 5);
                GenerationOptions o = new GenerationOptions();
                o.maxNewTokens = 20;
                o.minNewTokens = 20; // EOS banned: all 20 steps are compared
                List<long[]> sources = List.of(SRC_A, SRC_B); // of different lengths: the batch pads SRC_B
                List<long[]> cached = EncoderDecoderLm.generate(model, sources, o, true);
                List<long[]> full = EncoderDecoderLm.generate(model, sources, o, false);
                for (int i = 0; i < 2; i++) {
                    assertEquals(20, cached.get(i).length);
                    assertArrayEquals(full.get(i), cached.get(i), "greedy, row " + i + ", share=" + share);
                }
                // a batch row equals the same source decoded alone (padding of the other row changes nothing)
                assertArrayEquals(cached.get(1), EncoderDecoderLm.generate(model, List.of(SRC_B), o, true).get(0));
                // beam search reorders the cache (self- and cross-attention) every step
                GenerationOptions beam = o.copy();
                beam.numBeams = 3;
                beam.noRepeatNgramSize = 2;
                beam.minNewTokens = 0;
                beam.maxNewTokens = 12;
                assertArrayEquals(EncoderDecoderLm.generate(model, SRC_A, beam, false),
                        EncoderDecoderLm.generate(model, SRC_A, beam, true), "beam search, share=" + share);
                // step logits: cached vs full pass
                try (EncoderDecoderLm c = new EncoderDecoderLm(model, List.of(SRC_A), true);
                     EncoderDecoderLm f = new EncoderDecoderLm(model, List.of(SRC_A), false)) {
                    long[][] p = c.startPrompts();
                    float[][] a = c.start(p, ones(p));
                    float[][] b = f.start(p, ones(p));
                    try (EncoderDecoderLm other = new EncoderDecoderLm(model, List.of(SRC_B), true)) {
                        assertTrue(TestSupport.maxAbsDiff(a[0], other.start(p, ones(p))[0]) > 1e-3f, "the source must matter");
                    }
                    for (int step = 0; step < 8; step++) {
                        assertTrue(TestSupport.maxAbsDiff(a[0], b[0]) < 1e-4f, "step " + step);
                        long tok = 3 + step * 7;
                        a = c.next(new long[] {tok});
                        b = f.next(new long[] {tok});
                    }
                }
            }
        }
    }

    @Test
    void inputVocabularyOnlyWritesOnlyTheSourcesTokens(@TempDir Path tmp) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            EncoderDecoderModel model = warm(tinyBert(tmp.resolve("bert")), m, false);
            sharpen(model, 5);
            GenerationOptions o = new GenerationOptions();
            o.maxNewTokens = 12;
            o.minNewTokens = 12;
            List<long[]> free = EncoderDecoderLm.generate(model, List.of(SRC_A, SRC_B), o, true);
            o.inputVocabularyOnly = true;
            List<long[]> held = EncoderDecoderLm.generate(model, List.of(SRC_A, SRC_B), o, true);
            GenerationOptions beam = o.copy();
            beam.numBeams = 3;
            beam.minNewTokens = 0;
            long[] beamA = EncoderDecoderLm.generate(model, SRC_A, beam, true);
            boolean freeLeaves = false;
            for (int i = 0; i < 2; i++) {
                java.util.Set<Long> source = new java.util.HashSet<>();
                for (long t : i == 0 ? SRC_A : SRC_B) source.add(t);
                for (long t : free.get(i)) freeLeaves |= !source.contains(t);
                assertEquals(12, held.get(i).length, "row " + i);
                for (long t : held.get(i)) assertTrue(source.contains(t), "row " + i + " wrote " + t + ", not in its source");
                if (i == 0) for (long t : beamA) assertTrue(source.contains(t), "beam search wrote " + t);
            }
            assertTrue(freeLeaves, "without the restriction the model writes tokens outside its source");
        }
    }

    @Test
    void crossAttentionIgnoresEncoderPadding(@TempDir Path tmp) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            EncoderDecoderModel model = warm(tinyBert(tmp.resolve("bert")), m, false);
            sharpen(model, 3);
            long[][] tgt = {TGT};
            float[] alone = logits(model, new long[][] {SRC_B}, new long[][] {{1, 1, 1, 1}}, tgt);
            long[][] mask = {{1, 1, 1, 1, 0, 0, 0}};
            float[] padded = logits(model, new long[][] {{1, 33, 4, 2, 0, 0, 0}}, mask, tgt);
            float[] otherPad = logits(model, new long[][] {{1, 33, 4, 2, 50, 60, 70}}, mask, tgt);
            assertTrue(TestSupport.maxAbsDiff(alone, padded) < 1e-5f, "padding changed the output");
            assertTrue(TestSupport.maxAbsDiff(padded, otherPad) < 1e-5f, "padding content changed the output");
            // the same tokens unmasked do change it: the check can fail
            float[] unmasked = logits(model, new long[][] {{1, 33, 4, 2, 50, 60, 70}}, new long[][] {{1, 1, 1, 1, 1, 1, 1}}, tgt);
            assertTrue(TestSupport.maxAbsDiff(padded, unmasked) > 1e-3f);
        }
    }

    @Test
    void saveThenLoadGivesIdenticalOutputs(@TempDir Path tmp) throws IOException {
        Path bert = tinyBert(tmp.resolve("bert"));
        for (boolean share : new boolean[] {false, true}) {
            try (NDManager m = NDManager.newBaseManager()) {
                EncoderDecoderModel a = warm(bert, m, share);
                sharpen(a, 9);
                Path dir = tmp.resolve("saved-" + share);
                EncoderDecoderArchitecture.save(a, dir, null);
                EncoderDecoderModel b = EncoderDecoderArchitecture.load(dir, m, 0f, HfFolder.Strictness.STRICT);
                assertTrue(b.loadReport.complete(), b.loadReport.toString());
                assertEquals(share, b.config.tieEncoderDecoder);
                long[][] src = {SRC_A};
                assertArrayEquals(logits(a, src, ones(src), new long[][] {TGT}), logits(b, src, ones(src), new long[][] {TGT}));
                GenerationOptions o = new GenerationOptions();
                o.maxNewTokens = 10;
                assertArrayEquals(EncoderDecoderLm.generate(a, SRC_A, o, true), EncoderDecoderLm.generate(b, SRC_A, o, true));
                // through the registry, as tasks load it
                assertTrue(Architectures.loadBackbone(dir, m, 0f, HfFolder.Strictness.STRICT) instanceof EncoderDecoderModel);
            }
        }
    }

    /** HF PEFT's target_modules ["query", "value"] match by suffix: both sides' self-attention and the cross-attention. */
    @Test
    void loraDefaultTargetsCoverSelfAndCrossAttention(@TempDir Path tmp) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            EncoderDecoderModel model = warm(tinyBert(tmp.resolve("bert")), m, false);
            sharpen(model, 4);
            long[][] src = {SRC_A};
            float[] before = logits(model, src, ones(src), new long[][] {TGT});
            dev.kiln.peft.PeftSpec spec = new dev.kiln.peft.PeftSpec();
            spec.method = dev.kiln.peft.PeftSpec.Method.LORA;
            dev.kiln.peft.PeftModel pm = dev.kiln.peft.PeftModel.apply(spec, model);
            List<String> w = pm.wrapped();
            assertEquals(12, w.size(), w.toString()); // 2 layers x (encoder self, decoder self, cross) x (query, value)
            assertTrue(w.contains("decoder.bert.encoder.layer.1.crossattention.self.value"), w.toString());
            assertTrue(w.contains("encoder.encoder.layer.0.attention.self.query"), w.toString());
            assertTrue(model.params.has("decoder.bert.encoder.layer.0.attention.self.query.lora_A.weight"));
            // LoRA B starts at zero: the wrapped model computes what it did before
            pm.setTraining(false);
            assertTrue(TestSupport.maxAbsDiff(before, logits(model, src, ones(src), new long[][] {TGT})) < 1e-5f);
        }
    }

    @Test
    void badConfigsAreOneLineErrorsNamingTheField(@TempDir Path tmp) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            EncoderDecoderArchitecture.save(warm(tinyBert(tmp.resolve("bert")), m, false), tmp.resolve("ok"), null);
        }
        Path cfgFile = tmp.resolve("ok/config.json");
        String good = Files.readString(cfgFile);
        JsonObject c = JsonParser.parseString(good).getAsJsonObject();
        c.getAsJsonObject("decoder").addProperty("is_decoder", false);
        Files.writeString(cfgFile, c.toString());
        try (NDManager m = NDManager.newBaseManager()) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> EncoderDecoderArchitecture.load(tmp.resolve("ok"), m, null, HfFolder.Strictness.STRICT));
            assertTrue(e.getMessage().contains("config.json: decoder.is_decoder"), e.getMessage());
            c = JsonParser.parseString(good).getAsJsonObject();
            c.remove("decoder_start_token_id");
            Files.writeString(cfgFile, c.toString());
            e = assertThrows(IllegalArgumentException.class,
                    () -> EncoderDecoderArchitecture.load(tmp.resolve("ok"), m, null, HfFolder.Strictness.STRICT));
            assertTrue(e.getMessage().contains("decoder_start_token_id is missing"), e.getMessage());
        }
    }
}
