package dev.kiln.io;

import dev.kiln.nn.HostTensor;
import ai.djl.ndarray.NDManager;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Strict loading: a checkpoint that lacks a tensor the model needs, holds a NaN/Inf weight or is a
 * pickle never runs as a model; heads that are new by design load with one notice line.
 */
class StrictLoadingTest {
    @TempDir
    Path tmp;

    /** A copy of the GPT-2 fixture with its tensors edited by {@code edit}. */
    private Path gpt2Copy(String name, Consumer<Map<String, HostTensor>> edit) throws IOException {
        Path src = TestSupport.shared("fixtures/gpt2-tiny");
        Map<String, HostTensor> t = new LinkedHashMap<>(SafeTensors.readCheckpoint(src));
        edit.accept(t);
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafeTensors.write(dir.resolve("model.safetensors"), t, null);
        return dir;
    }

    /** A random 2-layer BERT folder (no tokenizer files) with its tensors edited by {@code edit}. */
    private Path bertCopy(String name, Consumer<Map<String, HostTensor>> edit) throws IOException {
        BertConfig c = new BertConfig();
        c.vocabSize = 100;
        c.numHiddenLayers = 2;
        c.hiddenSize = 32;
        c.numAttentionHeads = 4;
        c.intermediateSize = 64;
        c.maxPositionEmbeddings = 32;
        Path dir = tmp.resolve(name);
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = new BertModel(c, new Parameters(m, 1, c.initializerRange), BertModel.Heads.encoderOnly());
            HfFolder.save(b, dir, null);
        }
        Map<String, HostTensor> t = new LinkedHashMap<>(SafeTensors.readCheckpoint(dir));
        edit.accept(t);
        SafeTensors.write(dir.resolve("model.safetensors"), t, null);
        return dir;
    }

    /** What {@code r} printed on stderr. */
    private static String stderrOf(ThrowingRunnable r) throws IOException {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setErr(old);
        }
        String s = buf.toString(StandardCharsets.UTF_8);
        old.print(s);
        return s;
    }

    interface ThrowingRunnable {
        void run() throws IOException;
    }

    private static void oneLine(String msg) {
        assertFalse(msg.contains("\n"), "one line: " + msg);
    }

    @Test
    void missingGpt2TensorsAreAnErrorNamingThem() throws IOException {
        for (String key : List.of("transformer.wte.weight", "transformer.ln_f.weight", "transformer.h.1.attn.c_attn.weight")) {
            Path dir = gpt2Copy("no-" + key, t -> assertTrue(t.remove(key) != null, key));
            try (NDManager m = NDManager.newBaseManager()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfFolder.loadGpt2(dir, m));
                String msg = e.getMessage();
                oneLine(msg);
                assertTrue(msg.startsWith(dir.toString()), msg);
                assertTrue(msg.contains("lacks 1 tensor the model needs: " + key + ";"), msg);
            }
        }
        // through the CLI: the same message, a usage error (exit code 2), no perplexity printed
        Path dir = gpt2Copy("no-wte-cli", t -> t.remove("transformer.wte.weight"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RuntimeException e = assertThrows(dev.kiln.cli.KilnCli.UsageException.class, () -> dev.kiln.cli.KilnCli.run(
                new String[] {"score", dir.toString(), "--ids", "1,5,42,7", "--device", "cpu"}, new PrintStream(out)));
        assertTrue(e.getMessage().contains("transformer.wte.weight"), e.getMessage());
        assertEquals(0, out.size(), "nothing on stdout");
    }

    @Test
    void manyMissingTensorsAreListedCompactly() throws IOException {
        Path dir = gpt2Copy("no-layer-1", t -> t.keySet().removeIf(k -> k.startsWith("transformer.h.1.")));
        try (NDManager m = NDManager.newBaseManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfFolder.loadGpt2(dir, m));
            oneLine(e.getMessage());
            assertTrue(e.getMessage().contains("lacks 12 tensors the model needs: transformer.h.1."), e.getMessage());
            assertTrue(e.getMessage().contains("… (12 in all)"), e.getMessage());
        }
    }

    @Test
    void missingBertLayerWeightIsAnError() throws IOException {
        String key = "bert.encoder.layer.1.attention.self.query.weight";
        Path dir = bertCopy("bert-no-query", t -> assertTrue(t.remove(key) != null, key));
        try (NDManager m = NDManager.newBaseManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly()));
            oneLine(e.getMessage());
            assertTrue(e.getMessage().contains("lacks 1 tensor the model needs: " + key), e.getMessage());
            // the backbone a task fine-tunes is just as strict
            assertThrows(IllegalArgumentException.class, () -> HfFolder.loadBackbone(dir, m, null));
        }
    }

    @Test
    void unexpectedTensorsAreOneNoticeAndLoad() throws IOException {
        Path dir = gpt2Copy("extra", t -> {
            t.put("score.weight", HostTensor.ofFloats(new long[] {2, 64}, new float[128]));
            t.put("transformer.h.9.attn.c_attn.weight", HostTensor.ofFloats(new long[] {2}, new float[2]));
        });
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model[] g = new Gpt2Model[1];
            String err = stderrOf(() -> g[0] = HfFolder.loadGpt2(dir, m));
            assertEquals(List.of("score.weight", "transformer.h.9.attn.c_attn.weight"), g[0].loadReport.unexpected);
            assertTrue(g[0].loadReport.missing.isEmpty());
            assertEquals(1, err.lines().count(), err);
            assertTrue(err.startsWith("note: " + dir + ": 2 checkpoint tensors not used by the model: score.weight, "
                    + "transformer.h.9.attn.c_attn.weight"), err);
            // a fine-tuned folder's head tensors are loaded by the head afterwards: no notice
            String quiet = stderrOf(() -> HfFolder.loadBackbone(dir, m, 0f, HfFolder.Strictness.TASK_FOLDER));
            assertEquals("", quiet);
        }
    }

    @Test
    void nonFiniteWeightsAreAnErrorNamingTheTensor() throws IOException {
        float[] bad = {Float.NaN, Float.POSITIVE_INFINITY};
        for (float v : bad) {
            Path dir = gpt2Copy("nan-" + v, t -> {
                HostTensor w = t.get("transformer.h.0.mlp.c_fc.weight");
                float[] f = w.toFloats();
                f[17] = v;
                t.put("transformer.h.0.mlp.c_fc.weight", HostTensor.ofFloats(w.shape(), f));
            });
            try (NDManager m = NDManager.newBaseManager()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfFolder.loadGpt2(dir, m));
                oneLine(e.getMessage());
                assertTrue(e.getMessage().startsWith(dir + ": checkpoint tensor transformer.h.0.mlp.c_fc.weight has 1 NaN/Inf value"),
                        e.getMessage());
            }
        }
        // a BERT in half precision too (the check runs after widening)
        Path dir = bertCopy("bert-nan", t -> {
            HostTensor w = t.get("bert.embeddings.LayerNorm.weight");
            ByteBufferHalf.put(t, "bert.embeddings.LayerNorm.weight", w, Float.NaN);
        });
        try (NDManager m = NDManager.newBaseManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly()));
            assertTrue(e.getMessage().contains("checkpoint tensor bert.embeddings.LayerNorm.weight has 1 NaN/Inf value"), e.getMessage());
        }
    }

    /** Writes {@code w} as F16 with its first value replaced. */
    static final class ByteBufferHalf {
        static void put(Map<String, HostTensor> t, String key, HostTensor w, float first) {
            float[] f = w.toFloats();
            f[0] = first;
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(f.length * 2).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (float x : f) b.putShort(HostTensor.floatToHalf(x));
            b.flip();
            t.put(key, new HostTensor(HostTensor.DType.F16, w.shape(), b));
        }
    }

    @Test
    void pickleOnlyFolderSaysHowToConvert() throws IOException {
        Path src = TestSupport.shared("fixtures/gpt2-tiny");
        Path dir = Files.createDirectories(tmp.resolve("pickle"));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {'P', 'K', 3, 4});
        try (NDManager m = NDManager.newBaseManager()) {
            IOException e = assertThrows(IOException.class, () -> HfFolder.loadGpt2(dir, m));
            String msg = e.getMessage();
            oneLine(msg);
            assertTrue(msg.startsWith(dir + ": has only pickle weights (pytorch_model.bin)"), msg);
            assertTrue(msg.contains("pickle checkpoints are not loaded"), msg);
            assertTrue(msg.contains("safetensors.torch import save_file"), msg);
            assertTrue(msg.contains("weights_only=True"), msg);
            assertTrue(msg.contains(dir.toAbsolutePath() + "/model.safetensors"), msg);
            assertTrue(msg.contains("safe_serialization=True"), msg);
        }
    }

    @Test
    void headsNewByDesignLoadWithOneNotice() throws IOException {
        Path miniLm = TinyModels.miniLmFolder();
        try (NDManager m = NDManager.newBaseManager()) {
            // fine-tuning: the encoder (MiniLM has no pooler), the task head is added afterwards
            String quiet = stderrOf(() -> HfFolder.loadBackbone(miniLm, m, null));
            assertFalse(quiet.contains("note:"), quiet);
            // pre-training from an encoder-only checkpoint: pooler, MLM and NSP heads are new
            BertModel[] b = new BertModel[1];
            String err = stderrOf(() -> b[0] = HfFolder.loadBert(miniLm, m, BertModel.Heads.all(), null,
                    HfFolder.Strictness.NEW_HEADS));
            assertEquals(1, err.lines().count(), err);
            assertTrue(err.startsWith("note: " + miniLm + ": not in the checkpoint, new and randomly initialised: "
                    + "bert.pooler.* (pooler), cls.predictions.* (masked-LM head), cls.seq_relationship.* (next-sentence head)"), err);
            assertTrue(b[0].mlm != null && b[0].nsp != null);
            // anywhere else a head that is asked for must be there (fill-mask needs a trained MLM head)
            BertModel.Heads mlm = BertModel.Heads.encoderOnly();
            mlm.mlm = true;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfFolder.loadBert(miniLm, m, mlm));
            assertTrue(e.getMessage().contains("has no masked-LM head (cls.predictions.* tensors)"), e.getMessage());
            // a partly present head is not new: its missing tensors are named
            Path partial = bertCopy("partial-mlm", t -> { });
            try (NDManager m2 = NDManager.newBaseManager()) {
                BertModel.Heads h = BertModel.Heads.encoderOnly();
                h.mlm = true;
                BertModel full = new BertModel(HfFolder.loadBert(partial, m2, null).config,
                        new Parameters(m2, 3, 0.02f), h);
                LinkedHashMap<String, HostTensor> sd = full.params.stateDict();
                sd.remove("cls.predictions.transform.dense.weight");
                SafeTensors.write(partial.resolve("model.safetensors"), sd, null);
            }
            IllegalArgumentException pe = assertThrows(IllegalArgumentException.class, () -> HfFolder.loadBert(partial, m, mlm,
                    null, HfFolder.Strictness.NEW_HEADS));
            assertTrue(pe.getMessage().contains("lacks 1 tensor the model needs: cls.predictions.transform.dense.weight"),
                    pe.getMessage());
        }
        // a classification run from MiniLM (a base checkpoint: the classifier head is new by design) starts and steps
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) lines.add("{\"text\": \"item " + i + "\", \"label\": \"" + (i % 2) + "\"}");
        Path train = Files.write(tmp.resolve("train.jsonl"), lines);
        Path cfg = Files.writeString(tmp.resolve("cls.json"), "{\"model\": {\"name\": \"" + miniLm + "\", \"device\": \"cpu\"},"
                + "\"task\": {\"type\": \"classification\"}, \"data\": {\"train\": \"" + train + "\", \"max_length\": 8},"
                + "\"training\": {\"batch_size\": 4}, \"output\": {\"dir\": \"" + tmp.resolve("run") + "\"}}");
        String dry = stderrOf(() -> assertTrue(dev.kiln.Kiln.training(cfg).dryRun().parameters() > 0));
        assertFalse(dry.contains("note:"), dry);
        // the GPT-2 fixture as a fine-tuning backbone
        try (NDManager m = NDManager.newBaseManager()) {
            String err = stderrOf(() -> HfFolder.loadBackbone(TestSupport.shared("fixtures/gpt2-tiny"), m, null));
            assertFalse(err.contains("note:"), err);
        }
    }
}
