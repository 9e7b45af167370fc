package dev.kiln.models;

import dev.kiln.models.gpt2.Gpt2Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.TestSupport;
import dev.kiln.io.HfFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GPT-2 against the float64 reference outputs in ../shared/fixtures (see the README there). */
class Gpt2ModelTest {
    static final long[] IDS = {1, 5, 42, 7, 999, 3, 0, 17};

    static float[] flat(Path json, String field) throws IOException {
        JsonObject o = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        JsonArray rows = o.getAsJsonArray(field);
        int cols = rows.get(0).getAsJsonArray().size();
        float[] out = new float[rows.size() * cols];
        for (int i = 0; i < rows.size(); i++) {
            JsonArray r = rows.get(i).getAsJsonArray();
            for (int j = 0; j < cols; j++) out[i * cols + j] = r.get(j).getAsFloat();
        }
        return out;
    }

    private void checkFixture(String name, float tol) throws IOException {
        Path dir = TestSupport.shared("fixtures/" + name);
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model model = HfFolder.loadGpt2(dir, m);
            assertTrue(model.loadReport.complete(), model.loadReport.toString());
            NDArray ids = m.create(IDS).reshape(1, IDS.length);
            NDArray hidden = model.forward(ids, null, null, null, false);
            float[] h = hidden.toFloatArray();
            float[] logits = model.logits(hidden).toFloatArray();
            float dh = TestSupport.maxAbsDiff(h, flat(dir.resolve("hidden_post_ln_f.json"), "last_hidden_state"));
            float dl = TestSupport.maxAbsDiff(logits, flat(dir.resolve("logits.json"), "logits"));
            System.out.printf("%s: max |Δ| hidden %.2e, logits %.2e (tolerance %.0e)%n", name, dh, dl, tol);
            assertTrue(dh <= tol, name + " hidden states differ by " + dh);
            assertTrue(dl <= tol, name + " logits differ by " + dl);
        }
    }

    @Test
    void logitsMatchReferenceTiny() throws IOException {
        checkFixture("gpt2-tiny", 1e-5f);
    }

    @Test
    void logitsMatchReferenceSharp() throws IOException {
        checkFixture("gpt2-tiny-sharp", 1e-4f);
    }

    @Test
    void kvCacheDecodingEqualsFullRecomputation() throws IOException {
        Path dir = TestSupport.shared("fixtures/gpt2-tiny-sharp");
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model model = HfFolder.loadGpt2(dir, m);
            NDArray full = model.forwardLogits(m.create(IDS).reshape(1, IDS.length), null);
            try (Gpt2Model.KvCache cache = model.newCache(m)) {
                // a 3-token prompt, then one token at a time
                NDArray first = model.forwardLogits(m.create(new long[] {IDS[0], IDS[1], IDS[2]}).reshape(1, 3), cache);
                float worst = TestSupport.maxAbsDiff(first.toFloatArray(),
                        full.get(new NDIndex(":, 0:3, :")).toFloatArray());
                for (int t = 3; t < IDS.length; t++) {
                    NDArray step = model.forwardLogits(m.create(new long[] {IDS[t]}).reshape(1, 1), cache);
                    worst = Math.max(worst, TestSupport.maxAbsDiff(step.toFloatArray(),
                            full.get(new NDIndex(":, " + t + ":" + (t + 1) + ", :")).toFloatArray()));
                }
                assertEquals(IDS.length, cache.length());
                assertTrue(worst < 1e-4f, "cached logits differ from full pass by " + worst);
            }
        }
    }

    @Test
    void paddedBatchEqualsSingleSequences() throws IOException {
        Path dir = TestSupport.shared("fixtures/gpt2-tiny-sharp");
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model model = HfFolder.loadGpt2(dir, m);
            long[][] rows = {IDS, {7, 8, 9, 0, 0, 0, 0, 0}};
            long[] lens = {8, 3};
            NDArray ids = m.create(new long[][] {rows[0], rows[1]});
            NDArray mask = m.create(new long[][] {{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 0, 0, 0, 0, 0}});
            NDArray batched = model.logits(model.forward(ids, mask, null, null, false));
            for (int b = 0; b < 2; b++) {
                long[] one = java.util.Arrays.copyOf(rows[b], (int) lens[b]);
                NDArray single = model.forwardLogits(m.create(one).reshape(1, one.length), null);
                float d = TestSupport.maxAbsDiff(single.toFloatArray(),
                        batched.get(new NDIndex(b + ":" + (b + 1) + ", 0:" + lens[b] + ", :")).toFloatArray());
                assertTrue(d < 1e-4f, "row " + b + " differs by " + d);
            }
        }
    }

    @Test
    void saveThenLoadGivesIdenticalOutputs(@TempDir Path tmp) throws IOException {
        Path dir = TestSupport.shared("fixtures/gpt2-tiny-sharp");
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model a = HfFolder.loadGpt2(dir, m);
            Path out = tmp.resolve("export");
            HfFolder.save(a, out, dir);
            Gpt2Model b = HfFolder.loadGpt2(out, m);
            assertTrue(b.loadReport.complete(), b.loadReport.toString());
            NDArray ids = m.create(IDS).reshape(1, IDS.length);
            assertArrayEquals(a.forwardLogits(ids, null).toFloatArray(), b.forwardLogits(ids, null).toFloatArray());
            // the export keeps HF's key names and Conv1D layout
            var st = dev.kiln.io.SafeTensors.read(out.resolve("model.safetensors"));
            assertArrayEquals(new long[] {64, 192}, st.get("transformer.h.0.attn.c_attn.weight").shape());
            assertTrue(!st.containsKey("lm_head.weight"), "tied LM head must not be written twice");
        }
    }
}
