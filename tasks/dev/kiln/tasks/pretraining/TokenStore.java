package dev.kiln.tasks.pretraining;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A tokenised corpus on disk, memory-mapped for reading, so a corpus is tokenised once and then read
 * at any position without holding it in memory.
 *
 * <pre>
 * tokens.i32   int32 LE token ids, all documents back to back
 * units.i64    int64 LE start of each unit (a sentence, or whatever the writer ends units at) in tokens, then the total
 * docs.i64     int64 LE first unit of each document, then the number of units
 * meta.json    counts and whatever the writer describes the store with; written last, so a store with it is complete
 * </pre>
 * A store is built in a temporary folder beside its final name and renamed into place.
 */
public final class TokenStore {
    public static final String META = "meta.json";

    private final Path dir;
    private final JsonObject meta;
    private final MappedInts tokens;
    private final MappedLongs units;
    private final MappedLongs docs;

    private TokenStore(Path dir) throws IOException {
        this.dir = dir;
        this.meta = JsonParser.parseString(Files.readString(dir.resolve(META))).getAsJsonObject();
        this.tokens = new MappedInts(dir.resolve("tokens.i32"));
        this.units = new MappedLongs(dir.resolve("units.i64"));
        this.docs = new MappedLongs(dir.resolve("docs.i64"));
        if (units.size() < 1 || docs.size() < 1 || units.get(units.size() - 1) != tokens.size()
                || docs.get(docs.size() - 1) != units.size() - 1) {
            throw new IOException(dir + ": token store index does not match its tokens; delete the folder to rebuild it");
        }
    }

    /** Whether {@code dir} holds a complete store. */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(META));
    }

    public static TokenStore open(Path dir) throws IOException {
        if (!exists(dir)) throw new IOException(dir + ": no token store (" + META + " missing)");
        return new TokenStore(dir);
    }

    public Path dir() { return dir; }

    public JsonObject meta() { return meta.deepCopy(); }

    public long tokens() { return tokens.size(); }

    public int token(long i) { return tokens.get(i); }

    /** Copies tokens [from, from + n) into {@code dst[off..]}. */
    public void read(long from, int[] dst, int off, int n) {
        for (int i = 0; i < n; i++) dst[off + i] = tokens.get(from + i);
    }

    public int[] slice(long from, long to) {
        int[] out = new int[Math.toIntExact(to - from)];
        read(from, out, 0, out.length);
        return out;
    }

    public long units() { return units.size() - 1; }

    /** Token offset where unit {@code u} starts; {@code unitStart(units())} is the token count. */
    public long unitStart(long u) { return units.get(u); }

    public long documents() { return docs.size() - 1; }

    /** First unit of document {@code d}; {@code docUnit(documents())} is the unit count. */
    public long docUnit(long d) { return docs.get(d); }

    /** Token offset where document {@code d} starts; {@code docStart(documents())} is the token count. */
    public long docStart(long d) { return units.get(docs.get(d)); }

    /** Appends tokens, units and documents through fixed-size buffers; {@link #finish} makes it a store. */
    public static final class Writer implements AutoCloseable {
        private final Path target;
        private final Path tmp;
        private final LittleEndianOut tokens;
        private final LittleEndianOut units;
        private final LittleEndianOut docs;
        private long tokenCount;
        private long unitCount;
        private long docCount;
        private long lastDocEnd;
        private boolean unitOpen;
        private boolean finished;

        public Writer(Path target) throws IOException {
            this.target = target.toAbsolutePath();
            Files.createDirectories(this.target.getParent());
            this.tmp = Files.createTempDirectory(this.target.getParent(), "." + this.target.getFileName() + ".tmp-");
            tokens = new LittleEndianOut(tmp.resolve("tokens.i32"));
            units = new LittleEndianOut(tmp.resolve("units.i64"));
            docs = new LittleEndianOut(tmp.resolve("docs.i64"));
            docs.writeLong(0);
        }

        public void add(int[] ids, int from, int to) throws IOException {
            if (to <= from) return;
            if (!unitOpen) {
                units.writeLong(tokenCount);
                unitOpen = true;
            }
            for (int i = from; i < to; i++) tokens.writeInt(ids[i]);
            tokenCount += to - from;
        }

        public void add(int[] ids) throws IOException {
            add(ids, 0, ids.length);
        }

        /** Ends the current unit (nothing happens when it has no tokens). */
        public void endUnit() {
            if (unitOpen) {
                unitOpen = false;
                unitCount++;
            }
        }

        /** Ends the current document; documents without tokens are not recorded. */
        public void endDocument() throws IOException {
            endUnit();
            if (unitCount > lastDocEnd) {
                docs.writeLong(unitCount);
                docCount++;
                lastDocEnd = unitCount;
            }
        }

        public long tokenCount() { return tokenCount; }

        public long documentCount() { return docCount; }

        /** Writes the final index entries and meta.json, then renames the folder into place. */
        public TokenStore finish(JsonObject description) throws IOException {
            endDocument();
            units.writeLong(tokenCount);
            tokens.close();
            units.close();
            docs.close();
            JsonObject m = description.deepCopy();
            m.addProperty("tokens", tokenCount);
            m.addProperty("units", unitCount);
            m.addProperty("documents", docCount);
            AtomicFiles.writeJson(tmp.resolve(META), m);
            AtomicFiles.publish(tmp, target); // a reader sees the old store or the new one, never neither
            finished = true;
            return open(target);
        }

        @Override
        public void close() throws IOException {
            if (finished) return;
            tokens.close();
            units.close();
            docs.close();
            AtomicFiles.deleteTree(tmp);
        }
    }

    /** Little-endian int32 / int64 output through one 64 KiB buffer (token files, index files, example tables). */
    public static final class LittleEndianOut implements AutoCloseable {
        private final OutputStream out;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private boolean closed;

        public LittleEndianOut(Path p) throws IOException {
            out = Files.newOutputStream(p);
        }

        public void writeInt(int v) throws IOException {
            if (buf.remaining() < 4) flush();
            buf.putInt(v);
        }

        public void writeLong(long v) throws IOException {
            if (buf.remaining() < 8) flush();
            buf.putLong(v);
        }

        private void flush() throws IOException {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
        }

        @Override
        public void close() throws IOException {
            if (closed) return;
            closed = true;
            flush();
            out.close();
        }
    }

    /**
     * A read-only memory-mapped array of little-endian values, mapped in 1 GiB regions so files
     * beyond 2 GiB (a single mapping's limit) work. Pages come and go with the OS page cache.
     */
    abstract static class Mapped {
        static final int REGION_SHIFT = 30;
        final MappedByteBuffer[] regions;
        final long bytes;

        Mapped(Path p) throws IOException {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                bytes = ch.size();
                int n = (int) ((bytes + (1L << REGION_SHIFT) - 1) >>> REGION_SHIFT);
                regions = new MappedByteBuffer[n];
                for (int i = 0; i < n; i++) {
                    long pos = (long) i << REGION_SHIFT;
                    long len = Math.min(1L << REGION_SHIFT, bytes - pos);
                    regions[i] = ch.map(FileChannel.MapMode.READ_ONLY, pos, len);
                    regions[i].order(ByteOrder.LITTLE_ENDIAN);
                }
            }
        }
    }

    static final class MappedInts extends Mapped {
        MappedInts(Path p) throws IOException {
            super(p);
        }

        long size() { return bytes >>> 2; }

        int get(long i) {
            long b = i << 2; // 4-byte values never straddle a region: regions are multiples of 4 bytes
            return regions[(int) (b >>> REGION_SHIFT)].getInt((int) (b & ((1L << REGION_SHIFT) - 1)));
        }
    }

    /** A memory-mapped little-endian int64 file. */
    public static final class MappedLongs extends Mapped {
        public MappedLongs(Path p) throws IOException {
            super(p);
        }

        public long size() { return bytes >>> 3; }

        public long get(long i) {
            long b = i << 3;
            return regions[(int) (b >>> REGION_SHIFT)].getLong((int) (b & ((1L << REGION_SHIFT) - 1)));
        }
    }
}
