package dev.kiln.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What HF transformers computes for a model folder, written from HF's modeling code (BertModel, BertFor*,
 * GPT2Model, GPT2For*, GPT2LMHeadModel) and sharing no code with Kiln's models: its own safetensors reader
 * (F32), config.json read field by field, plain-Java loops with double accumulation, one sequence at a time.
 *
 * <p>Like {@code from_pretrained}, it reads only config.json and model.safetensors, picks the class from
 * {@code architectures[0]}, accepts backbone keys with or without the base-model prefix ({@code bert.} /
 * {@code transformer.}), ties the decoders to the word embeddings, and — unlike HF, which would
 * initialise them randomly with a warning — fails on any weight the class needs that the file lacks.
 */
public final class HfReference {
    public final String architecture;
    public final JsonObject config;
    private final Map<String, float[]> w;
    private final boolean gpt;
    private final String prefix;

    private HfReference(JsonObject config, Map<String, float[]> weights) {
        this.config = config;
        this.w = weights;
        this.architecture = config.getAsJsonArray("architectures").get(0).getAsString();
        this.gpt = config.get("model_type").getAsString().equals("gpt2");
        this.prefix = gpt ? "transformer." : "bert.";
    }

    public static HfReference load(Path dir) throws IOException {
        JsonObject cfg = JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
        return new HfReference(cfg, readF32(dir.resolve("model.safetensors")));
    }

    /** Every tensor of a safetensors file as floats (F32 only; anything else fails). */
    public static Map<String, float[]> readF32(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) bb.getLong(0);
        JsonObject header = JsonParser.parseString(new String(all, 8, n, StandardCharsets.UTF_8)).getAsJsonObject();
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : header.entrySet()) {
            if (e.getKey().equals("__metadata__")) continue;
            JsonObject t = e.getValue().getAsJsonObject();
            if (!t.get("dtype").getAsString().equals("F32")) throw new IOException(e.getKey() + ": dtype " + t.get("dtype"));
            long begin = t.getAsJsonArray("data_offsets").get(0).getAsLong();
            long end = t.getAsJsonArray("data_offsets").get(1).getAsLong();
            float[] f = new float[(int) ((end - begin) / 4)];
            for (int i = 0; i < f.length; i++) f[i] = bb.getFloat((int) (8 + n + begin + 4L * i));
            out.put(e.getKey(), f);
        }
        return out;
    }

    // ---- the HF classes -------------------------------------------------------------------------

    /**
     * The class's main output for one (right-padded) row: logits [1][labels] for *ForSequenceClassification,
     * [T][labels] for *ForTokenClassification, [T][2] (start, end) for *ForQuestionAnswering, prediction
     * logits [T][vocab] for BertForMaskedLM / BertForPreTraining / GPT2LMHeadModel, last_hidden_state [T][H]
     * for BertModel / GPT2Model.
     */
    public float[][] forward(long[] ids, long[] typeIds, long[] mask) {
        float[][] h = gpt ? gpt2(ids, mask) : bert(ids, typeIds, mask);
        switch (architecture) {
            case "BertModel":
            case "GPT2Model":
                return h;
            case "BertForSequenceClassification": {
                float[] pooled = tanh(linear(h[0], backbone("pooler.dense.weight"), backbone("pooler.dense.bias")));
                return new float[][] {linear(pooled, need("classifier.weight"), need("classifier.bias"))};
            }
            case "GPT2ForSequenceClassification": {
                // modeling_gpt2: the rightmost token that is not pad_token_id (the last token when there is none)
                int last = ids.length - 1;
                if (config.has("pad_token_id") && !config.get("pad_token_id").isJsonNull()) {
                    long pad = config.get("pad_token_id").getAsLong();
                    last = 0;
                    for (int i = 0; i < ids.length; i++) if (ids[i] != pad) last = i;
                }
                return new float[][] {linear(h[last], need("score.weight"), null)};
            }
            case "BertForTokenClassification":
            case "GPT2ForTokenClassification":
                return perToken(h, need("classifier.weight"), need("classifier.bias"));
            case "BertForQuestionAnswering":
            case "GPT2ForQuestionAnswering":
                return perToken(h, need("qa_outputs.weight"), need("qa_outputs.bias"));
            case "BertForMaskedLM":
            case "BertForPreTraining":
                return mlm(h);
            case "GPT2LMHeadModel": {
                float[] wte = w.containsKey("lm_head.weight") ? w.get("lm_head.weight") : backbone("wte.weight");
                return perToken(h, wte, null);
            }
            default:
                throw new IllegalArgumentException("architecture " + architecture + " is not in the reference");
        }
    }

    /** BertForPreTraining's seq_relationship logits [2] (NSP), from the pooled [CLS]. */
    public float[] nspLogits(long[] ids, long[] typeIds, long[] mask) {
        float[][] h = bert(ids, typeIds, mask);
        float[] pooled = tanh(linear(h[0], backbone("pooler.dense.weight"), backbone("pooler.dense.bias")));
        return linear(pooled, need("cls.seq_relationship.weight"), need("cls.seq_relationship.bias"));
    }

    private float[][] mlm(float[][] h) {
        float[] dw = need("cls.predictions.transform.dense.weight"), db = need("cls.predictions.transform.dense.bias");
        float[] g = need("cls.predictions.transform.LayerNorm.weight"), b = need("cls.predictions.transform.LayerNorm.bias");
        float[] dec = w.containsKey("cls.predictions.decoder.weight") && !tied() ? w.get("cls.predictions.decoder.weight")
                : backbone("embeddings.word_embeddings.weight");
        float[] bias = need("cls.predictions.bias");
        float[][] out = new float[h.length][];
        for (int i = 0; i < h.length; i++) {
            float[] y = layerNorm(act(linear(h[i], dw, db), config.get("hidden_act").getAsString()), g, b, bertEps());
            out[i] = linear(y, dec, bias);
        }
        return out;
    }

    private boolean tied() {
        return !config.has("tie_word_embeddings") || config.get("tie_word_embeddings").getAsBoolean();
    }

    // ---- BERT (post-LN) -----------------------------------------------------------------------------

    private double bertEps() {
        return config.has("layer_norm_eps") ? config.get("layer_norm_eps").getAsDouble() : 1e-12;
    }

    private float[][] bert(long[] ids, long[] typeIds, long[] mask) {
        int t = ids.length, hs = config.get("hidden_size").getAsInt();
        float[] word = backbone("embeddings.word_embeddings.weight");
        float[] pos = backbone("embeddings.position_embeddings.weight");
        float[] type = backbone("embeddings.token_type_embeddings.weight");
        float[][] x = new float[t][hs];
        for (int i = 0; i < t; i++) {
            long ty = typeIds == null ? 0 : typeIds[i];
            for (int j = 0; j < hs; j++) x[i][j] = word[(int) ids[i] * hs + j] + pos[i * hs + j] + type[(int) ty * hs + j];
            x[i] = layerNorm(x[i], backbone("embeddings.LayerNorm.weight"), backbone("embeddings.LayerNorm.bias"), bertEps());
        }
        int heads = config.get("num_attention_heads").getAsInt();
        String act = config.get("hidden_act").getAsString();
        for (int l = 0; l < config.get("num_hidden_layers").getAsInt(); l++) {
            String p = "encoder.layer." + l + ".";
            float[][] q = perToken(x, backbone(p + "attention.self.query.weight"), backbone(p + "attention.self.query.bias"));
            float[][] k = perToken(x, backbone(p + "attention.self.key.weight"), backbone(p + "attention.self.key.bias"));
            float[][] v = perToken(x, backbone(p + "attention.self.value.weight"), backbone(p + "attention.self.value.bias"));
            float[][] ctx = attention(q, k, v, mask, heads, false);
            float[][] a = perToken(ctx, backbone(p + "attention.output.dense.weight"), backbone(p + "attention.output.dense.bias"));
            for (int i = 0; i < t; i++) {
                x[i] = layerNorm(add(a[i], x[i]), backbone(p + "attention.output.LayerNorm.weight"),
                        backbone(p + "attention.output.LayerNorm.bias"), bertEps());
                float[] inter = act(linear(x[i], backbone(p + "intermediate.dense.weight"), backbone(p + "intermediate.dense.bias")), act);
                float[] o = linear(inter, backbone(p + "output.dense.weight"), backbone(p + "output.dense.bias"));
                x[i] = layerNorm(add(o, x[i]), backbone(p + "output.LayerNorm.weight"), backbone(p + "output.LayerNorm.bias"), bertEps());
            }
        }
        return x;
    }

    // ---- GPT-2 (pre-LN, Conv1D weights stored (in, out)) ----------------------------------------------

    private float[][] gpt2(long[] ids, long[] mask) {
        int t = ids.length, e = config.get("n_embd").getAsInt();
        double eps = config.has("layer_norm_epsilon") ? config.get("layer_norm_epsilon").getAsDouble() : 1e-5;
        String act = config.has("activation_function") ? config.get("activation_function").getAsString() : "gelu_new";
        float[] wte = backbone("wte.weight"), wpe = backbone("wpe.weight");
        float[][] x = new float[t][e];
        for (int i = 0; i < t; i++) for (int j = 0; j < e; j++) x[i][j] = wte[(int) ids[i] * e + j] + wpe[i * e + j];
        int heads = config.get("n_head").getAsInt();
        for (int l = 0; l < config.get("n_layer").getAsInt(); l++) {
            String p = "h." + l + ".";
            float[][] ln = new float[t][];
            for (int i = 0; i < t; i++) ln[i] = layerNorm(x[i], backbone(p + "ln_1.weight"), backbone(p + "ln_1.bias"), eps);
            float[][] qkv = conv1d(ln, backbone(p + "attn.c_attn.weight"), backbone(p + "attn.c_attn.bias"));
            float[][] q = new float[t][e], k = new float[t][e], v = new float[t][e];
            for (int i = 0; i < t; i++) {
                System.arraycopy(qkv[i], 0, q[i], 0, e);
                System.arraycopy(qkv[i], e, k[i], 0, e);
                System.arraycopy(qkv[i], 2 * e, v[i], 0, e);
            }
            float[][] a = conv1d(attention(q, k, v, mask, heads, true), backbone(p + "attn.c_proj.weight"), backbone(p + "attn.c_proj.bias"));
            for (int i = 0; i < t; i++) x[i] = add(x[i], a[i]);
            for (int i = 0; i < t; i++) ln[i] = layerNorm(x[i], backbone(p + "ln_2.weight"), backbone(p + "ln_2.bias"), eps);
            float[][] m = conv1d(ln, backbone(p + "mlp.c_fc.weight"), backbone(p + "mlp.c_fc.bias"));
            for (int i = 0; i < t; i++) m[i] = act(m[i], act);
            m = conv1d(m, backbone(p + "mlp.c_proj.weight"), backbone(p + "mlp.c_proj.bias"));
            for (int i = 0; i < t; i++) x[i] = add(x[i], m[i]);
        }
        for (int i = 0; i < t; i++) x[i] = layerNorm(x[i], backbone("ln_f.weight"), backbone("ln_f.bias"), eps);
        return x;
    }

    // ---- pieces -------------------------------------------------------------------------------------

    /** A backbone weight, under the base-model prefix or without it (as from_pretrained accepts both). */
    private float[] backbone(String name) {
        float[] v = w.get(prefix + name);
        if (v == null) v = w.get(name);
        if (v == null) throw new IllegalStateException(architecture + " needs " + prefix + name + "; model.safetensors lacks it");
        return v;
    }

    private float[] need(String name) {
        float[] v = w.get(name);
        if (v == null) throw new IllegalStateException(architecture + " needs " + name + "; model.safetensors lacks it");
        return v;
    }

    /** Scaled dot-product attention over keys the mask allows (and, when causal, not after the query). */
    private static float[][] attention(float[][] q, float[][] k, float[][] v, long[] mask, int heads, boolean causal) {
        int t = q.length, e = q[0].length, d = e / heads;
        float[][] ctx = new float[t][e];
        for (int hd = 0; hd < heads; hd++) {
            for (int i = 0; i < t; i++) {
                double[] s = new double[t];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < t; j++) {
                    if ((mask != null && mask[j] == 0) || (causal && j > i)) {
                        s[j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += (double) q[i][hd * d + c] * k[j][hd * d + c];
                    s[j] = dot / Math.sqrt(d);
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < t; j++) sum += (s[j] = s[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[j] - max));
                for (int c = 0; c < d; c++) {
                    double acc = 0;
                    for (int j = 0; j < t; j++) acc += s[j] / sum * v[j][hd * d + c];
                    ctx[i][hd * d + c] = (float) acc;
                }
            }
        }
        return ctx;
    }

    /** y = W x + b with W stored (out, in), as nn.Linear; {@code b} may be null. */
    public static float[] linear(float[] x, float[] wt, float[] b) {
        int in = x.length, out = wt.length / in;
        if (wt.length != out * in) throw new IllegalArgumentException("weight of " + wt.length + " is not (out, " + in + ")");
        float[] y = new float[out];
        for (int o = 0; o < out; o++) {
            double acc = b == null ? 0 : b[o];
            for (int j = 0; j < in; j++) acc += (double) x[j] * wt[o * in + j];
            y[o] = (float) acc;
        }
        return y;
    }

    private static float[][] perToken(float[][] x, float[] wt, float[] b) {
        float[][] y = new float[x.length][];
        for (int i = 0; i < x.length; i++) y[i] = linear(x[i], wt, b);
        return y;
    }

    /** GPT-2's Conv1D: y = x W + b with W stored (in, out). */
    private static float[][] conv1d(float[][] x, float[] wt, float[] b) {
        int in = x[0].length, out = b.length;
        float[][] y = new float[x.length][out];
        for (int i = 0; i < x.length; i++) {
            double[] acc = new double[out];
            for (int o = 0; o < out; o++) acc[o] = b[o];
            for (int j = 0; j < in; j++) {
                double xj = x[i][j];
                for (int o = 0; o < out; o++) acc[o] += xj * wt[j * out + o];
            }
            for (int o = 0; o < out; o++) y[i][o] = (float) acc[o];
        }
        return y;
    }

    private static float[] layerNorm(float[] x, float[] g, float[] b, double eps) {
        double mean = 0, var = 0;
        for (float v : x) mean += v;
        mean /= x.length;
        for (float v : x) var += (v - mean) * (v - mean);
        var /= x.length;
        double inv = 1 / Math.sqrt(var + eps);
        float[] y = new float[x.length];
        for (int j = 0; j < x.length; j++) y[j] = (float) ((x[j] - mean) * inv * g[j] + b[j]);
        return y;
    }

    private static float[] act(float[] x, String name) {
        float[] y = new float[x.length];
        for (int j = 0; j < x.length; j++) {
            double v = x[j];
            switch (name) {
                case "gelu": y[j] = (float) (0.5 * v * (1 + RefBert.erf(v / Math.sqrt(2)))); break;
                case "gelu_new":
                case "gelu_pytorch_tanh":
                    y[j] = (float) (0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))); break;
                case "relu": y[j] = (float) Math.max(0, v); break;
                default: throw new IllegalArgumentException("activation " + name);
            }
        }
        return y;
    }

    private static float[] tanh(float[] x) {
        float[] y = new float[x.length];
        for (int j = 0; j < x.length; j++) y[j] = (float) Math.tanh(x[j]);
        return y;
    }

    private static float[] add(float[] a, float[] b) {
        float[] y = new float[a.length];
        for (int j = 0; j < a.length; j++) y[j] = a[j] + b[j];
        return y;
    }
}
