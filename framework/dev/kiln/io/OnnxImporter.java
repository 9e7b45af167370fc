package dev.kiln.io;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import dev.kiln.models.BertConfig;
import dev.kiln.nn.HostTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Reads an fp32 BERT encoder exported to ONNX by HF Optimum / torch.onnx (the Xenova files that
 * langchain4j ships) into HF {@code BertModel} names.
 *
 * <p>Named initializers (embeddings, LayerNorms, biases) already carry HF names. Linear weights are
 * anonymous {@code onnx::MatMul_NNN} initializers stored (in, out); each is named after the bias of
 * the {@code Add} that consumes its {@code MatMul}'s output, and transposed to (out, in). The config
 * comes from the shapes, the attention Reshape constants (head count), the LayerNorm epsilon and the
 * activation ops. Anything that does not fit is an error naming the file and the node or tensor.
 */
public final class OnnxImporter {
    private OnnxImporter() {}

    // ONNX TensorProto.DataType
    static final int FLOAT = 1, INT64 = 7, INT32 = 6, DOUBLE = 11;

    /** A TensorProto: raw data is a view into the mapped file; typed fields are decoded. */
    static final class Tensor {
        String name = "";
        long[] dims = new long[0];
        int dataType;
        ByteBuffer raw;
        float[] floatData;
        long[] int64Data;
        boolean external;

        long numel() {
            return HostTensor.numel(dims);
        }

        /** The values as longs (INT64/INT32 tensors). */
        long[] longs() {
            if (int64Data != null && int64Data.length > 0) return int64Data;
            int n = Math.toIntExact(numel());
            long[] v = new long[n];
            if (raw == null) return v;
            ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) v[i] = dataType == INT64 ? b.getLong(8 * i) : b.getInt(4 * i);
            return v;
        }

        /** The values as floats (FLOAT/DOUBLE tensors). */
        float[] floats() {
            if (floatData != null && floatData.length > 0) return floatData;
            int n = Math.toIntExact(numel());
            float[] v = new float[n];
            if (raw == null) return v;
            ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) v[i] = dataType == DOUBLE ? (float) b.getDouble(8 * i) : b.getFloat(4 * i);
            return v;
        }

        HostTensor toHost() {
            if (dataType != FLOAT) throw new IllegalStateException("not FLOAT: " + name);
            if (raw != null) return new HostTensor(HostTensor.DType.F32, dims, raw);
            float[] v = floatData == null ? new float[0] : floatData;
            return HostTensor.ofFloats(dims, v);
        }
    }

    static final class Attr {
        String name = "";
        Float f;
        Long i;
        List<Long> ints = new ArrayList<>();
        Tensor t;
    }

    static final class Node {
        String name = "", op = "";
        List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        Map<String, Attr> attrs = new HashMap<>();

        @Override
        public String toString() {
            return op + " node '" + name + "'";
        }
    }

    /** The parts of a GraphProto the importer uses. */
    static final class Graph {
        final List<Node> nodes = new ArrayList<>();
        final LinkedHashMap<String, Tensor> initializers = new LinkedHashMap<>();
        boolean sparse;
    }

    /** Imports an fp32 BERT ONNX file. The tensors are views of the memory-mapped file. */
    public static Imported importBert(Path onnxFile) throws IOException {
        String src = onnxFile.toString();
        Graph g = readGraph(onnxFile);
        if (g.sparse) throw new IllegalArgumentException(src + ": sparse initializers are not supported");

        Map<String, Tensor> constants = new HashMap<>();
        Map<String, Node> producer = new HashMap<>();
        Map<String, List<Node>> consumers = new HashMap<>();
        for (Node n : g.nodes) {
            for (String o : n.outputs) producer.put(o, n);
            for (String i : n.inputs) consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
            if (n.op.equals("Constant") && n.outputs.size() == 1) {
                Tensor t = constantValue(n);
                if (t != null) constants.put(n.outputs.get(0), t);
            }
            if (n.op.equals("DequantizeLinear") || n.op.equals("MatMulInteger") || n.op.equals("QLinearMatMul")
                    || n.op.equals("DynamicQuantizeLinear")) {
                throw new IllegalArgumentException(src + ": " + n + " — this is a quantized model; "
                        + "only fp32 exports can be imported");
            }
        }
        for (Tensor t : g.initializers.values()) {
            if (t.external) {
                throw new IllegalArgumentException(src + ": initializer '" + t.name + "' uses external data (not supported)");
            }
        }

        Map<String, HostTensor> named = new HashMap<>();
        java.util.Set<String> used = new java.util.HashSet<>();
        // 1. Linear weights: MatMul(x, W) -> Add(named bias).
        for (Node n : g.nodes) {
            if (!n.op.equals("MatMul")) continue;
            if (n.inputs.size() != 2) throw new IllegalArgumentException(src + ": " + n + " has " + n.inputs.size() + " inputs");
            if (g.initializers.containsKey(n.inputs.get(0))) {
                throw new IllegalArgumentException(src + ": " + n + " has an initializer as its first input ('"
                        + n.inputs.get(0) + "'); expected x @ W");
            }
            Tensor w = g.initializers.get(n.inputs.get(1));
            if (w == null) continue; // activation x activation (attention scores)
            if (w.dataType != FLOAT || w.dims.length != 2) {
                throw new IllegalArgumentException(src + ": " + n + " weight '" + w.name + "' is not a 2-D float tensor");
            }
            String biasName = null;
            for (Node c : consumers.getOrDefault(n.outputs.get(0), List.of())) {
                if (!c.op.equals("Add") || c.inputs.size() != 2) continue;
                for (String in : c.inputs) {
                    Tensor b = g.initializers.get(in);
                    if (b != null && in.endsWith(".bias") && b.dims.length == 1 && b.dims[0] == w.dims[1]) {
                        if (biasName != null && !biasName.equals(in)) {
                            throw new IllegalArgumentException(src + ": " + n + " feeds two biases, '" + biasName + "' and '" + in + "'");
                        }
                        biasName = in;
                    }
                }
            }
            if (biasName == null) {
                throw new IllegalArgumentException(src + ": " + n + " weight '" + w.name
                        + "' is not followed by an Add with a named bias; cannot name it");
            }
            String hf = biasName.substring(0, biasName.length() - ".bias".length()) + ".weight";
            if (!BertLayout.isBertModelName(hf)) {
                throw new IllegalArgumentException(src + ": " + n + " weight '" + w.name + "' maps to '" + hf
                        + "', which is not a BertModel parameter");
            }
            if (named.containsKey(hf)) {
                throw new IllegalArgumentException(src + ": " + n + " maps a second weight to '" + hf + "'");
            }
            named.put(hf, BertLayout.transpose(w.toHost()));
            used.add(w.name);
        }
        // 2. Named initializers.
        for (Tensor t : g.initializers.values()) {
            if (used.contains(t.name)) continue;
            if (t.name.equals("embeddings.position_ids")) continue; // a buffer (0..max-1), not a parameter
            if (BertLayout.isBertModelName(t.name)) {
                if (t.dataType != FLOAT) {
                    throw new IllegalArgumentException(src + ": initializer '" + t.name + "' has ONNX data type "
                            + t.dataType + ", expected FLOAT (1)");
                }
                if (named.containsKey(t.name)) throw new IllegalArgumentException(src + ": '" + t.name + "' defined twice");
                named.put(t.name, t.toHost());
                continue;
            }
            if ((t.dataType == INT64 || t.dataType == INT32) || t.numel() <= 1) continue; // shape / scalar constants
            throw new IllegalArgumentException(src + ": initializer '" + t.name + "' " + java.util.Arrays.toString(t.dims)
                    + " is not a BertModel parameter and no MatMul names it");
        }

        // 3. Config from shapes and graph.
        BertConfig c = new BertConfig();
        HostTensor we = named.get("embeddings.word_embeddings.weight");
        HostTensor pe = named.get("embeddings.position_embeddings.weight");
        HostTensor te = named.get("embeddings.token_type_embeddings.weight");
        HostTensor inter = named.get("encoder.layer.0.intermediate.dense.weight");
        if (we == null || pe == null || te == null || inter == null) {
            throw new IllegalArgumentException(src + ": not a BERT encoder (missing "
                    + (we == null ? "embeddings.word_embeddings.weight" : pe == null ? "embeddings.position_embeddings.weight"
                    : te == null ? "embeddings.token_type_embeddings.weight" : "encoder.layer.0.intermediate.dense.weight") + ")");
        }
        c.vocabSize = Math.toIntExact(we.shape()[0]);
        c.hiddenSize = Math.toIntExact(we.shape()[1]);
        c.maxPositionEmbeddings = Math.toIntExact(pe.shape()[0]);
        c.typeVocabSize = Math.toIntExact(te.shape()[0]);
        c.intermediateSize = Math.toIntExact(inter.shape()[0]);
        int layers = 0;
        for (String k : named.keySet()) layers = Math.max(layers, BertLayout.layerOf(k) + 1);
        c.numHiddenLayers = layers;
        c.numAttentionHeads = inferHeads(g, constants, producer, c.hiddenSize, src);
        c.layerNormEps = inferEps(g, constants, producer, src);
        c.hiddenAct = inferAct(g, constants, src);
        c.validate();

        boolean pooler = named.containsKey("pooler.dense.weight") || named.containsKey("pooler.dense.bias");
        LinkedHashMap<String, HostTensor> out = BertLayout.ordered(named, BertLayout.bertModelKeys(layers, pooler), "", c, src);
        return new Imported(c, out);
    }

    /** Head count from attention Reshapes to [batch, seq, heads, head_dim] with heads * head_dim == hidden. */
    private static int inferHeads(Graph g, Map<String, Tensor> constants, Map<String, Node> producer, int hidden, String src) {
        TreeSet<Long> found = new TreeSet<>();
        for (Node n : g.nodes) {
            if (!n.op.equals("Reshape") || n.inputs.size() < 2) continue;
            long[] shape = shapeValues(n.inputs.get(1), g, constants, producer);
            if (shape == null || shape.length != 4) continue;
            long heads = shape[2], dim = shape[3];
            if (heads > 0 && dim > 0 && heads * dim == hidden) found.add(heads);
        }
        if (found.size() != 1) {
            throw new IllegalArgumentException(src + ": cannot infer the attention head count from the Reshape nodes "
                    + "(found " + found + " for hidden size " + hidden + ")");
        }
        return Math.toIntExact(found.first());
    }

    /** A shape given as a constant, or as a Concat of pieces (unknown pieces are -1); null if neither. */
    private static long[] shapeValues(String name, Graph g, Map<String, Tensor> constants, Map<String, Node> producer) {
        Tensor t = constantTensor(name, g, constants);
        if (t != null) return (t.dataType == INT64 || t.dataType == INT32) ? t.longs() : null;
        Node p = producer.get(name);
        if (p == null || !p.op.equals("Concat")) return null;
        List<Long> v = new ArrayList<>();
        for (String in : p.inputs) {
            Tensor c = constantTensor(in, g, constants);
            if (c != null && (c.dataType == INT64 || c.dataType == INT32)) {
                for (long x : c.longs()) v.add(x);
            } else {
                v.add(-1L); // a dynamic dimension (one element per Unsqueeze'd scalar)
            }
        }
        long[] a = new long[v.size()];
        for (int i = 0; i < a.length; i++) a[i] = v.get(i);
        return a;
    }

    private static Tensor constantTensor(String name, Graph g, Map<String, Tensor> constants) {
        Tensor t = constants.get(name);
        return t != null ? t : g.initializers.get(name);
    }

    /** LayerNormalization's epsilon, or the scalar added to the variance before Sqrt in a decomposed LayerNorm. */
    private static float inferEps(Graph g, Map<String, Tensor> constants, Map<String, Node> producer, String src) {
        TreeSet<Float> found = new TreeSet<>();
        for (Node n : g.nodes) {
            if (n.op.equals("LayerNormalization")) {
                Attr a = n.attrs.get("epsilon");
                found.add(a != null && a.f != null ? a.f : 1e-5f);
            } else if (n.op.equals("Sqrt") && n.inputs.size() == 1) {
                Node add = producer.get(n.inputs.get(0));
                if (add == null || !add.op.equals("Add")) continue;
                for (String in : add.inputs) {
                    Tensor t = constantTensor(in, g, constants);
                    if (t != null && t.numel() == 1 && (t.dataType == FLOAT || t.dataType == DOUBLE)) found.add(t.floats()[0]);
                }
            }
        }
        if (found.size() != 1) {
            throw new IllegalArgumentException(src + ": cannot infer layer_norm_eps (found " + found + ")");
        }
        return found.first();
    }

    private static String inferAct(Graph g, Map<String, Tensor> constants, String src) {
        boolean erf = false, relu = false, cube = false;
        for (Node n : g.nodes) {
            switch (n.op) {
                case "Erf": erf = true; break;
                case "Relu": relu = true; break;
                case "Gelu": {
                    Attr a = n.attrs.get("approximate");
                    if (a == null) erf = true; else cube = true;
                    break;
                }
                case "Pow": {
                    Tensor t = n.inputs.size() == 2 ? constantTensor(n.inputs.get(1), g, constants) : null;
                    if (t != null && t.numel() == 1 && t.floats()[0] == 3f) cube = true;
                    break;
                }
                default: break;
            }
        }
        if (erf && !relu) return "gelu";
        if (relu && !erf) return "relu";
        if (cube && !erf && !relu) return "gelu_new";
        throw new IllegalArgumentException(src + ": cannot infer hidden_act (Erf " + erf + ", Relu " + relu + ", x^3 " + cube + ")");
    }

    private static Tensor constantValue(Node n) {
        Attr a = n.attrs.get("value");
        if (a != null && a.t != null) return a.t;
        Attr f = n.attrs.get("value_float");
        if (f != null && f.f != null) {
            Tensor t = new Tensor();
            t.dataType = FLOAT;
            t.floatData = new float[] {f.f};
            return t;
        }
        Attr i = n.attrs.get("value_int");
        if (i != null && i.i != null) {
            Tensor t = new Tensor();
            t.dataType = INT64;
            t.int64Data = new long[] {i.i};
            return t;
        }
        Attr is = n.attrs.get("value_ints");
        if (is != null) {
            Tensor t = new Tensor();
            t.dataType = INT64;
            t.dims = new long[] {is.ints.size()};
            t.int64Data = is.ints.stream().mapToLong(Long::longValue).toArray();
            return t;
        }
        return null;
    }

    // ---- protobuf reading -------------------------------------------------------------------------

    /** Parses the graph of an ONNX ModelProto. Raw tensor data stays in the mapped file. */
    static Graph readGraph(Path file) throws IOException {
        MappedByteBuffer map;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(file + ": " + ch.size() + " bytes; ONNX files over 2 GB use external data, not supported");
            }
            map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        }
        try {
            return readModel(map);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IOException(file + ": not a valid ONNX protobuf: " + e.getMessage(), e);
        }
    }

    static Graph readModel(ByteBuffer file) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(file.duplicate());
        in.setSizeLimit(Integer.MAX_VALUE);
        Graph g = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            if (WireFormat.getTagFieldNumber(tag) == 7 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int limit = in.pushLimit(in.readRawVarint32());
                g = readGraph(in, file);
                in.popLimit(limit);
            } else {
                in.skipField(tag);
            }
        }
        if (g == null) throw new IOException("no graph in ONNX model");
        return g;
    }

    private static Graph readGraph(CodedInputStream in, ByteBuffer file) throws IOException {
        Graph g = new Graph();
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1: {
                    int limit = in.pushLimit(in.readRawVarint32());
                    g.nodes.add(readNode(in, file));
                    in.popLimit(limit);
                    break;
                }
                case 5: {
                    int limit = in.pushLimit(in.readRawVarint32());
                    Tensor t = readTensor(in, file);
                    in.popLimit(limit);
                    g.initializers.put(t.name, t);
                    break;
                }
                case 15: g.sparse = true; in.skipField(tag); break;
                default: in.skipField(tag);
            }
        }
        return g;
    }

    private static Node readNode(CodedInputStream in, ByteBuffer file) throws IOException {
        Node n = new Node();
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1: n.inputs.add(in.readString()); break;
                case 2: n.outputs.add(in.readString()); break;
                case 3: n.name = in.readString(); break;
                case 4: n.op = in.readString(); break;
                case 5: {
                    int limit = in.pushLimit(in.readRawVarint32());
                    Attr a = readAttr(in, file);
                    in.popLimit(limit);
                    n.attrs.put(a.name, a);
                    break;
                }
                default: in.skipField(tag);
            }
        }
        return n;
    }

    private static Attr readAttr(CodedInputStream in, ByteBuffer file) throws IOException {
        Attr a = new Attr();
        int tag;
        while ((tag = in.readTag()) != 0) {
            int wt = WireFormat.getTagWireType(tag);
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1: a.name = in.readString(); break;
                case 2: a.f = in.readFloat(); break;
                case 3: a.i = in.readInt64(); break;
                case 5: {
                    int limit = in.pushLimit(in.readRawVarint32());
                    a.t = readTensor(in, file);
                    in.popLimit(limit);
                    break;
                }
                case 8:
                    if (wt == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) a.ints.add(in.readInt64());
                        in.popLimit(limit);
                    } else {
                        a.ints.add(in.readInt64());
                    }
                    break;
                default: in.skipField(tag);
            }
        }
        return a;
    }

    static Tensor readTensor(CodedInputStream in, ByteBuffer file) throws IOException {
        Tensor t = new Tensor();
        List<Long> dims = new ArrayList<>();
        List<Float> floats = null;
        List<Long> int64s = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            int wt = WireFormat.getTagWireType(tag);
            boolean packed = wt == WireFormat.WIRETYPE_LENGTH_DELIMITED;
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1:
                    if (packed) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) dims.add(in.readInt64());
                        in.popLimit(limit);
                    } else {
                        dims.add(in.readInt64());
                    }
                    break;
                case 2: t.dataType = in.readInt32(); break;
                case 4:
                    if (floats == null) floats = new ArrayList<>();
                    if (packed) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) floats.add(in.readFloat());
                        in.popLimit(limit);
                    } else {
                        floats.add(in.readFloat());
                    }
                    break;
                case 7:
                    if (int64s == null) int64s = new ArrayList<>();
                    if (packed) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) int64s.add(in.readInt64());
                        in.popLimit(limit);
                    } else {
                        int64s.add(in.readInt64());
                    }
                    break;
                case 8: t.name = in.readString(); break;
                case 9: {
                    int len = in.readRawVarint32();
                    int pos = in.getTotalBytesRead();
                    in.skipRawBytes(len);
                    t.raw = file.duplicate().position(pos).limit(pos + len).slice().order(ByteOrder.LITTLE_ENDIAN);
                    break;
                }
                case 13: t.external = true; in.skipField(tag); break;
                case 14: if (in.readInt32() == 1) t.external = true; break;
                case 3: throw new IOException("tensor '" + t.name + "' is segmented (not supported)");
                default: in.skipField(tag);
            }
        }
        t.dims = dims.stream().mapToLong(Long::longValue).toArray();
        if (floats != null) {
            t.floatData = new float[floats.size()];
            for (int i = 0; i < t.floatData.length; i++) t.floatData[i] = floats.get(i);
        }
        if (int64s != null) t.int64Data = int64s.stream().mapToLong(Long::longValue).toArray();
        if (t.raw != null && t.raw.remaining() != t.numel() * elementSize(t.dataType) && elementSize(t.dataType) > 0) {
            throw new IOException("tensor '" + t.name + "': raw_data has " + t.raw.remaining() + " bytes for dims "
                    + java.util.Arrays.toString(t.dims) + " of ONNX type " + t.dataType);
        }
        if (floats != null && t.floatData.length != t.numel()) {
            throw new IOException("tensor '" + t.name + "': float_data has " + t.floatData.length + " values for dims "
                    + java.util.Arrays.toString(t.dims));
        }
        return t;
    }

    private static int elementSize(int onnxType) {
        switch (onnxType) {
            case 1: case 6: case 12: return 4; // FLOAT, INT32, UINT32
            case 7: case 11: case 13: return 8; // INT64, DOUBLE, UINT64
            case 2: case 3: case 9: return 1; // UINT8, INT8, BOOL
            case 4: case 5: case 10: case 16: return 2; // UINT16, INT16, FLOAT16, BFLOAT16
            default: return -1;
        }
    }
}
