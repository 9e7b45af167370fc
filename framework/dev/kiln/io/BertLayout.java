package dev.kiln.io;

import dev.kiln.models.BertConfig;
import dev.kiln.nn.HostTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** HF Transformers BERT parameter names and shapes, shared by the importers. */
final class BertLayout {
    private BertLayout() {}

    static final String[] LAYER_SUFFIXES = {
        "attention.self.query.weight", "attention.self.query.bias",
        "attention.self.key.weight", "attention.self.key.bias",
        "attention.self.value.weight", "attention.self.value.bias",
        "attention.output.dense.weight", "attention.output.dense.bias",
        "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
        "intermediate.dense.weight", "intermediate.dense.bias",
        "output.dense.weight", "output.dense.bias",
        "output.LayerNorm.weight", "output.LayerNorm.bias",
    };

    static final String[] EMBEDDINGS = {
        "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
    };

    static final String[] POOLER = {"pooler.dense.weight", "pooler.dense.bias"};

    /** BertForPreTraining heads (besides the tied decoder weight, which is not stored). */
    static final String[] MLM_HEAD = {
        "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
        "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
        "cls.predictions.bias",
    };
    static final String[] NSP_HEAD = {"cls.seq_relationship.weight", "cls.seq_relationship.bias"};

    private static final Pattern LAYER = Pattern.compile("encoder\\.layer\\.(\\d+)\\.(.+)");

    /** The layer index of an {@code encoder.layer.N.*} name (without {@code bert.}), or -1. */
    static int layerOf(String name) {
        Matcher m = LAYER.matcher(name);
        if (!m.matches() || !Arrays.asList(LAYER_SUFFIXES).contains(m.group(2))) return -1;
        return Integer.parseInt(m.group(1));
    }

    /** Whether {@code name} (without {@code bert.}) is a BertModel parameter name. */
    static boolean isBertModelName(String name) {
        return layerOf(name) >= 0 || Arrays.asList(EMBEDDINGS).contains(name) || Arrays.asList(POOLER).contains(name);
    }

    /** BertModel names in HF order (no {@code bert.} prefix). */
    static List<String> bertModelKeys(int layers, boolean pooler) {
        List<String> keys = new ArrayList<>(Arrays.asList(EMBEDDINGS));
        for (int l = 0; l < layers; l++) {
            for (String s : LAYER_SUFFIXES) keys.add("encoder.layer." + l + "." + s);
        }
        if (pooler) keys.addAll(Arrays.asList(POOLER));
        return keys;
    }

    /** Expected shape of a parameter (name without {@code bert.}), or null when the name is unknown. */
    static long[] expectedShape(String name, BertConfig c) {
        long h = c.hiddenSize, i = c.intermediateSize;
        switch (name) {
            case "embeddings.word_embeddings.weight": return new long[] {c.vocabSize, h};
            case "embeddings.position_embeddings.weight": return new long[] {c.maxPositionEmbeddings, h};
            case "embeddings.token_type_embeddings.weight": return new long[] {c.typeVocabSize, h};
            case "embeddings.LayerNorm.weight": case "embeddings.LayerNorm.bias": return new long[] {h};
            case "pooler.dense.weight": case "cls.predictions.transform.dense.weight": return new long[] {h, h};
            case "pooler.dense.bias": case "cls.predictions.transform.dense.bias": return new long[] {h};
            case "cls.predictions.transform.LayerNorm.weight": case "cls.predictions.transform.LayerNorm.bias":
                return new long[] {h};
            case "cls.predictions.bias": return new long[] {c.vocabSize};
            case "cls.seq_relationship.weight": return new long[] {2, h};
            case "cls.seq_relationship.bias": return new long[] {2};
            default: break;
        }
        Matcher m = LAYER.matcher(name);
        if (!m.matches()) return null;
        switch (m.group(2)) {
            case "attention.self.query.weight": case "attention.self.key.weight":
            case "attention.self.value.weight": case "attention.output.dense.weight":
                return new long[] {h, h};
            case "intermediate.dense.weight": return new long[] {i, h};
            case "intermediate.dense.bias": return new long[] {i};
            case "output.dense.weight": return new long[] {h, i};
            case "attention.self.query.bias": case "attention.self.key.bias": case "attention.self.value.bias":
            case "attention.output.dense.bias": case "attention.output.LayerNorm.weight":
            case "attention.output.LayerNorm.bias": case "output.dense.bias":
            case "output.LayerNorm.weight": case "output.LayerNorm.bias":
                return new long[] {h};
            default: return null;
        }
    }

    /**
     * Checks that {@code tensors} holds exactly {@code expected} with the shapes {@code c} implies, and
     * returns them in that order. {@code prefix} is stripped before looking up shapes.
     */
    static LinkedHashMap<String, HostTensor> ordered(Map<String, HostTensor> tensors, List<String> expected,
                                                     String prefix, BertConfig c, String source) {
        LinkedHashMap<String, HostTensor> out = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String k : expected) {
            HostTensor t = tensors.get(k);
            if (t == null) {
                missing.add(k);
                continue;
            }
            String bare = k.startsWith(prefix) ? k.substring(prefix.length()) : k;
            long[] want = expectedShape(bare, c);
            if (want == null) throw new IllegalStateException("no shape rule for " + k);
            if (!Arrays.equals(want, t.shape())) {
                throw new IllegalArgumentException(source + ": tensor '" + k + "' has shape "
                        + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(want));
            }
            if (t.dtype() != HostTensor.DType.F32) {
                throw new IllegalArgumentException(source + ": tensor '" + k + "' is " + t.dtype() + ", expected F32");
            }
            out.put(k, t);
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(source + ": missing tensors " + missing);
        }
        for (String k : tensors.keySet()) {
            if (!out.containsKey(k)) throw new IllegalArgumentException(source + ": unexpected tensor '" + k + "'");
        }
        return out;
    }

    /** A 2-D F32 tensor (rows, cols) transposed to (cols, rows), into a new heap buffer. */
    static HostTensor transpose(HostTensor t) {
        long[] s = t.shape();
        if (s.length != 2 || t.dtype() != HostTensor.DType.F32) {
            throw new IllegalArgumentException("transpose needs a 2-D F32 tensor, got " + t);
        }
        int rows = Math.toIntExact(s[0]), cols = Math.toIntExact(s[1]);
        FloatBuffer src = t.bytes().asFloatBuffer();
        ByteBuffer dstBytes = ByteBuffer.allocate(Math.multiplyExact(rows * cols, 4)).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer dst = dstBytes.asFloatBuffer();
        final int b = 64;
        float[] tile = new float[b * b];
        for (int r0 = 0; r0 < rows; r0 += b) {
            int rn = Math.min(b, rows - r0);
            for (int c0 = 0; c0 < cols; c0 += b) {
                int cn = Math.min(b, cols - c0);
                for (int r = 0; r < rn; r++) {
                    src.get((r0 + r) * cols + c0, tile, r * b, cn);
                }
                for (int c = 0; c < cn; c++) {
                    int base = (c0 + c) * rows + r0;
                    for (int r = 0; r < rn; r++) dst.put(base + r, tile[r * b + c]);
                }
            }
        }
        return new HostTensor(HostTensor.DType.F32, new long[] {cols, rows}, dstBytes);
    }
}
