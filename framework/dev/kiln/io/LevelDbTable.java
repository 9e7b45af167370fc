package dev.kiln.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.zip.CRC32C;

/**
 * Reads a LevelDB-format table (SSTable), as TensorFlow writes for {@code variables.index}.
 *
 * <p>Layout: data blocks, a metaindex block, an index block, then a 48-byte footer holding the
 * metaindex and index BlockHandles (varint64 offset, varint64 size), zero padding and the magic
 * {@code 0xdb4775248b80fb57} (fixed64 little-endian). A block is a run of prefix-compressed entries
 * (varint32 shared, non-shared and value lengths, the key suffix, the value), a restart array of
 * fixed32 offsets and its fixed32 count; it is followed by a 5-byte trailer: the compression type
 * (0 = none) and the masked CRC32C of the block contents plus that type byte. TensorFlow writes
 * uncompressed tables; compressed blocks are refused.
 */
public final class LevelDbTable {
    private LevelDbTable() {}

    public static final long MAGIC = 0xdb4775248b80fb57L;
    static final int FOOTER = 48;

    /** All entries of the table, in key order. Keys are decoded as UTF-8. */
    public static LinkedHashMap<String, byte[]> read(Path file) throws IOException {
        try {
            return read(Files.readAllBytes(file));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    public static LinkedHashMap<String, byte[]> read(byte[] table) {
        if (table.length < FOOTER) throw new IllegalArgumentException("not a LevelDB table (" + table.length + " bytes)");
        ByteBuffer b = ByteBuffer.wrap(table).order(ByteOrder.LITTLE_ENDIAN);
        long magic = b.getLong(table.length - 8);
        if (magic != MAGIC) {
            throw new IllegalArgumentException(String.format("not a LevelDB table (magic %016x, expected %016x)", magic, MAGIC));
        }
        int[] pos = {table.length - FOOTER};
        long[] meta = {varint64(table, pos), varint64(table, pos)};
        long[] index = {varint64(table, pos), varint64(table, pos)};
        if (pos[0] > table.length - 8) throw new IllegalArgumentException("corrupt footer");
        checkHandle(meta, table.length, "metaindex");
        checkHandle(index, table.length, "index");

        LinkedHashMap<String, byte[]> out = new LinkedHashMap<>();
        LinkedHashMap<byte[], byte[]> indexEntries = block(table, index, "index block");
        for (byte[] handleBytes : indexEntries.values()) {
            int[] p = {0};
            long[] h = {varint64(handleBytes, p), varint64(handleBytes, p)};
            checkHandle(h, table.length, "data block");
            for (var e : block(table, h, "data block at " + h[0]).entrySet()) {
                String key = new String(e.getKey(), StandardCharsets.UTF_8);
                if (out.put(key, e.getValue()) != null) throw new IllegalArgumentException("duplicate key '" + key + "'");
            }
        }
        return out;
    }

    private static void checkHandle(long[] h, int fileLength, String what) {
        if (h[0] < 0 || h[1] < 0 || h[0] + h[1] + 5 > fileLength) {
            throw new IllegalArgumentException("corrupt " + what + " handle (offset " + h[0] + ", size " + h[1] + ")");
        }
    }

    /** Decodes one block (contents at handle offset, size bytes, then the 5-byte trailer). */
    static LinkedHashMap<byte[], byte[]> block(byte[] table, long[] handle, String what) {
        int off = (int) handle[0], size = (int) handle[1];
        int type = table[off + size] & 0xff;
        if (type != 0) {
            throw new IllegalArgumentException(what + " is compressed (type " + type + (type == 1 ? ", snappy" : type == 2 ? ", zstd" : "")
                    + "); only uncompressed tables (as TensorFlow writes them) are supported");
        }
        CRC32C crc = new CRC32C();
        crc.update(table, off, size + 1);
        int stored = ByteBuffer.wrap(table, off + size + 1, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (unmaskCrc(stored) != (int) crc.getValue()) {
            throw new IllegalArgumentException(what + ": CRC32C mismatch (file corrupt)");
        }
        if (size < 4) throw new IllegalArgumentException(what + ": too small");
        ByteBuffer b = ByteBuffer.wrap(table).order(ByteOrder.LITTLE_ENDIAN);
        int numRestarts = b.getInt(off + size - 4);
        long restartsStart = (long) size - 4 - 4L * numRestarts;
        if (numRestarts < 0 || restartsStart < 0) throw new IllegalArgumentException(what + ": bad restart count " + numRestarts);
        int end = off + (int) restartsStart;
        LinkedHashMap<byte[], byte[]> out = new LinkedHashMap<>();
        byte[] last = new byte[0];
        int[] p = {off};
        while (p[0] < end) {
            int shared = varint32(table, p), nonShared = varint32(table, p), valueLen = varint32(table, p);
            if (shared > last.length || p[0] + nonShared + valueLen > end) {
                throw new IllegalArgumentException(what + ": corrupt entry at " + p[0]);
            }
            byte[] key = Arrays.copyOf(last, shared + nonShared);
            System.arraycopy(table, p[0], key, shared, nonShared);
            p[0] += nonShared;
            byte[] value = Arrays.copyOfRange(table, p[0], p[0] + valueLen);
            p[0] += valueLen;
            out.put(key, value);
            last = key;
        }
        return out;
    }

    /** LevelDB/TensorFlow CRC masking: rotate right 15 bits and add a constant. */
    public static int maskCrc(int crc) {
        return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    }

    public static int unmaskCrc(int masked) {
        int rot = masked - 0xa282ead8;
        return (rot >>> 17) | (rot << 15);
    }

    static int varint32(byte[] b, int[] p) {
        long v = varint64(b, p);
        if (v > 0xffffffffL) throw new IllegalArgumentException("varint32 overflow at " + p[0]);
        return (int) v;
    }

    static long varint64(byte[] b, int[] p) {
        long r = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p[0] >= b.length) throw new IllegalArgumentException("truncated varint");
            int c = b[p[0]++] & 0xff;
            r |= (long) (c & 0x7f) << shift;
            if (c < 0x80) return r;
        }
        throw new IllegalArgumentException("varint too long");
    }
}
