package dev.kiln.tasks.pretraining;

import com.google.gson.JsonElement;
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
import java.util.ArrayList;
import java.util.List;

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
 *
 * <p>A store may also be a folder of such stores, its shards (what a Spark job writes, {@link Shards}): then its
 * meta.json lists them in order under "shards", and the store reads as their concatenation — tokens, units and
 * documents numbered across shards — so the tasks see one store either way.
 */
public final class TokenStore {
    public static final String META = "meta.json";

    private final Path dir;
    private final JsonObject meta;
    // one entry per shard (one for a plain store); *Base[s]: the global number of shard s's first token / unit / document
    private final MappedInts[] tokens;
    private final MappedLongs[] units;
    private final MappedLongs[] docs;
    private final long[] tokBase;
    private final long[] unitBase;
    private final long[] docBase;

    private TokenStore(Path dir) throws IOException {
        this.dir = dir;
        this.meta = JsonParser.parseString(Files.readString(dir.resolve(META))).getAsJsonObject();
        List<Path> parts = new ArrayList<>();
        if (meta.has("shards")) {
            for (JsonElement e : meta.getAsJsonArray("shards")) {
                Path p = dir.resolve(e.getAsString()).normalize();
                if (!p.startsWith(dir.normalize()) || !Files.isRegularFile(p.resolve(META))) {
                    throw new IOException(dir + ": shard " + e.getAsString() + " listed in " + META + " is missing; prepare the corpus again");
                }
                parts.add(p);
            }
            if (parts.isEmpty()) throw new IOException(dir + ": " + META + " lists no shards");
        } else {
            parts.add(dir);
        }
        int n = parts.size();
        tokens = new MappedInts[n];
        units = new MappedLongs[n];
        docs = new MappedLongs[n];
        tokBase = new long[n + 1];
        unitBase = new long[n + 1];
        docBase = new long[n + 1];
        for (int s = 0; s < n; s++) {
            Path p = parts.get(s);
            tokens[s] = new MappedInts(p.resolve("tokens.i32"));
            units[s] = new MappedLongs(p.resolve("units.i64"));
            docs[s] = new MappedLongs(p.resolve("docs.i64"));
            MappedLongs u = units[s], d = docs[s];
            if (u.size() < 1 || d.size() < 1 || u.get(u.size() - 1) != tokens[s].size() || d.get(d.size() - 1) != u.size() - 1) {
                throw new IOException(p + ": token store index does not match its tokens; delete the folder to rebuild it");
            }
            tokBase[s + 1] = tokBase[s] + tokens[s].size();
            unitBase[s + 1] = unitBase[s] + u.size() - 1;
            docBase[s + 1] = docBase[s] + d.size() - 1;
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

    private Path workDir;

    /** Where files derived from this store (BERT's pair tables) go: its folder, unless {@link #workIn} moved them. */
    public Path workDir() { return workDir != null ? workDir : dir; }

    /** Derived files go to {@code dir} (a prepared corpus may sit on storage the trainer should not write to). */
    TokenStore workIn(Path dir) throws IOException {
        Files.createDirectories(dir);
        workDir = dir;
        return this;
    }

    public JsonObject meta() { return meta.deepCopy(); }

    /** Shards in this store (1 for a plain store). */
    public int shards() { return tokens.length; }

    public long tokens() { return tokBase[tokens.length]; }

    /** The shard holding global number {@code i} of a series whose shard starts are {@code base}: the last start at or before it. */
    private static int shard(long[] base, long i) {
        int lo = 0, hi = base.length - 2; // empty shards share their start with the next one; the last such start wins
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (base[mid] <= i) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    public int token(long i) {
        int s = shard(tokBase, i);
        return tokens[s].get(i - tokBase[s]);
    }

    /** Copies tokens [from, from + n) into {@code dst[off..]}. */
    public void read(long from, int[] dst, int off, int n) {
        int done = 0;
        while (done < n) {
            long at = from + done;
            int s = shard(tokBase, at);
            int k = (int) Math.min(n - done, tokBase[s + 1] - at);
            MappedInts t = tokens[s];
            long local = at - tokBase[s];
            for (int i = 0; i < k; i++) dst[off + done + i] = t.get(local + i);
            done += k;
        }
    }

    public int[] slice(long from, long to) {
        int[] out = new int[Math.toIntExact(to - from)];
        read(from, out, 0, out.length);
        return out;
    }

    public long units() { return unitBase[tokens.length]; }

    /** Token offset where unit {@code u} starts; {@code unitStart(units())} is the token count. */
    public long unitStart(long u) {
        if (u == units()) return tokens();
        int s = shard(unitBase, u);
        return tokBase[s] + units[s].get(u - unitBase[s]);
    }

    public long documents() { return docBase[tokens.length]; }

    /** First unit of document {@code d}; {@code docUnit(documents())} is the unit count. */
    public long docUnit(long d) {
        if (d == documents()) return units();
        int s = shard(docBase, d);
        return unitBase[s] + docs[s].get(d - docBase[s]);
    }

    /** Token offset where document {@code d} starts; {@code docStart(documents())} is the token count. */
    public long docStart(long d) { return unitStart(docUnit(d)); }

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
