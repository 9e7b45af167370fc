package dev.kiln.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.HostTensor.DType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
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
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {

    @TempDir
    Path tmp;

    // ---- helpers -------------------------------------------------------------------------------

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static HostTensor f32(long[] shape, float... v) {
        return HostTensor.ofFloats(shape, v);
    }

    private static HostTensor shorts(DType t, long[] shape, int... bits) {
        ByteBuffer b = le(bits.length * 2);
        for (int x : bits) b.putShort((short) x);
        return new HostTensor(t, shape, b.flip());
    }

    private static HostTensor i64(long[] shape, long... v) {
        ByteBuffer b = le(v.length * 8);
        for (long x : v) b.putLong(x);
        return new HostTensor(DType.I64, shape, b.flip());
    }

    private static HostTensor randomF32(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return f32(new long[] {n}, v);
    }

    private static byte[] bytesOf(HostTensor t) {
        ByteBuffer b = t.bytes();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /** A file assembled from the spec by hand: u64 LE header length, header bytes, data. */
    private static Path handFile(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = le(8 + h.length + data.length);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }

    private static void assertSame(Map<String, HostTensor> want, Map<String, HostTensor> got) {
        assertEquals(new ArrayList<>(want.keySet()), new ArrayList<>(got.keySet()), "names / order");
        for (String k : want.keySet()) {
            HostTensor a = want.get(k), b = got.get(k);
            assertEquals(a.dtype(), b.dtype(), k);
            assertArrayEquals(a.shape(), b.shape(), k);
            assertArrayEquals(bytesOf(a), bytesOf(b), k);
        }
    }

    private static void assertFails(Path file, String... fragments) {
        IOException e = assertThrows(IOException.class, () -> SafeTensors.read(file));
        String msg = e.getMessage();
        assertTrue(msg.contains(file.getFileName().toString()), "message should name the file: " + msg);
        assertFalse(msg.contains("\n"), "one line: " + msg);
        for (String f : fragments) assertTrue(msg.contains(f), "expected '" + f + "' in: " + msg);
    }

    private static Map<String, HostTensor> sample() {
        Map<String, HostTensor> m = new LinkedHashMap<>();
        m.put("z.weight", f32(new long[] {2, 3}, 1f, -2f, 3.5f, 0f, -0f, Float.MIN_VALUE));
        m.put("a.half", shorts(DType.F16, new long[] {5}, 0x3C00, 0x7BFF, 0x0001, 0x8000, 0xFC00));
        m.put("m.bf16", shorts(DType.BF16, new long[] {3, 1}, 0x3F80, 0xC040, 0x7F80));
        m.put("ids", i64(new long[] {4}, 0, -1, Long.MAX_VALUE, Long.MIN_VALUE));
        m.put("scalar", f32(new long[0], 42f));
        m.put("empty", f32(new long[] {0, 3}));
        return m;
    }

    // ---- round trips ---------------------------------------------------------------------------

    @Test
    void roundTripKeepsBytesShapesOrderAndMetadata() throws IOException {
        Path f = tmp.resolve("rt.safetensors");
        Map<String, HostTensor> in = sample();
        SafeTensors.write(f, in, Map.of("step", "7"));
        assertSame(in, SafeTensors.read(f));
        assertEquals(Map.of("format", "pt", "step", "7"), SafeTensors.readMetadata(f));
        assertEquals(List.of(f), listFiles(tmp), "no temp files left behind");

        // header: length a multiple of 8, padded with spaces
        byte[] all = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{"));
        String json = header.stripTrailing();
        assertTrue(json.endsWith("}"));
        assertTrue(header.substring(json.length()).chars().allMatch(c -> c == ' '), "padding is spaces");
        JsonParser.parseString(header); // valid JSON
    }

    @Test
    void writerProducesTheReferenceLayout() throws IOException {
        Path f = tmp.resolve("x.safetensors");
        SafeTensors.write(f, Map.of("x", f32(new long[] {2}, 1f, 2f)), null);
        String json = "{\"__metadata__\":{\"format\":\"pt\"},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        int padded = (json.length() + 7) / 8 * 8;
        ByteBuffer want = le(8 + padded + 8);
        want.putLong(padded).put(json.getBytes(StandardCharsets.US_ASCII));
        while (want.position() < 8 + padded) want.put((byte) ' ');
        want.putFloat(1f).putFloat(2f);
        assertArrayEquals(want.array(), Files.readAllBytes(f));
    }

    @Test
    void handBuiltFileIsReadInDataOrder() throws IOException {
        // Header lists tensors out of data order; values are chosen so their floats are known exactly.
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[6,16]},"
                + "\"__metadata__\":{\"who\":\"hand\"},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                + "\"i\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[16,24]}}   ";
        ByteBuffer d = le(24);
        d.putShort((short) 0x3F80).putShort((short) 0xC040).putShort((short) 0x4049);
        d.putShort((short) 0x3C00).putShort((short) 0x7BFF).putShort((short) 0x0001)
                .putShort((short) 0x03FF).putShort((short) 0xC000);
        d.putLong(-5);
        Path f = handFile(tmp.resolve("hand.safetensors"), header, d.array());

        Map<String, HostTensor> m = SafeTensors.read(f);
        assertEquals(List.of("b", "h", "i"), new ArrayList<>(m.keySet()));
        assertArrayEquals(new float[] {1f, -3f, 3.140625f}, m.get("b").toFloats());
        assertArrayEquals(new long[] {3}, m.get("b").shape());
        float[] h = m.get("h").toFloats();
        assertEquals(1f, h[0]);
        assertEquals(65504f, h[1]);
        assertEquals(0x1p-24f, h[2]);               // smallest subnormal
        assertEquals(1023 * 0x1p-24f, h[3]);        // largest subnormal
        assertEquals(-2f, h[4]);
        assertEquals(DType.I64, m.get("i").dtype());
        assertEquals(-5L, m.get("i").bytes().getLong(0));
        assertArrayEquals(new long[] {1, 1}, m.get("i").shape());
        assertEquals(Map.of("who", "hand"), SafeTensors.readMetadata(f));
        assertEquals(m.keySet(), SafeTensors.readCheckpoint(f).keySet());
    }

    // ---- sharding ------------------------------------------------------------------------------

    @Test
    void shardedRoundTripAndCleanup() throws IOException {
        Random rnd = new Random(1);
        Map<String, HostTensor> in = new LinkedHashMap<>();
        for (int i = 0; i < 6; i++) in.put("layer." + i + ".w", randomF32(rnd, 100)); // 400 bytes each
        in.put("huge", randomF32(rnd, 500));                                            // > max: own shard
        in.put("tail", randomF32(rnd, 10));
        Path dir = tmp.resolve("ckpt");
        SafeTensors.writeSharded(dir, in, 1000, Map.of("step", "3"));

        List<String> names = listFiles(dir).stream().map(p -> p.getFileName().toString()).collect(Collectors.toList());
        assertEquals(List.of("model-00001-of-00005.safetensors", "model-00002-of-00005.safetensors",
                "model-00003-of-00005.safetensors", "model-00004-of-00005.safetensors",
                "model-00005-of-00005.safetensors", "model.safetensors.index.json"), names);
        assertEquals(List.of("layer.0.w", "layer.1.w"),
                new ArrayList<>(SafeTensors.read(dir.resolve(names.get(0))).keySet()));
        assertEquals(List.of("huge"), new ArrayList<>(SafeTensors.read(dir.resolve(names.get(3))).keySet()));
        assertEquals("3", SafeTensors.readMetadata(dir.resolve(names.get(2))).get("step"));

        JsonObject index = JsonParser.parseString(Files.readString(dir.resolve("model.safetensors.index.json")))
                .getAsJsonObject();
        assertEquals(6 * 400 + 2000 + 40, index.getAsJsonObject("metadata").get("total_size").getAsLong());
        assertEquals("model-00005-of-00005.safetensors", index.getAsJsonObject("weight_map").get("tail").getAsString());
        assertEquals(in.size(), index.getAsJsonObject("weight_map").size());

        assertSame(in, SafeTensors.readCheckpoint(dir));
        assertSame(in, SafeTensors.readCheckpoint(dir.resolve("model.safetensors.index.json")));

        // Saving again into the same folder when it all fits: one file, stale shards and index gone.
        Map<String, HostTensor> small = Map.of("only", randomF32(rnd, 3));
        SafeTensors.writeSharded(dir, small, 1000, null);
        assertEquals(List.of(dir.resolve("model.safetensors")), listFiles(dir));
        assertSame(small, SafeTensors.readCheckpoint(dir));
    }

    @Test
    void missingShardIsNamed() throws IOException {
        Random rnd = new Random(2);
        Map<String, HostTensor> in = new LinkedHashMap<>();
        for (int i = 0; i < 3; i++) in.put("t" + i, randomF32(rnd, 64));
        Path dir = tmp.resolve("sharded");
        SafeTensors.writeSharded(dir, in, 256, null);
        Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
        IOException e = assertThrows(IOException.class, () -> SafeTensors.readCheckpoint(dir));
        assertTrue(e.getMessage().contains("model-00002-of-00003.safetensors"), e.getMessage());
    }

    @Test
    void emptyFolderIsNamed() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("nothing-here"));
        IOException e = assertThrows(IOException.class, () -> SafeTensors.readCheckpoint(dir));
        assertTrue(e.getMessage().contains("nothing-here"), e.getMessage());
        IOException e2 = assertThrows(IOException.class, () -> SafeTensors.readCheckpoint(tmp.resolve("nope")));
        assertTrue(e2.getMessage().contains("nope"), e2.getMessage());
    }

    // ---- > 2 GB --------------------------------------------------------------------------------

    @Test
    void readsTensorBeyondTwoGigabytesOfSparseFile() throws IOException {
        long begin = (1L << 31) + 12345;  // past any int offset
        String header = "{\"head\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"far\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + begin + "," + (begin + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + h.length;
        Path f = tmp.resolve("sparse.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            try {
                raf.setLength(2_300_000_000L);
            } catch (IOException e) {
                Assumptions.abort("filesystem refuses a 2.3 GB sparse file: " + e.getMessage());
            }
            ByteBuffer b = le(8 + h.length + 8);
            b.putLong(h.length).put(h).putFloat(7f).putFloat(-7f);
            raf.write(b.array());
            ByteBuffer far = le(16).putFloat(1.5f).putFloat(-2.5f).putFloat(1e30f).putFloat(0x1p-126f);
            raf.seek(dataStart + begin);
            raf.write(far.array());
        }
        Map<String, HostTensor> m = SafeTensors.read(f);
        assertEquals(List.of("head", "far"), new ArrayList<>(m.keySet()));
        assertArrayEquals(new float[] {7f, -7f}, m.get("head").toFloats());
        assertArrayEquals(new float[] {1.5f, -2.5f, 1e30f, 0x1p-126f}, m.get("far").toFloats());
        assertArrayEquals(new long[] {2, 2}, m.get("far").shape());
    }

    // ---- errors --------------------------------------------------------------------------------

    @Test
    void truncatedAndOversizedFilesAreNamed() throws IOException {
        Path good = tmp.resolve("good.safetensors");
        SafeTensors.write(good, sample(), null);
        byte[] all = Files.readAllBytes(good);

        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length - 3));
        assertFails(cut, "truncated");

        Path tiny = tmp.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertFails(tiny, "too short");

        Path headless = tmp.resolve("headless.safetensors");
        Files.write(headless, Arrays.copyOf(all, 40));
        assertFails(headless, "header length", "exceeds file size 40");

        Path huge = tmp.resolve("huge.safetensors");
        ByteBuffer b = le(16).putLong(-1L);
        Files.write(huge, b.array());
        assertFails(huge, "header length 18446744073709551615 exceeds file size 16");
    }

    @Test
    void badHeadersAreNamed() throws IOException {
        byte[] data = new byte[16];
        assertFails(handFile(tmp.resolve("range.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", data), "'a'", "exceed");
        assertFails(handFile(tmp.resolve("count.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", data), "'a'", "16 bytes", "needs 12");
        assertFails(handFile(tmp.resolve("dtype.safetensors"),
                "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[16],\"data_offsets\":[0,16]}}", data), "F8_E4M3", "unsupported");
        assertFails(handFile(tmp.resolve("json.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}", data), "JSON");
        assertFails(handFile(tmp.resolve("garbage.safetensors"), "PK\u0003\u0004zipzip", data), "not a safetensors");
        assertFails(handFile(tmp.resolve("overlap.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data), "overlap");
        assertFails(handFile(tmp.resolve("reversed.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", data), "invalid data_offsets");
        assertFails(handFile(tmp.resolve("meta.safetensors"),
                "{\"__metadata__\":{\"n\":3}}", data), "__metadata__", "not a string");
        assertFails(handFile(tmp.resolve("dup.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                        + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", data), "twice");
    }

    // ---- the real fixture ----------------------------------------------------------------------

    @Test
    void readsGpt2TinyFixture() throws IOException {
        Path f = Stream.of(Path.of("../shared"), Path.of("/work/shared"))
                .map(p -> p.resolve("fixtures/gpt2-tiny/model.safetensors"))
                .filter(Files::isRegularFile).findFirst().orElse(null);
        Assumptions.assumeTrue(f != null, "gpt2-tiny fixture not found under ../shared or /work/shared; skipping");
        Map<String, HostTensor> m = SafeTensors.readCheckpoint(f.getParent());
        assertFalse(m.isEmpty());
        for (String k : m.keySet()) assertTrue(k.startsWith("transformer."), k);
        HostTensor wte = m.get("transformer.wte.weight");
        assertEquals(DType.F32, wte.dtype());
        assertArrayEquals(new long[] {1000, 64}, wte.shape());
        assertArrayEquals(new long[] {64, 192}, m.get("transformer.h.0.attn.c_attn.weight").shape());
        for (float v : wte.toFloats()) assertTrue(Float.isFinite(v));
        assertEquals("pt", SafeTensors.readMetadata(f).get("format"));

        // rewriting our way and reading back changes nothing
        Path copy = tmp.resolve("copy.safetensors");
        SafeTensors.write(copy, m, SafeTensors.readMetadata(f));
        assertSame(m, SafeTensors.read(copy));
    }

    // ---- half conversions ----------------------------------------------------------------------

    private static boolean isHalfNaN(int h) {
        return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
    }

    @Test
    void everyHalfBitPatternRoundTrips() {
        for (int h = 0; h < 0x10000; h++) {
            float f = HostTensor.halfToFloat((short) h);
            int back = HostTensor.floatToHalf(f) & 0xffff;
            if (isHalfNaN(h)) {
                assertTrue(Float.isNaN(f), Integer.toHexString(h));
                assertTrue(isHalfNaN(back), Integer.toHexString(h) + " -> " + Integer.toHexString(back));
            } else {
                assertEquals(h, back, Integer.toHexString(h));
            }
        }
    }

    @Test
    void halfConversionsAgreeWithDjl() {
        Random rnd = new Random(7);
        List<Float> xs = new ArrayList<>(List.of(0f, -0f, 1f, -1f, 65504f, 65519.996f, 65520f, -65520f,
                0x1p-24f, 0x1p-25f, 0x1.000002p-25f, 0x1p-26f, 0x1p-14f, Float.MIN_VALUE, Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN));
        for (int i = 0; i < 1000; i++) xs.add(Float.intBitsToFloat(rnd.nextInt()));                  // every range
        for (int i = 0; i < 1000; i++) xs.add((float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(14) - 9)));
        for (int i = 0; i < 500; i++) xs.add((rnd.nextBoolean() ? 1 : -1) * rnd.nextFloat() * 0x1p-13f); // subnormals
        for (int i = 0; i < 300; i++) xs.add(65000f + rnd.nextFloat() * 1000f);                       // overflow edge
        for (int i = 0; i < 500; i++) {                                                              // exact ties
            int h = rnd.nextInt(0x7bff);
            xs.add((HostTensor.halfToFloat((short) h) + HostTensor.halfToFloat((short) (h + 1))) / 2);
        }
        float[] in = new float[xs.size()];
        for (int i = 0; i < in.length; i++) in[i] = xs.get(i);

        try (NDManager manager = NDManager.newBaseManager()) {
            ByteBuffer djl = ByteBuffer.wrap(manager.create(in).toType(DataType.FLOAT16, false).toByteArray())
                    .order(ByteOrder.nativeOrder());
            for (int i = 0; i < in.length; i++) {
                int want = djl.getShort(2 * i) & 0xffff;
                int got = HostTensor.floatToHalf(in[i]) & 0xffff;
                if (Float.isNaN(in[i])) {
                    assertTrue(isHalfNaN(got) && isHalfNaN(want), "NaN " + Integer.toHexString(got));
                } else {
                    int k = i;
                    assertEquals(want, got, () -> Float.toHexString(in[k]) + ": DJL " + Integer.toHexString(want)
                            + ", ours " + Integer.toHexString(got));
                }
            }

            // and the other way, over all 65536 patterns
            ByteBuffer all = ByteBuffer.allocateDirect(2 * 0x10000).order(ByteOrder.nativeOrder());
            for (int h = 0; h < 0x10000; h++) all.putShort((short) h);
            all.flip();
            NDArray halves = manager.create(all, new Shape(0x10000), DataType.FLOAT16);
            float[] wide = halves.toType(DataType.FLOAT32, false).toFloatArray();
            for (int h = 0; h < 0x10000; h++) {
                float ours = HostTensor.halfToFloat((short) h);
                if (isHalfNaN(h)) {
                    assertTrue(Float.isNaN(ours) && Float.isNaN(wide[h]));
                } else {
                    assertEquals(Float.floatToRawIntBits(wide[h]), Float.floatToRawIntBits(ours), Integer.toHexString(h));
                }
            }
        }
    }

    private static List<Path> listFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().collect(Collectors.toList());
        }
    }
}
