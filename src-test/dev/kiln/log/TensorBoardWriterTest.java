package dev.kiln.log;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorBoardWriterTest {

    @TempDir
    Path tmp;

    // ---- an independent reader: bitwise CRC32C, TFRecord framing, Event protos ------------------

    /** Reflected CRC-32C (Castagnoli, polynomial 0x82F63B78), one bit at a time. */
    static int crc32c(byte[] b, int off, int len) {
        int c = 0xffffffff;
        for (int i = off; i < off + len; i++) {
            c ^= b[i] & 0xff;
            for (int k = 0; k < 8; k++) c = (c >>> 1) ^ ((c & 1) != 0 ? 0x82F63B78 : 0);
        }
        return ~c;
    }

    static int masked(byte[] b, int off, int len) {
        int c = crc32c(b, off, len);
        return Integer.rotateRight(c, 15) + 0xa282ead8;
    }

    record Value(String tag, float simple) {}

    record Event(double wallTime, long step, String fileVersion, List<Value> values, Integer sessionStatus) {}

    static List<byte[]> records(Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> out = new ArrayList<>();
        while (buf.hasRemaining()) {
            assertTrue(buf.remaining() >= 12, "truncated header");
            byte[] head = new byte[8];
            buf.get(head);
            long len = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(masked(head, 0, 8), buf.getInt(), "length CRC");
            assertTrue(len >= 0 && len <= buf.remaining() - 4, "length " + len);
            byte[] data = new byte[(int) len];
            buf.get(data);
            assertEquals(masked(data, 0, data.length), buf.getInt(), "data CRC");
            out.add(data);
        }
        return out;
    }

    static Event parseEvent(byte[] data) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(data);
        double wall = 0;
        long step = 0;
        String version = null;
        List<Value> values = new ArrayList<>();
        Integer status = null;
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> wall = in.readDouble();
                case 2 -> step = in.readInt64();
                case 3 -> version = in.readString();
                case 5 -> values.addAll(parseSummary(in.readByteArray()));
                case 7 -> status = parseSessionStatus(in.readByteArray());
                default -> in.skipField(tag);
            }
        }
        return new Event(wall, step, version, values, status);
    }

    static List<Value> parseSummary(byte[] data) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(data);
        List<Value> out = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (WireFormat.getTagFieldNumber(tag) != 1) {
                in.skipField(tag);
                continue;
            }
            CodedInputStream v = CodedInputStream.newInstance(in.readByteArray());
            String name = null;
            float simple = Float.NaN;
            for (int t; (t = v.readTag()) != 0; ) {
                switch (WireFormat.getTagFieldNumber(t)) {
                    case 1 -> name = v.readString();
                    case 2 -> {
                        assertEquals(WireFormat.WIRETYPE_FIXED32, WireFormat.getTagWireType(t), "simple_value is a float");
                        simple = v.readFloat();
                    }
                    default -> v.skipField(t);
                }
            }
            out.add(new Value(name, simple));
        }
        return out;
    }

    static int parseSessionStatus(byte[] data) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(data);
        int status = 0;
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (WireFormat.getTagFieldNumber(tag) == 1) status = in.readEnum();
            else in.skipField(tag);
        }
        return status;
    }

    static List<Event> events(Path file) throws IOException {
        List<Event> out = new ArrayList<>();
        for (byte[] r : records(file)) out.add(parseEvent(r));
        return out;
    }

    static Path onlyEventFile(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).toList();
            assertEquals(1, files.size(), files.toString());
            return files.get(0);
        }
    }

    // ---- tests ---------------------------------------------------------------------------------

    @Test
    void crcMaskingMatchesKnownVectors() {
        byte[] digits = "123456789".getBytes(StandardCharsets.US_ASCII);
        // the CRC-32C check value from the RFC 3720 / iSCSI tables
        assertEquals(0xE3069283, crc32c(digits, 0, 9));
        // by hand: 0xE3069283 >>> 15 = 0x0001C60D, << 17 = 0x25060000, or = 0x2507C60D, + 0xA282EAD8 = 0xC78AB0E5
        assertEquals(0xC78AB0E5, TensorBoardWriter.mask(0xE3069283));
        assertEquals(0xC78AB0E5, masked(digits, 0, 9));
        // empty input: crc 0, so the masked value is the delta itself
        assertEquals(0, crc32c(new byte[0], 0, 0));
        assertEquals(0xa282ead8, TensorBoardWriter.mask(0));

        // the JDK's CRC32C (used by the writer) agrees with the bitwise one on random data
        Random r = new Random(7);
        for (int n : new int[] {1, 7, 8, 13, 100, 4099}) {
            byte[] b = new byte[n];
            r.nextBytes(b);
            java.util.zip.CRC32C c = new java.util.zip.CRC32C();
            c.update(b);
            assertEquals(crc32c(b, 0, n), (int) c.getValue(), "n=" + n);
        }
    }

    @Test
    void scalarsRoundTripThroughAnIndependentReader() throws IOException {
        Path dir = tmp.resolve("tb");
        long before = System.currentTimeMillis() / 1000;
        Path file;
        try (TensorBoardWriter w = new TensorBoardWriter(dir)) {
            file = w.file();
            for (long step = 1; step <= 3; step++) {
                w.scalar("train/loss", 4f / step, step);
                w.scalar("train/lr", 1e-4f * step, step);
                w.flush();
            }
            Map<String, Float> batch = new LinkedHashMap<>();
            batch.put("eval/loss", 1.25f);
            batch.put("eval/accuracy", 0.875f);
            batch.put("eval/nan", Float.NaN);
            w.scalars(3, batch);
        }
        assertEquals(file, onlyEventFile(dir));
        String name = file.getFileName().toString();
        assertTrue(name.matches("events\\.out\\.tfevents\\.\\d+\\.[A-Za-z0-9._-]+"), name);
        long secs = Long.parseLong(name.split("\\.")[3]);
        assertTrue(secs >= before && secs <= before + 60, name);

        List<Event> ev = events(file);
        assertEquals(1 + 6 + 1, ev.size());
        assertEquals("brain.Event:2", ev.get(0).fileVersion());
        assertTrue(ev.get(0).values().isEmpty());
        assertTrue(Math.abs(ev.get(0).wallTime() - System.currentTimeMillis() / 1000.0) < 120, "wall_time in seconds");
        for (int i = 0; i < 6; i++) {
            Event e = ev.get(1 + i);
            long step = 1 + i / 2;
            assertEquals(step, e.step());
            assertNull(e.fileVersion());
            assertEquals(1, e.values().size());
            Value v = e.values().get(0);
            if (i % 2 == 0) assertEquals(new Value("train/loss", 4f / step), v);
            else assertEquals(new Value("train/lr", 1e-4f * step), v);
            assertTrue(e.wallTime() >= ev.get(0).wallTime());
        }
        Event last = ev.get(7);
        assertEquals(3, last.step());
        assertEquals(List.of(new Value("eval/loss", 1.25f), new Value("eval/accuracy", 0.875f),
                new Value("eval/nan", Float.NaN)), last.values());
    }

    @Test
    void flushedRecordsAreReadableWhileTheWriterIsOpen() throws IOException {
        TensorBoardWriter w = new TensorBoardWriter(tmp);
        w.scalar("loss", 2.5f, 10);
        w.scalar("lr", 0.001f, 10);
        w.flush();
        // as after a kill: nothing closed, everything up to the last flush is on disk and intact
        List<Event> ev = events(w.file());
        assertEquals(3, ev.size());
        assertEquals(new Value("lr", 0.001f), ev.get(2).values().get(0));
        assertEquals(10, ev.get(2).step());
        w.close();
        w.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> w.scalar("loss", 1f, 11));
    }

    @Test
    void resumeWritesSessionStartAndDoesNotClobberAnotherFile() throws IOException {
        Path a, b;
        try (TensorBoardWriter w1 = new TensorBoardWriter(tmp); TensorBoardWriter w2 = new TensorBoardWriter(tmp, 40)) {
            a = w1.file();
            b = w2.file();
            w2.scalar("loss", 1f, 41);
        }
        assertNotEquals(a, b); // same second, same host: a suffix keeps both
        List<Event> ev = events(b);
        assertEquals("brain.Event:2", ev.get(0).fileVersion());
        assertEquals(Integer.valueOf(1), ev.get(1).sessionStatus()); // SessionLog.START
        assertEquals(41, ev.get(1).step()); // TensorBoard drops older events with step >= 41
        assertEquals(new Value("loss", 1f), ev.get(2).values().get(0));
        assertEquals(1, events(a).size());
    }
}
