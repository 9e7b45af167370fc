package dev.kiln.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.MalformedJsonException;
import dev.kiln.nn.HostTensor;
import dev.kiln.util.AtomicFiles;

import java.io.EOFException;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reader and writer for the safetensors format: an 8-byte little-endian header length N, N bytes of
 * UTF-8 JSON describing each tensor ({@code dtype}, {@code shape}, {@code data_offsets} relative to
 * the end of the header) plus an optional string map {@code __metadata__}, then the raw tensor bytes.
 */
public final class SafeTensors {
    private SafeTensors() {}

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    private static final String METADATA_KEY = "__metadata__";
    /** The reference implementation refuses headers above 100 MB; a bigger one means a corrupt file. */
    private static final long MAX_HEADER = 100_000_000L;
    /** Heap buffers are written in slices so the JDK never allocates a huge temporary direct buffer. */
    private static final int WRITE_CHUNK = 16 << 20;
    /** Files {@link #writeSharded} owns in a folder; others (config.json, ...) are never touched. */
    private static final Pattern OWN_FILES =
            Pattern.compile("model(-\\d+-of-\\d+)?\\.safetensors(\\.index\\.json)?");

    private static final Gson COMPACT = new GsonBuilder().disableHtmlEscaping().create();
    private static final Gson PRETTY = new GsonBuilder().disableHtmlEscaping().setPrettyPrinting().create();

    /** A tensor's header entry. */
    private record Entry(String name, HostTensor.DType dtype, long[] shape, long begin, long end) {}

    private record Header(List<Entry> entries, Map<String, String> metadata, long dataStart) {}

    /**
     * One .safetensors file, memory-mapped (each tensor mapped separately, so files > 2 GB work);
     * LinkedHashMap in file order (by data offset).
     */
    public static Map<String, HostTensor> read(Path file) throws IOException {
        try (FileChannel ch = openRead(file)) {
            Header h = readHeader(file, ch);
            Map<String, HostTensor> out = new LinkedHashMap<>();
            for (Entry e : h.entries) {
                long len = e.end - e.begin;
                if (len > Integer.MAX_VALUE) {
                    throw new IOException(file + ": tensor '" + e.name + "' has " + len
                            + " bytes, more than one buffer can map (2 GiB)");
                }
                // A mapping stays valid after the channel closes, and survives the file being replaced by rename.
                ByteBuffer b = len == 0 ? ByteBuffer.allocate(0)
                        : ch.map(FileChannel.MapMode.READ_ONLY, h.dataStart + e.begin, len);
                out.put(e.name, new HostTensor(e.dtype, e.shape, b.order(ByteOrder.LITTLE_ENDIAN)));
            }
            return out;
        }
    }

    /** The header's {@code __metadata__} (empty when absent). Reads only the header. */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        try (FileChannel ch = openRead(file)) {
            return readHeader(file, ch).metadata;
        }
    }

    /**
     * A checkpoint: a .safetensors file, or a folder with model.safetensors, or with
     * model.safetensors.index.json (sharded; "weight_map" name -> shard file). Shards are read in
     * file-name order, each in file order, so {@link #writeSharded} output comes back in its order.
     */
    public static Map<String, HostTensor> readCheckpoint(Path dirOrFile) throws IOException {
        if (Files.isRegularFile(dirOrFile)) {
            return dirOrFile.getFileName().toString().endsWith(".index.json")
                    ? readIndexed(dirOrFile) : read(dirOrFile);
        }
        if (!Files.isDirectory(dirOrFile)) {
            throw new NoSuchFileException(dirOrFile + ": no such checkpoint file or folder");
        }
        // Same preference as transformers: a single file wins over an index.
        Path single = dirOrFile.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) return read(single);
        Path index = dirOrFile.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) return readIndexed(index);
        List<String> pickles = pickleFiles(dirOrFile);
        if (!pickles.isEmpty()) {
            throw new IOException(dirOrFile + ": has only pickle weights (" + String.join(", ", pickles)
                    + ") and no " + SINGLE_FILE + "; pickle checkpoints are not loaded (unpickling can run code). "
                    + "Convert once in Python: " + convertSnippet(dirOrFile, pickles)
                    + "  (or model.save_pretrained(DIR, safe_serialization=True) with transformers)");
        }
        throw new NoSuchFileException(dirOrFile + ": folder has neither " + SINGLE_FILE + " nor " + INDEX_FILE);
    }

    /** PyTorch pickle weight files in {@code dir} (pytorch_model.bin, *.pt, ...), sorted by name. */
    static List<String> pickleFiles(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth") || n.endsWith(".ckpt"))
                    .sorted().collect(java.util.stream.Collectors.toList());
        }
    }

    /** One line of Python that rewrites the pickle state dict (all pytorch_model*.bin shards) as model.safetensors. */
    static String convertSnippet(Path dir, List<String> pickles) {
        String d = dir.toAbsolutePath().toString().replace("'", "\\'");
        String glob = pickles.stream().anyMatch(n -> n.startsWith("pytorch_model")) ? "pytorch_model*.bin" : pickles.get(0);
        return "python -c \"import glob, torch; from safetensors.torch import save_file; "
                + "sd = {k: v.clone().contiguous() for f in sorted(glob.glob('" + d + "/" + glob + "')) "
                + "for k, v in torch.load(f, map_location='cpu', weights_only=True).items()}; "
                + "save_file(sd, '" + d + "/" + SINGLE_FILE + "', metadata={'format': 'pt'})\"";
    }

    private static Map<String, HostTensor> readIndexed(Path index) throws IOException {
        Path dir = index.toAbsolutePath().getParent();
        JsonObject weightMap;
        try {
            JsonReader r = new JsonReader(new StringReader(Files.readString(index, StandardCharsets.UTF_8)));
            r.setStrictness(Strictness.STRICT);
            JsonElement root = JsonParser.parseReader(r);
            JsonElement wm = root.isJsonObject() ? root.getAsJsonObject().get("weight_map") : null;
            if (wm == null || !wm.isJsonObject()) {
                throw new IOException(index + ": no \"weight_map\" object");
            }
            weightMap = wm.getAsJsonObject();
        } catch (JsonParseException | CharacterCodingException e) {
            throw new IOException(index + ": not valid JSON: " + dev.kiln.util.JsonErrors.oneLine(e), e);
        }
        // shard file -> names the index places there; TreeMap gives model-00001.. order
        Map<String, Set<String>> byShard = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : weightMap.entrySet()) {
            JsonElement v = e.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                throw new IOException(index + ": weight_map entry '" + e.getKey() + "' is not a file name");
            }
            byShard.computeIfAbsent(v.getAsString(), k -> new LinkedHashSet<>()).add(e.getKey());
        }
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Set<String>> s : byShard.entrySet()) {
            Path shard = dir.resolve(s.getKey()).normalize();
            if (!shard.startsWith(dir)) {
                throw new IOException(index + ": shard '" + s.getKey() + "' lies outside the checkpoint folder");
            }
            if (!Files.isRegularFile(shard)) {
                throw new NoSuchFileException(index + ": shard " + s.getKey() + " is missing (expected at " + shard + ")");
            }
            Map<String, HostTensor> part = read(shard);
            for (String name : s.getValue()) {
                if (!part.containsKey(name)) {
                    throw new IOException(index + ": tensor '" + name + "' is mapped to " + s.getKey()
                            + " but that shard does not hold it");
                }
            }
            for (Map.Entry<String, HostTensor> t : part.entrySet()) {
                // An unlisted tensor means index and shards disagree; better to fail than guess.
                if (!s.getValue().contains(t.getKey())) {
                    throw new IOException(index + ": shard " + s.getKey() + " holds tensor '" + t.getKey()
                            + "' that weight_map does not map to it");
                }
                out.put(t.getKey(), t.getValue());
            }
        }
        return out;
    }

    /**
     * Atomic write; header JSON padded with spaces to a multiple of 8 bytes like the reference
     * implementation; tensors laid out contiguously in map order. {@code metadata} may be null;
     * "format":"pt" is added unless the caller gives a "format".
     */
    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata)
            throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        if (metadata != null) {
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw new IllegalArgumentException(file + ": metadata keys and values must not be null");
                }
                meta.put(e.getKey(), e.getValue());
            }
        }
        JsonObject header = new JsonObject();
        JsonObject m = new JsonObject();
        meta.forEach(m::addProperty);
        header.add(METADATA_KEY, m);
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isEmpty() || name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException(file + ": invalid tensor name '" + name + "'");
            }
            HostTensor t = e.getValue();
            JsonObject info = new JsonObject();
            info.addProperty("dtype", t.dtype().name());
            info.add("shape", COMPACT.toJsonTree(t.shape()));
            long size = t.bytes().remaining();
            info.add("data_offsets", COMPACT.toJsonTree(new long[] {offset, offset + size}));
            header.add(name, info);
            offset += size;
        }
        byte[] json = COMPACT.toJson(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // keeps the data section 8-byte aligned in the file
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        AtomicFiles.write(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, head);
                for (HostTensor t : tensors.values()) {
                    ByteBuffer b = t.bytes();
                    while (b.hasRemaining()) {
                        ByteBuffer chunk = b.slice();
                        chunk.limit(Math.min(chunk.remaining(), WRITE_CHUNK));
                        writeFully(ch, chunk);
                        b.position(b.position() + chunk.limit());
                    }
                }
                ch.force(false); // a checkpoint must be on disk before it replaces the previous one
            }
        });
    }

    /**
     * HF layout: model-00001-of-0000N.safetensors shards of at most maxShardBytes of tensor data each
     * (a tensor is never split, so a bigger tensor gets a shard of its own) and
     * model.safetensors.index.json {"metadata":{"total_size":...},"weight_map":{...}}; a single
     * model.safetensors when it all fits. Stale weight files from an earlier save in {@code dir} are
     * removed afterwards so that {@link #readCheckpoint} cannot pick them up. Each file is written
     * atomically, the folder as a whole is not.
     */
    public static void writeSharded(Path dir, Map<String, HostTensor> tensors, long maxShardBytes,
                                    Map<String, String> metadata) throws IOException {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException(dir + ": maxShardBytes must be positive, got " + maxShardBytes);
        }
        List<Map<String, HostTensor>> shards = new ArrayList<>();
        Map<String, HostTensor> cur = new LinkedHashMap<>();
        long curBytes = 0;
        long total = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            long size = e.getValue().bytes().remaining();
            if (!cur.isEmpty() && curBytes + size > maxShardBytes) {
                shards.add(cur);
                cur = new LinkedHashMap<>();
                curBytes = 0;
            }
            cur.put(e.getKey(), e.getValue());
            curBytes += size;
            total += size;
        }
        shards.add(cur);

        Files.createDirectories(dir);
        Set<String> written = new LinkedHashSet<>();
        if (shards.size() == 1) {
            write(dir.resolve(SINGLE_FILE), shards.get(0), metadata);
            written.add(SINGLE_FILE);
        } else {
            JsonObject weightMap = new JsonObject();
            int n = shards.size();
            for (int i = 0; i < n; i++) {
                String name = String.format("model-%05d-of-%05d.safetensors", i + 1, n);
                write(dir.resolve(name), shards.get(i), metadata);
                written.add(name);
                for (String t : shards.get(i).keySet()) weightMap.addProperty(t, name);
            }
            JsonObject index = new JsonObject();
            JsonObject m = new JsonObject();
            m.addProperty("total_size", total);
            index.add("metadata", m);
            index.add("weight_map", weightMap);
            // The index goes last: until it is in place a reader still sees the previous checkpoint.
            AtomicFiles.write(dir.resolve(INDEX_FILE), (PRETTY.toJson(index) + "\n").getBytes(StandardCharsets.UTF_8));
            written.add(INDEX_FILE);
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String f = p.getFileName().toString();
                if (OWN_FILES.matcher(f).matches() && !written.contains(f)) Files.deleteIfExists(p);
            }
        }
    }

    private static FileChannel openRead(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new IOException(file + ": is a folder, not a .safetensors file");
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file + ": no such file");
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static void readFully(Path file, FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) throw new IOException(file + ": unexpected end of file (truncated file?)");
            pos += n;
        }
        b.flip();
    }

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new IOException(file + ": file has " + size + " bytes, too short for a safetensors header (truncated file?)");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(file, ch, lenBuf, 0);
        long n = lenBuf.getLong();
        if (n < 0 || n > size - 8) {
            throw new IOException(file + ": header length " + Long.toUnsignedString(n) + " exceeds file size "
                    + size + " (truncated or not a safetensors file?)");
        }
        if (n > MAX_HEADER) {
            throw new IOException(file + ": header length " + n + " exceeds the " + MAX_HEADER
                    + "-byte limit (not a safetensors file?)");
        }
        ByteBuffer raw = ByteBuffer.allocate((int) n);
        readFully(file, ch, raw, 8);
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(raw).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(file + ": header is not valid UTF-8", e);
        }
        if (!json.startsWith("{")) {
            throw new IOException(file + ": header does not start with '{' (not a safetensors file?)");
        }
        long dataSize = size - 8 - n;
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        try (JsonReader r = new JsonReader(new StringReader(json))) {
            r.setStrictness(Strictness.STRICT);
            Set<String> seen = new LinkedHashSet<>();
            r.beginObject();
            while (r.hasNext()) {
                String name = r.nextName();
                if (!seen.add(name)) throw new IOException(file + ": header lists '" + name + "' twice");
                if (name.equals(METADATA_KEY)) {
                    parseMetadata(file, r, metadata);
                } else {
                    entries.add(readEntry(file, r, name, dataSize));
                }
            }
            r.endObject();
            if (r.peek() != JsonToken.END_DOCUMENT) {
                throw new IOException(file + ": unexpected data after the header JSON object");
            }
        } catch (MalformedJsonException | EOFException | IllegalStateException | NumberFormatException e) {
            throw new IOException(file + ": header is not valid safetensors JSON: " + e.getMessage(), e);
        }
        // File order; ties (empty tensors) keep header order because the sort is stable.
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        for (int i = 1; i < entries.size(); i++) {
            Entry a = entries.get(i - 1), b = entries.get(i);
            if (b.begin < a.end) {
                throw new IOException(file + ": tensors '" + a.name + "' " + range(a) + " and '" + b.name + "' "
                        + range(b) + " overlap");
            }
        }
        return new Header(entries, metadata, 8 + n);
    }

    private static void parseMetadata(Path file, JsonReader r, Map<String, String> out) throws IOException {
        if (r.peek() == JsonToken.NULL) {
            r.nextNull();
            return;
        }
        r.beginObject();
        while (r.hasNext()) {
            String k = r.nextName();
            if (r.peek() != JsonToken.STRING) {
                throw new IOException(file + ": __metadata__ value of '" + k + "' is " + r.peek() + ", not a string");
            }
            out.put(k, r.nextString());
        }
        r.endObject();
    }

    private static Entry readEntry(Path file, JsonReader r, String name, long dataSize) throws IOException {
        String where = file + ": tensor '" + name + "'";
        String dtypeName = null;
        long[] shape = null;
        long[] offsets = null;
        r.beginObject();
        while (r.hasNext()) {
            switch (r.nextName()) {
                case "dtype": dtypeName = r.nextString(); break;
                case "shape": shape = readLongs(r); break;
                case "data_offsets": offsets = readLongs(r); break;
                default: r.skipValue(); // tolerated, as the reference reader does
            }
        }
        r.endObject();
        if (dtypeName == null || shape == null || offsets == null) {
            throw new IOException(where + " lacks " + (dtypeName == null ? "dtype" : shape == null ? "shape" : "data_offsets"));
        }
        HostTensor.DType dtype = null;
        for (HostTensor.DType d : HostTensor.DType.values()) {
            if (d.name().equals(dtypeName)) dtype = d; // case-sensitive, like the spec
        }
        if (dtype == null) {
            throw new IOException(where + " has unsupported dtype '" + dtypeName + "' (supported: "
                    + Arrays.toString(HostTensor.DType.values()) + ")");
        }
        long numel = 1;
        for (long d : shape) {
            if (d < 0) throw new IOException(where + " has a negative dimension in shape " + Arrays.toString(shape));
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException e) {
                throw new IOException(where + " shape " + Arrays.toString(shape) + " overflows");
            }
        }
        if (offsets.length != 2) {
            throw new IOException(where + " data_offsets " + Arrays.toString(offsets) + " must have 2 entries");
        }
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin) {
            throw new IOException(where + " has invalid data_offsets " + Arrays.toString(offsets));
        }
        if (end > dataSize) {
            throw new IOException(where + " data_offsets " + Arrays.toString(offsets) + " exceed the data section ("
                    + dataSize + " bytes) (truncated file?)");
        }
        long want;
        try {
            want = Math.multiplyExact(numel, (long) dtype.bytes);
        } catch (ArithmeticException e) {
            throw new IOException(where + " shape " + Arrays.toString(shape) + " overflows");
        }
        if (end - begin != want) {
            throw new IOException(where + " spans " + (end - begin) + " bytes but " + dtype + Arrays.toString(shape)
                    + " needs " + want);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long[] readLongs(JsonReader r) throws IOException {
        List<Long> xs = new ArrayList<>();
        r.beginArray();
        while (r.hasNext()) {
            if (r.peek() != JsonToken.NUMBER) throw new IllegalStateException("expected a number but was " + r.peek());
            xs.add(r.nextLong());
        }
        r.endArray();
        return xs.stream().mapToLong(Long::longValue).toArray();
    }

    private static String range(Entry e) {
        return "[" + e.begin + ", " + e.end + "]";
    }
}
