package dev.kiln.io;

import com.google.protobuf.CodedOutputStream;
import dev.kiln.models.BertConfig;
import dev.kiln.nn.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The importers' parsers on files built by hand here, byte by byte: no artifacts needed. */
class ImporterFormatsTest {

    @TempDir
    Path tmp;

    // ---- a LevelDB table writer (test side only) -----------------------------------------------------

    private static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7fL) != 0) {
            o.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
    }

    private static void fixed32(ByteArrayOutputStream o, int v) {
        o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    /** One block: prefix-compressed entries with a restart every {@code interval}, then the restart array. */
    private static byte[] block(List<Map.Entry<byte[], byte[]>> entries, int interval) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        List<Integer> restarts = new ArrayList<>();
        byte[] last = new byte[0];
        for (int i = 0; i < entries.size(); i++) {
            byte[] k = entries.get(i).getKey(), v = entries.get(i).getValue();
            int shared = 0;
            if (i % interval == 0) {
                restarts.add(o.size());
            } else {
                while (shared < Math.min(k.length, last.length) && k[shared] == last[shared]) shared++;
            }
            varint(o, shared);
            varint(o, k.length - shared);
            varint(o, v.length);
            o.write(k, shared, k.length - shared);
            o.writeBytes(v);
            last = k;
        }
        if (restarts.isEmpty()) restarts.add(0);
        for (int r : restarts) fixed32(o, r);
        fixed32(o, restarts.size());
        return o.toByteArray();
    }

    /** Appends block + trailer (type, masked crc of contents+type); returns its handle {offset, size}. */
    private static long[] appendBlock(ByteArrayOutputStream file, byte[] contents, int type) {
        long[] h = {file.size(), contents.length};
        file.writeBytes(contents);
        file.write(type);
        CRC32C crc = new CRC32C();
        crc.update(contents);
        crc.update(type);
        fixed32(file, LevelDbTable.maskCrc((int) crc.getValue()));
        return h;
    }

    private static byte[] handle(long[] h) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        varint(o, h[0]);
        varint(o, h[1]);
        return o.toByteArray();
    }

    /** A table with the (sorted) entries split over data blocks of {@code perBlock} entries. */
    static byte[] table(TreeMap<String, byte[]> kv, int perBlock, int restartInterval, int compression) {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        List<Map.Entry<byte[], byte[]>> index = new ArrayList<>();
        List<Map.Entry<byte[], byte[]>> cur = new ArrayList<>();
        List<Map.Entry<String, byte[]>> all = new ArrayList<>(kv.entrySet());
        for (int i = 0; i < all.size(); i++) {
            cur.add(Map.entry(all.get(i).getKey().getBytes(StandardCharsets.UTF_8), all.get(i).getValue()));
            if (cur.size() == perBlock || i == all.size() - 1) {
                long[] h = appendBlock(file, block(cur, restartInterval), compression);
                index.add(Map.entry(cur.get(cur.size() - 1).getKey(), handle(h)));
                cur = new ArrayList<>();
            }
        }
        long[] meta = appendBlock(file, block(List.of(), 16), 0);
        long[] idx = appendBlock(file, block(index, 1), 0);
        ByteArrayOutputStream footer = new ByteArrayOutputStream();
        footer.writeBytes(handle(meta));
        footer.writeBytes(handle(idx));
        while (footer.size() < 40) footer.write(0);
        footer.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(LevelDbTable.MAGIC).array());
        file.writeBytes(footer.toByteArray());
        return file.toByteArray();
    }

    // ---- protobuf helpers -----------------------------------------------------------------------------

    interface Body {
        void write(CodedOutputStream o) throws IOException;
    }

    static byte[] msg(Body b) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream o = CodedOutputStream.newInstance(bytes);
        b.write(o);
        o.flush();
        return bytes.toByteArray();
    }

    static byte[] bundleEntry(int dtype, long[] shape, int shard, long offset, long size, Integer crc) throws IOException {
        return msg(o -> {
            o.writeEnum(1, dtype);
            o.writeByteArray(2, msg(s -> {
                for (long d : shape) s.writeByteArray(2, msg(dim -> dim.writeInt64(1, d)));
            }));
            if (shard != 0) o.writeInt32(3, shard);
            if (offset != 0) o.writeInt64(4, offset);
            o.writeInt64(5, size);
            if (crc != null) o.writeFixed32(6, crc);
        });
    }

    static byte[] bundleHeader(int shards) throws IOException {
        return msg(o -> {
            o.writeInt32(1, shards);
            o.writeByteArray(3, msg(v -> v.writeInt32(1, 1)));
        });
    }

    // ---- LevelDB / BundleEntry ---------------------------------------------------------------------------

    @Test
    void levelDbTableWithPrefixCompressionAndSeveralBlocks() {
        TreeMap<String, byte[]> kv = new TreeMap<>();
        kv.put("", new byte[] {1, 2});
        kv.put("bert/embeddings/LayerNorm/beta", new byte[] {3});
        kv.put("bert/embeddings/LayerNorm/gamma", new byte[] {4, 5, 6});
        kv.put("bert/embeddings/word_embeddings", new byte[0]);
        kv.put("bert/encoder/layer_0/attention/self/query/kernel", new byte[300]);
        kv.put("global_step", new byte[] {7});
        byte[] t = table(kv, 4, 2, 0);
        LinkedHashMap<String, byte[]> read = LevelDbTable.read(t);
        assertEquals(new ArrayList<>(kv.keySet()), new ArrayList<>(read.keySet()));
        for (String k : kv.keySet()) assertArrayEquals(kv.get(k), read.get(k), k);
    }

    @Test
    void levelDbTableErrors() {
        TreeMap<String, byte[]> kv = new TreeMap<>(Map.of("a", new byte[] {1}, "ab", new byte[] {2}));
        var compressed = assertThrows(IllegalArgumentException.class, () -> LevelDbTable.read(table(kv, 8, 16, 1)));
        assertTrue(compressed.getMessage().contains("compressed") && compressed.getMessage().contains("snappy"), compressed.getMessage());

        byte[] bad = table(kv, 8, 16, 0);
        bad[bad.length - 1] ^= 1;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LevelDbTable.read(bad)).getMessage().contains("magic"));

        byte[] corrupt = table(kv, 8, 16, 0);
        corrupt[3] ^= 0x40; // inside the first data block
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LevelDbTable.read(corrupt)).getMessage().contains("CRC32C"));

        assertThrows(IllegalArgumentException.class, () -> LevelDbTable.read(new byte[10]));
    }

    @Test
    void crcMaskRoundTrips() {
        for (int v : new int[] {0, 1, -1, 0x12345678, 0xa282ead8}) assertEquals(v, LevelDbTable.unmaskCrc(LevelDbTable.maskCrc(v)));
    }

    @Test
    void bundleProtosParse() throws IOException {
        var e = TfSavedModelImporter.parseEntry(bundleEntry(1, new long[] {30522, 768}, 2, 1585152, 93763584, 0xdeadbeef));
        assertEquals(1, e.dtype);
        assertArrayEquals(new long[] {30522, 768}, e.shape);
        assertEquals(2, e.shardId);
        assertEquals(1585152, e.offset);
        assertEquals(93763584, e.size);
        assertEquals(0xdeadbeef, e.crc32c.intValue());
        assertFalse(e.sliced);
        var scalar = TfSavedModelImporter.parseEntry(bundleEntry(9, new long[0], 0, 0, 8, null));
        assertEquals(0, scalar.shape.length);
        assertEquals(0, scalar.offset);
        assertNull(scalar.crc32c);
        var h = TfSavedModelImporter.parseHeader(bundleHeader(3));
        assertEquals(3, h.numShards);
        assertEquals(0, h.endianness);
        assertEquals(1, h.version);
    }

    // ---- a tiny TF bundle ---------------------------------------------------------------------------------

    static final int V = 10, H = 4, I = 8, P = 6;

    /** Deterministic values: tensor number * 1000 + element index. */
    private static float[] values(int tensor, long n) {
        float[] v = new float[(int) n];
        for (int i = 0; i < n; i++) v[i] = tensor * 1000 + i;
        return v;
    }

    /** Writes variables/variables.{index,data-00000-of-00001} for a 1-layer BERT (plus extras) under dir. */
    private static Map<String, float[]> writeTinyBundle(Path dir, Map<String, long[]> extra) throws IOException {
        Map<String, long[]> shapes = new TreeMap<>();
        shapes.put("bert/embeddings/word_embeddings", new long[] {V, H});
        shapes.put("bert/embeddings/position_embeddings", new long[] {P, H});
        shapes.put("bert/embeddings/token_type_embeddings", new long[] {2, H});
        shapes.put("bert/embeddings/LayerNorm/gamma", new long[] {H});
        shapes.put("bert/embeddings/LayerNorm/beta", new long[] {H});
        String l = "bert/encoder/layer_0/";
        for (String s : List.of("attention/self/query", "attention/self/key", "attention/self/value", "attention/output/dense")) {
            shapes.put(l + s + "/kernel", new long[] {H, H});
            shapes.put(l + s + "/bias", new long[] {H});
        }
        shapes.put(l + "intermediate/dense/kernel", new long[] {H, I});
        shapes.put(l + "intermediate/dense/bias", new long[] {I});
        shapes.put(l + "output/dense/kernel", new long[] {I, H});
        shapes.put(l + "output/dense/bias", new long[] {H});
        for (String s : List.of("attention/output/LayerNorm", "output/LayerNorm")) {
            shapes.put(l + s + "/gamma", new long[] {H});
            shapes.put(l + s + "/beta", new long[] {H});
        }
        shapes.put("bert/pooler/dense/kernel", new long[] {H, H});
        shapes.put("bert/pooler/dense/bias", new long[] {H});
        shapes.put("cls/predictions/transform/dense/kernel", new long[] {H, H});
        shapes.put("cls/predictions/transform/dense/bias", new long[] {H});
        shapes.put("cls/predictions/transform/LayerNorm/gamma", new long[] {H});
        shapes.put("cls/predictions/transform/LayerNorm/beta", new long[] {H});
        shapes.put("cls/predictions/output_bias", new long[] {V});
        shapes.put("cls/seq_relationship/output_weights", new long[] {2, H});
        shapes.put("cls/seq_relationship/output_bias", new long[] {2});
        shapes.put("bert/embeddings/word_embeddings/adam_m", new long[] {V, H}); // optimizer slot: skipped
        shapes.putAll(extra);

        Map<String, float[]> vals = new LinkedHashMap<>();
        TreeMap<String, byte[]> index = new TreeMap<>();
        index.put("", bundleHeader(1));
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        int n = 0;
        for (var e : shapes.entrySet()) {
            float[] v = values(++n, HostTensor.numel(e.getValue()));
            vals.put(e.getKey(), v);
            ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(v);
            CRC32C crc = new CRC32C();
            crc.update(b.array());
            index.put(e.getKey(), bundleEntry(1, e.getValue(), 0, data.size(), v.length * 4L, LevelDbTable.maskCrc((int) crc.getValue())));
            data.writeBytes(b.array());
        }
        index.put("global_step", bundleEntry(9, new long[0], 0, data.size(), 8, null));
        data.writeBytes(new byte[8]);
        Path vars = Files.createDirectories(dir.resolve("variables"));
        Files.write(vars.resolve("variables.index"), table(index, 5, 3, 0));
        Files.write(vars.resolve("variables.data-00000-of-00001"), data.toByteArray());
        return vals;
    }

    @Test
    void tinyTfBundleImportsWithHfNamesAndTransposedKernels() throws IOException {
        Map<String, float[]> tf = writeTinyBundle(tmp, Map.of());
        Imported im = TfSavedModelImporter.importBert(tmp, 2);
        BertConfig c = im.config();
        assertEquals(V, c.vocabSize);
        assertEquals(H, c.hiddenSize);
        assertEquals(I, c.intermediateSize);
        assertEquals(1, c.numHiddenLayers);
        assertEquals(2, c.numAttentionHeads);
        assertEquals(P, c.maxPositionEmbeddings);
        Map<String, HostTensor> w = im.tensors();
        List<String> expected = new ArrayList<>();
        for (String k : BertLayout.bertModelKeys(1, true)) expected.add("bert." + k);
        expected.addAll(Arrays.asList(BertLayout.MLM_HEAD));
        expected.addAll(Arrays.asList(BertLayout.NSP_HEAD));
        assertEquals(expected, new ArrayList<>(w.keySet()));

        // (in, out) kernels become (out, in).
        float[] k = tf.get("bert/encoder/layer_0/intermediate/dense/kernel"); // (H, I)
        HostTensor t = w.get("bert.encoder.layer.0.intermediate.dense.weight");
        assertArrayEquals(new long[] {I, H}, t.shape());
        float[] got = t.toFloats();
        for (int i = 0; i < H; i++) for (int o = 0; o < I; o++) assertEquals(k[i * I + o], got[o * H + i]);
        // Everything else is copied as is; output_weights is already (2, H).
        assertArrayEquals(tf.get("cls/seq_relationship/output_weights"), w.get("cls.seq_relationship.weight").toFloats());
        assertArrayEquals(tf.get("cls/predictions/output_bias"), w.get("cls.predictions.bias").toFloats());
        assertArrayEquals(tf.get("bert/embeddings/LayerNorm/gamma"), w.get("bert.embeddings.LayerNorm.weight").toFloats());
        assertArrayEquals(tf.get("bert/encoder/layer_0/output/LayerNorm/beta"), w.get("bert.encoder.layer.0.output.LayerNorm.bias").toFloats());
        assertArrayEquals(tf.get("bert/embeddings/word_embeddings"), w.get("bert.embeddings.word_embeddings.weight").toFloats());
    }

    @Test
    void tinyTfBundleErrors() throws IOException {
        writeTinyBundle(tmp.resolve("a"), Map.of("bert/encoder/layer_0/attention/self/rotary/kernel", new long[] {H, H}));
        var e = assertThrows(IllegalArgumentException.class, () -> TfSavedModelImporter.importBert(tmp.resolve("a"), 2));
        assertTrue(e.getMessage().contains("bert/encoder/layer_0/attention/self/rotary/kernel")
                && e.getMessage().contains("variables.index"), e.getMessage());

        writeTinyBundle(tmp.resolve("b"), Map.of());
        Path data = tmp.resolve("b/variables/variables.data-00000-of-00001");
        byte[] d = Files.readAllBytes(data);
        d[100] ^= 1;
        Files.write(data, d);
        var crc = assertThrows(IllegalArgumentException.class, () -> TfSavedModelImporter.importBert(tmp.resolve("b"), 2));
        assertTrue(crc.getMessage().contains("CRC32C"), crc.getMessage());

        var none = assertThrows(IllegalArgumentException.class, () -> TfSavedModelImporter.importBert(tmp, 2));
        assertTrue(none.getMessage().contains("variables.index"), none.getMessage());
    }

    @Test
    void failedImportLeavesNoFolder() throws IOException {
        Path zip = tmp.resolve("broken.jar");
        try (var z = new java.util.zip.ZipOutputStream(Files.newOutputStream(zip))) {
            z.putNextEntry(new java.util.zip.ZipEntry("model.onnx"));
            z.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
            z.closeEntry();
        }
        Path models = Files.createDirectories(tmp.resolve("models"));
        assertThrows(IOException.class, () -> ModelZoo.importTo("onnx", zip, models.resolve("broken")));
        try (var s = Files.list(models)) {
            assertEquals(List.of(), s.toList(), "neither the folder nor its temp folder is left");
        }
    }

    // ---- a tiny ONNX graph ------------------------------------------------------------------------------

    private static byte[] tensorProto(String name, int type, long[] dims, ByteBuffer raw) throws IOException {
        return msg(o -> {
            for (long d : dims) o.writeInt64(1, d);
            o.writeInt32(2, type);
            o.writeString(8, name);
            o.writeByteArray(9, Arrays.copyOf(raw.array(), raw.limit()));
        });
    }

    private static ByteBuffer floats(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b;
    }

    private static ByteBuffer longs(long... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) b.putLong(x);
        return b.flip();
    }

    private static byte[] node(String op, String name, List<String> in, List<String> out, byte[] valueTensor) throws IOException {
        return msg(o -> {
            for (String s : in) o.writeString(1, s);
            for (String s : out) o.writeString(2, s);
            o.writeString(3, name);
            o.writeString(4, op);
            if (valueTensor != null) {
                o.writeByteArray(5, msg(a -> {
                    a.writeString(1, "value");
                    a.writeByteArray(5, valueTensor);
                    a.writeInt32(20, 4); // TENSOR
                }));
            }
        });
    }

    /**
     * A 1-layer BERT graph in the torch.onnx export's shape: named biases and LayerNorms, anonymous
     * (in, out) MatMul weights, a Reshape to [b, t, 2, 2], a decomposed LayerNorm epsilon and an Erf.
     */
    private static Map<String, float[]> writeTinyOnnx(Path file, boolean extraMatMul, boolean dropOutputLn) throws IOException {
        List<byte[]> nodes = new ArrayList<>(), inits = new ArrayList<>();
        Map<String, float[]> anon = new LinkedHashMap<>();
        int[] n = {0};
        java.util.function.BiConsumer<String, long[]> init = (name, dims) -> {
            try {
                inits.add(tensorProto(name, 1, dims, floats(values(++n[0], HostTensor.numel(dims)))));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        };
        init.accept("embeddings.word_embeddings.weight", new long[] {V, H});
        init.accept("embeddings.position_embeddings.weight", new long[] {P, H});
        init.accept("embeddings.token_type_embeddings.weight", new long[] {2, H});
        init.accept("embeddings.LayerNorm.weight", new long[] {H});
        init.accept("embeddings.LayerNorm.bias", new long[] {H});
        inits.add(tensorProto("embeddings.position_ids", 7, new long[] {1, P}, longs(0, 1, 2, 3, 4, 5)));
        String x = "/embeddings/LayerNorm/Add_1_output_0";
        String[][] linears = {
            {"attention.self.query", "4", "4"}, {"attention.self.key", "4", "4"}, {"attention.self.value", "4", "4"},
            {"attention.output.dense", "4", "4"}, {"intermediate.dense", "4", "8"}, {"output.dense", "8", "4"},
        };
        int id = 700;
        for (String[] lin : linears) {
            String w = "onnx::MatMul_" + (id++);
            long in = Long.parseLong(lin[1]), out = Long.parseLong(lin[2]);
            float[] v = values(++n[0], in * out);
            anon.put("encoder.layer.0." + lin[0] + ".weight", v);
            inits.add(tensorProto(w, 1, new long[] {in, out}, floats(v)));
            init.accept("encoder.layer.0." + lin[0] + ".bias", new long[] {out});
            String scope = "/encoder/layer.0/" + lin[0].replace('.', '/');
            nodes.add(node("MatMul", scope + "/MatMul", List.of(x, w), List.of(scope + "/MatMul_output_0"), null));
            nodes.add(node("Add", scope + "/Add", List.of("encoder.layer.0." + lin[0] + ".bias", scope + "/MatMul_output_0"),
                    List.of(scope + "/Add_output_0"), null));
        }
        for (String ln : List.of("attention.output.LayerNorm", "output.LayerNorm")) {
            if (!(dropOutputLn && ln.equals("output.LayerNorm"))) init.accept("encoder.layer.0." + ln + ".weight", new long[] {H});
            init.accept("encoder.layer.0." + ln + ".bias", new long[] {H});
        }
        // Reshape to [batch, seq, 2 heads, 2]
        nodes.add(node("Constant", "/c_heads", List.of(), List.of("heads"), tensorProto("", 7, new long[] {1}, longs(2))));
        nodes.add(node("Constant", "/c_dim", List.of(), List.of("dim"), tensorProto("", 7, new long[] {1}, longs(2))));
        nodes.add(node("Concat", "/concat", List.of("b", "t", "heads", "dim"), List.of("shape"), null));
        nodes.add(node("Reshape", "/reshape", List.of("/encoder/layer.0/attention/self/key/Add_output_0", "shape"), List.of("r"), null));
        // LayerNorm epsilon and GELU
        nodes.add(node("Constant", "/eps", List.of(), List.of("eps"), tensorProto("", 1, new long[0], floats(new float[] {1e-12f}))));
        nodes.add(node("Add", "/ln/Add", List.of("var", "eps"), List.of("var_eps"), null));
        nodes.add(node("Sqrt", "/ln/Sqrt", List.of("var_eps"), List.of("std"), null));
        nodes.add(node("Erf", "/gelu/Erf", List.of("u"), List.of("erf"), null));
        if (extraMatMul) {
            inits.add(tensorProto("onnx::MatMul_999", 1, new long[] {H, H}, floats(values(99, H * H))));
            nodes.add(node("MatMul", "/mystery/MatMul", List.of(x, "onnx::MatMul_999"), List.of("m"), null));
            nodes.add(node("Add", "/mystery/Add", List.of("m", x), List.of("m2"), null));
        }
        byte[] graph = msg(o -> {
            for (byte[] nd : nodes) o.writeByteArray(1, nd);
            o.writeString(2, "tiny");
            for (byte[] t : inits) o.writeByteArray(5, t);
        });
        Files.write(file, msg(o -> {
            o.writeInt64(1, 8);
            o.writeString(2, "hand");
            o.writeByteArray(7, graph);
        }));
        return anon;
    }

    @Test
    void tinyOnnxImports() throws IOException {
        Path f = tmp.resolve("tiny.onnx");
        Map<String, float[]> anon = writeTinyOnnx(f, false, false);
        Imported im = OnnxImporter.importBert(f);
        BertConfig c = im.config();
        assertEquals(1, c.numHiddenLayers);
        assertEquals(H, c.hiddenSize);
        assertEquals(2, c.numAttentionHeads);
        assertEquals(I, c.intermediateSize);
        assertEquals(V, c.vocabSize);
        assertEquals(P, c.maxPositionEmbeddings);
        assertEquals(1e-12f, c.layerNormEps);
        assertEquals("gelu", c.hiddenAct);
        assertEquals(BertLayout.bertModelKeys(1, false), new ArrayList<>(im.tensors().keySet()));
        float[] w = anon.get("encoder.layer.0.output.dense.weight"); // stored (I, H)
        HostTensor t = im.tensors().get("encoder.layer.0.output.dense.weight");
        assertArrayEquals(new long[] {H, I}, t.shape());
        float[] got = t.toFloats();
        for (int i = 0; i < I; i++) for (int o = 0; o < H; o++) assertEquals(w[i * H + o], got[o * I + i]);
    }

    @Test
    void tinyOnnxErrorsNameTheFileAndNode() throws IOException {
        Path f = tmp.resolve("mystery.onnx");
        writeTinyOnnx(f, true, false);
        var e = assertThrows(IllegalArgumentException.class, () -> OnnxImporter.importBert(f));
        assertTrue(e.getMessage().contains("mystery.onnx") && e.getMessage().contains("/mystery/MatMul")
                && e.getMessage().contains("onnx::MatMul_999"), e.getMessage());

        Path g = tmp.resolve("noln.onnx");
        writeTinyOnnx(g, false, true);
        var m = assertThrows(IllegalArgumentException.class, () -> OnnxImporter.importBert(g));
        assertTrue(m.getMessage().contains("noln.onnx") && m.getMessage().contains("encoder.layer.0.output.LayerNorm.weight"),
                m.getMessage());

        Path junk = tmp.resolve("junk.onnx");
        Files.write(junk, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
        var j = assertThrows(IOException.class, () -> OnnxImporter.importBert(junk));
        assertTrue(j.getMessage().contains("junk.onnx"), j.getMessage());
    }
}
