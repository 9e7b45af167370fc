package dev.kiln.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.TestSupport;
import dev.kiln.models.Gpt2Model;
import dev.kiln.nn.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Half-precision and sharded checkpoints load into the same model as the F32 original. */
class CheckpointFormatsTest {
    static final long[] IDS = {1, 5, 42, 7, 999, 3, 0, 17};

    /** Re-encodes every tensor of the fixture as BF16 or F16 and writes a new HF folder. */
    private static Path halfCopy(Path src, Path dst, HostTensor.DType type) throws IOException {
        Map<String, HostTensor> in = SafeTensors.readCheckpoint(src);
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : in.entrySet()) {
            float[] f = e.getValue().toFloats();
            ByteBuffer b = ByteBuffer.allocate(f.length * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : f) {
                short s = type == HostTensor.DType.BF16
                        ? (short) (Float.floatToRawIntBits(x) >>> 16) // truncation is a valid BF16 value
                        : HostTensor.floatToHalf(x);
                b.putShort(s);
            }
            b.flip();
            out.put(e.getKey(), new HostTensor(type, e.getValue().shape(), b));
        }
        Files.createDirectories(dst);
        Files.copy(src.resolve("config.json"), dst.resolve("config.json"));
        SafeTensors.write(dst.resolve("model.safetensors"), out, null);
        return dst;
    }

    private static float[] logits(Path dir, NDManager m) throws IOException {
        Gpt2Model g = HfFolder.loadGpt2(dir, m);
        assertTrue(g.loadReport.complete(), g.loadReport.toString());
        return g.forwardLogits(m.create(IDS).reshape(1, IDS.length), null).toFloatArray();
    }

    @Test
    void bf16AndF16CheckpointsLoadAsF32(@TempDir Path tmp) throws IOException {
        Path src = TestSupport.shared("fixtures/gpt2-tiny");
        try (NDManager m = NDManager.newBaseManager()) {
            float[] ref = logits(src, m);
            for (HostTensor.DType t : new HostTensor.DType[] {HostTensor.DType.BF16, HostTensor.DType.F16}) {
                Path dir = halfCopy(src, tmp.resolve(t.name()), t);
                Gpt2Model g = HfFolder.loadGpt2(dir, m);
                // parameters are widened to F32 in Java: DJL must never see a BF16 array
                assertEquals(ai.djl.ndarray.types.DataType.FLOAT32, g.params.get("transformer.wte.weight").getDataType());
                float d = TestSupport.maxAbsDiff(ref, logits(dir, m));
                System.out.printf("%s checkpoint: max |Δ logits| vs F32 = %.2e%n", t, d);
                // bf16 keeps 8 bits of mantissa (rel. error 4e-3), f16 11 bits
                assertTrue(d < (t == HostTensor.DType.BF16 ? 2e-2f : 2e-3f), t + " logits off by " + d);
                assertTrue(d > 0, t + " copy should not be bit-identical (the test would prove nothing)");
            }
        }
    }

    @Test
    void shardedIndexLoadsIdentically(@TempDir Path tmp) throws IOException {
        Path src = TestSupport.shared("fixtures/gpt2-tiny");
        Path dir = tmp.resolve("sharded");
        Files.createDirectories(dir);
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafeTensors.writeSharded(dir, SafeTensors.readCheckpoint(src), 100_000, null);
        long shards;
        try (var s = Files.list(dir)) {
            shards = s.filter(p -> p.getFileName().toString().matches("model-\\d+-of-\\d+\\.safetensors")).count();
        }
        assertTrue(shards > 1, "expected several shards, got " + shards);
        assertTrue(Files.exists(dir.resolve("model.safetensors.index.json")));
        try (NDManager m = NDManager.newBaseManager()) {
            assertArrayEquals(logits(src, m), logits(dir, m));
        }
    }

    @Test
    void shapeMismatchNamesTheKey(@TempDir Path tmp) throws IOException {
        Path src = TestSupport.shared("fixtures/gpt2-tiny");
        Path dir = tmp.resolve("bad");
        Files.createDirectories(dir);
        SafeTensors.write(dir.resolve("model.safetensors"), SafeTensors.readCheckpoint(src), null);
        Files.writeString(dir.resolve("config.json"),
                Files.readString(src.resolve("config.json")).replace("\"n_embd\": 64", "\"n_embd\": 32"));
        try (NDManager m = NDManager.newBaseManager()) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> HfFolder.loadGpt2(dir, m));
            assertTrue(e.getMessage().matches(java.util.regex.Pattern.quote(dir.toString())
                    + ": checkpoint tensor transformer\\.\\S+ has shape .* config.json and weights disagree"), e.getMessage());
        }
    }

    @Test
    void unprefixedKeysAndUnexpectedKeysAreReported(@TempDir Path tmp) throws IOException {
        Path src = TestSupport.shared("fixtures/gpt2-tiny");
        LinkedHashMap<String, HostTensor> renamed = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : SafeTensors.readCheckpoint(src).entrySet()) {
            renamed.put(e.getKey().substring("transformer.".length()), e.getValue());
        }
        renamed.put("score.weight", HostTensor.ofFloats(new long[] {2, 64}, new float[128]));
        Path dir = tmp.resolve("plain");
        Files.createDirectories(dir);
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafeTensors.write(dir.resolve("model.safetensors"), renamed, null);
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(dir, m);
            assertEquals(java.util.List.of(), g.loadReport.missing);
            assertEquals(java.util.List.of("score.weight"), g.loadReport.unexpected);
            assertTrue(g.loadReport.toString().contains("unexpected"), g.loadReport.toString());
            // missing tensors are an error (StrictLoadingTest has the cases)
        }
    }
}
