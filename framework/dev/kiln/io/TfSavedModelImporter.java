package dev.kiln.io;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import dev.kiln.models.BertConfig;
import dev.kiln.nn.HostTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Reads the variables of a TensorFlow SavedModel / checkpoint (a TensorBundle) holding a Google BERT
 * ({@code bert/...}, optionally under a TF-Hub {@code module/} scope) into HF
 * {@code BertForPreTraining} names.
 *
 * <p>{@code variables.index} is a LevelDB table: key "" is the BundleHeaderProto, every other key a
 * tensor name mapping to a BundleEntryProto that locates its raw little-endian bytes in
 * {@code variables.data-0000S-of-0000N}. Kernels are (in, out) and are transposed to (out, in);
 * {@code cls/predictions/output_bias} becomes {@code cls.predictions.bias} (the decoder weight is tied
 * to the word embeddings and not stored). Optimizer slots and {@code global_step} are skipped; any
 * other unknown variable is an error.
 */
public final class TfSavedModelImporter {
    private TfSavedModelImporter() {}

    // tensorflow DataType
    static final int DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_STRING = 7, DT_INT64 = 9;

    /** BundleHeaderProto. */
    public static final class BundleHeader {
        public int numShards = 0;
        /** 0 = little-endian, 1 = big-endian. */
        public int endianness = 0;
        public int version = 0;
    }

    /** BundleEntryProto. */
    public static final class BundleEntry {
        public int dtype;
        public long[] shape = new long[0];
        public boolean unknownRank;
        public int shardId;
        public long offset;
        public long size;
        public Integer crc32c;
        public boolean sliced;

        public long numel() {
            return HostTensor.numel(shape);
        }

        @Override
        public String toString() {
            return "dtype " + dtype + " shape " + Arrays.toString(shape) + " shard " + shardId + " offset " + offset + " size " + size;
        }
    }

    /** The index of a TensorBundle: header and entries in key order. */
    public static final class BundleIndex {
        public final BundleHeader header;
        public final LinkedHashMap<String, BundleEntry> entries;

        BundleIndex(BundleHeader header, LinkedHashMap<String, BundleEntry> entries) {
            this.header = header;
            this.entries = entries;
        }
    }

    public static BundleIndex readIndex(Path indexFile) throws IOException {
        try {
            return parseIndex(LevelDbTable.read(Files.readAllBytes(indexFile)));
        } catch (IllegalArgumentException e) {
            throw new IOException(indexFile + ": " + e.getMessage(), e);
        }
    }

    static BundleIndex parseIndex(Map<String, byte[]> table) throws IOException {
        byte[] h = table.get("");
        if (h == null) throw new IllegalArgumentException("no BundleHeaderProto (empty key) in the index");
        BundleHeader header = parseHeader(h);
        LinkedHashMap<String, BundleEntry> entries = new LinkedHashMap<>();
        for (var e : table.entrySet()) {
            if (e.getKey().isEmpty()) continue;
            entries.put(e.getKey(), parseEntry(e.getValue()));
        }
        return new BundleIndex(header, entries);
    }

    public static BundleHeader parseHeader(byte[] bytes) throws IOException {
        BundleHeader h = new BundleHeader();
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1: h.numShards = in.readInt32(); break;
                case 2: h.endianness = in.readEnum(); break;
                case 3: {
                    int limit = in.pushLimit(in.readRawVarint32());
                    int t;
                    while ((t = in.readTag()) != 0) {
                        if (WireFormat.getTagFieldNumber(t) == 1) h.version = in.readInt32(); else in.skipField(t);
                    }
                    in.popLimit(limit);
                    break;
                }
                default: in.skipField(tag);
            }
        }
        return h;
    }

    public static BundleEntry parseEntry(byte[] bytes) throws IOException {
        BundleEntry e = new BundleEntry();
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1: e.dtype = in.readEnum(); break;
                case 2: {
                    int limit = in.pushLimit(in.readRawVarint32());
                    List<Long> dims = new ArrayList<>();
                    int t;
                    while ((t = in.readTag()) != 0) {
                        int f = WireFormat.getTagFieldNumber(t);
                        if (f == 2) {
                            int dl = in.pushLimit(in.readRawVarint32());
                            long size = 0;
                            int dt;
                            while ((dt = in.readTag()) != 0) {
                                if (WireFormat.getTagFieldNumber(dt) == 1) size = in.readInt64(); else in.skipField(dt);
                            }
                            in.popLimit(dl);
                            dims.add(size);
                        } else if (f == 3) {
                            e.unknownRank = in.readBool();
                        } else {
                            in.skipField(t);
                        }
                    }
                    in.popLimit(limit);
                    e.shape = dims.stream().mapToLong(Long::longValue).toArray();
                    break;
                }
                case 3: e.shardId = in.readInt32(); break;
                case 4: e.offset = in.readInt64(); break;
                case 5: e.size = in.readInt64(); break;
                case 6: e.crc32c = in.readFixed32(); break;
                case 7: e.sliced = true; in.skipField(tag); break;
                default: in.skipField(tag);
            }
        }
        return e;
    }

    /** The bundle prefix ({@code .../variables/variables}) of a SavedModel folder, a variables folder or an index file. */
    static Path bundlePrefix(Path p) {
        if (Files.isDirectory(p)) {
            if (Files.isRegularFile(p.resolve("variables").resolve("variables.index"))) return p.resolve("variables").resolve("variables");
            if (Files.isRegularFile(p.resolve("variables.index"))) return p.resolve("variables");
            throw new IllegalArgumentException(p + ": no variables/variables.index (not a TensorFlow SavedModel folder)");
        }
        String s = p.getFileName().toString();
        if (s.endsWith(".index") && Files.isRegularFile(p)) return p.resolveSibling(s.substring(0, s.length() - ".index".length()));
        throw new IllegalArgumentException(p + ": not a TensorFlow SavedModel folder or .index file");
    }

    /** Imports with the Google BERT head size of 64 (heads = hidden / 64). */
    public static Imported importBert(Path savedModel) throws IOException {
        return importBert(savedModel, 0);
    }

    /**
     * Imports a BERT SavedModel (folder), variables folder or {@code variables.index}. The head count is
     * not stored in the variables: pass it, or 0 for hidden / 64. Tensors that need no transpose are
     * views of the memory-mapped data file.
     */
    public static Imported importBert(Path savedModel, int numHeads) throws IOException {
        Path prefix = bundlePrefix(savedModel);
        Path indexFile = prefix.resolveSibling(prefix.getFileName() + ".index");
        String src = indexFile.toString();
        BundleIndex index = readIndex(indexFile);
        if (index.header.endianness != 0) throw new IllegalArgumentException(src + ": big-endian bundle not supported");
        int shards = Math.max(1, index.header.numShards);

        Map<String, HostTensor> named = new HashMap<>();
        Map<Integer, FileChannel> channels = new HashMap<>();
        try {
            for (var e : index.entries.entrySet()) {
                String tf = e.getKey();
                BundleEntry be = e.getValue();
                Mapped m = mapName(tf, src);
                if (m == null) continue;
                if (be.sliced) throw new IllegalArgumentException(src + ": variable '" + tf + "' is partitioned (slices not supported)");
                if (be.dtype != DT_FLOAT) {
                    throw new IllegalArgumentException(src + ": variable '" + tf + "' has TF dtype " + be.dtype + ", expected DT_FLOAT (1)");
                }
                if (be.size != be.numel() * 4) {
                    throw new IllegalArgumentException(src + ": variable '" + tf + "' has " + be.size + " bytes for shape "
                            + Arrays.toString(be.shape));
                }
                if (be.shardId < 0 || be.shardId >= shards) {
                    throw new IllegalArgumentException(src + ": variable '" + tf + "' in shard " + be.shardId + " of " + shards);
                }
                FileChannel ch = channels.get(be.shardId);
                if (ch == null) {
                    Path data = prefix.resolveSibling(prefix.getFileName() + String.format(".data-%05d-of-%05d", be.shardId, shards));
                    if (!Files.isRegularFile(data)) throw new IllegalArgumentException(src + ": data file " + data + " is missing");
                    ch = FileChannel.open(data, StandardOpenOption.READ);
                    channels.put(be.shardId, ch);
                }
                if (be.offset < 0 || be.offset + be.size > ch.size()) {
                    throw new IllegalArgumentException(src + ": variable '" + tf + "' lies outside its data file");
                }
                ByteBuffer bytes = ch.map(FileChannel.MapMode.READ_ONLY, be.offset, be.size).order(ByteOrder.LITTLE_ENDIAN);
                if (be.crc32c != null) {
                    CRC32C crc = new CRC32C();
                    crc.update(bytes.duplicate());
                    if ((int) crc.getValue() != LevelDbTable.unmaskCrc(be.crc32c)) {
                        throw new IllegalArgumentException(src + ": variable '" + tf + "' fails its CRC32C check (data file corrupt)");
                    }
                }
                HostTensor t = new HostTensor(HostTensor.DType.F32, be.shape, bytes);
                if (m.transpose) {
                    if (be.shape.length != 2) throw new IllegalArgumentException(src + ": kernel '" + tf + "' is not 2-D");
                    t = BertLayout.transpose(t);
                }
                if (named.put(m.hf, t) != null) throw new IllegalArgumentException(src + ": two variables map to '" + m.hf + "'");
            }
        } finally {
            for (FileChannel ch : channels.values()) ch.close();
        }

        BertConfig c = new BertConfig();
        HostTensor we = require(named, "bert.embeddings.word_embeddings.weight", src);
        c.vocabSize = Math.toIntExact(we.shape()[0]);
        c.hiddenSize = Math.toIntExact(we.shape()[1]);
        c.maxPositionEmbeddings = Math.toIntExact(require(named, "bert.embeddings.position_embeddings.weight", src).shape()[0]);
        c.typeVocabSize = Math.toIntExact(require(named, "bert.embeddings.token_type_embeddings.weight", src).shape()[0]);
        c.intermediateSize = Math.toIntExact(require(named, "bert.encoder.layer.0.intermediate.dense.weight", src).shape()[0]);
        int layers = 0;
        for (String k : named.keySet()) {
            if (k.startsWith("bert.")) layers = Math.max(layers, BertLayout.layerOf(k.substring(5)) + 1);
        }
        c.numHiddenLayers = layers;
        if (numHeads <= 0) {
            if (c.hiddenSize % 64 != 0) {
                throw new IllegalArgumentException(src + ": hidden size " + c.hiddenSize + " is not a multiple of 64; pass the head count");
            }
            numHeads = c.hiddenSize / 64;
        }
        c.numAttentionHeads = numHeads;
        c.layerNormEps = 1e-12f; // Google BERT
        c.hiddenAct = "gelu"; // as HF configures the Google checkpoints (their TF graph used the tanh approximation)
        c.validate();

        List<String> expected = new ArrayList<>();
        boolean pooler = named.containsKey("bert.pooler.dense.weight") || named.containsKey("bert.pooler.dense.bias");
        for (String k : BertLayout.bertModelKeys(layers, pooler)) expected.add("bert." + k);
        boolean mlm = false, nsp = false;
        for (String k : named.keySet()) {
            mlm |= k.startsWith("cls.predictions.");
            nsp |= k.startsWith("cls.seq_relationship.");
        }
        if (mlm) expected.addAll(Arrays.asList(BertLayout.MLM_HEAD));
        if (nsp) expected.addAll(Arrays.asList(BertLayout.NSP_HEAD));
        return new Imported(c, BertLayout.ordered(named, expected, "bert.", c, src));
    }

    private static HostTensor require(Map<String, HostTensor> named, String k, String src) {
        HostTensor t = named.get(k);
        if (t == null) throw new IllegalArgumentException(src + ": not a BERT checkpoint (no variable for '" + k + "')");
        return t;
    }

    record Mapped(String hf, boolean transpose) {}

    /** The HF name of a TF variable; null for variables to skip (optimizer slots, step counters). */
    static Mapped mapName(String tf, String src) {
        if (isSkipped(tf)) return null;
        String n = tf.startsWith("module/") ? tf.substring("module/".length()) : tf;
        if (n.equals("cls/predictions/output_bias")) return new Mapped("cls.predictions.bias", false);
        if (n.equals("cls/seq_relationship/output_weights")) return new Mapped("cls.seq_relationship.weight", false);
        if (n.equals("cls/seq_relationship/output_bias")) return new Mapped("cls.seq_relationship.bias", false);
        String[] parts = n.split("/");
        StringBuilder sb = new StringBuilder();
        boolean transpose = false;
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            boolean last = i == parts.length - 1;
            if (p.startsWith("layer_") && p.substring(6).matches("\\d+")) p = "layer." + p.substring(6);
            if (last) {
                switch (p) {
                    case "kernel": p = "weight"; transpose = true; break;
                    case "gamma": p = "weight"; break;
                    case "beta": case "bias": p = "bias"; break;
                    case "word_embeddings": case "position_embeddings": case "token_type_embeddings": p = p + ".weight"; break;
                    default: throw new IllegalArgumentException(src + ": unexpected variable '" + tf + "'");
                }
            }
            if (sb.length() > 0) sb.append('.');
            sb.append(p);
        }
        String hf = sb.toString();
        boolean ok = hf.startsWith("bert.") ? BertLayout.isBertModelName(hf.substring(5))
                : Arrays.asList(BertLayout.MLM_HEAD).contains(hf);
        if (!ok) throw new IllegalArgumentException(src + ": unexpected variable '" + tf + "' (would be '" + hf + "')");
        return new Mapped(hf, transpose);
    }

    private static boolean isSkipped(String tf) {
        if (tf.equals("global_step") || tf.endsWith("/global_step") || tf.startsWith("_CHECKPOINTABLE_OBJECT_GRAPH")) return true;
        String last = tf.substring(tf.lastIndexOf('/') + 1);
        return last.equals("adam_m") || last.equals("adam_v") || last.equals("Adam") || last.equals("Adam_1")
                || last.equals("Momentum") || last.startsWith("ExponentialMovingAverage") || last.equals("Adagrad")
                || last.equals("RMSProp") || last.equals("RMSProp_1") || last.equals("LAMB") || last.equals("LAMB_1");
    }
}
