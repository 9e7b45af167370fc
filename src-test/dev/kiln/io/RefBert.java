package dev.kiln.io;

import dev.kiln.models.BertConfig;
import dev.kiln.nn.HostTensor;

import java.util.Map;

/**
 * A plain-Java HF BERT forward pass (one unpadded sequence, fp32 storage, double accumulation), used
 * only to prove that imported weights have the right names and orientations.
 */
final class RefBert {
    private final Map<String, HostTensor> w;
    private final String p;
    private final BertConfig c;

    RefBert(Map<String, HostTensor> weights, String prefix, BertConfig config) {
        this.w = weights;
        this.p = prefix;
        this.c = config;
    }

    private float[] get(String name) {
        HostTensor t = w.get(name);
        if (t == null) throw new IllegalArgumentException("no tensor " + name);
        return t.toFloats();
    }

    /** last_hidden_state [T][H] for token ids (token type 0). */
    float[][] encode(int[] ids) {
        int t = ids.length, h = c.hiddenSize;
        float[] word = get(p + "embeddings.word_embeddings.weight");
        float[] pos = get(p + "embeddings.position_embeddings.weight");
        float[] type = get(p + "embeddings.token_type_embeddings.weight");
        float[][] x = new float[t][h];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < h; j++) x[i][j] = word[ids[i] * h + j] + pos[i * h + j] + type[j];
        }
        x = layerNorm(x, p + "embeddings.LayerNorm");
        int heads = c.numAttentionHeads, d = h / heads;
        for (int l = 0; l < c.numHiddenLayers; l++) {
            String L = p + "encoder.layer." + l + ".";
            float[][] q = linear(x, L + "attention.self.query");
            float[][] k = linear(x, L + "attention.self.key");
            float[][] v = linear(x, L + "attention.self.value");
            float[][] ctx = new float[t][h];
            for (int hd = 0; hd < heads; hd++) {
                for (int i = 0; i < t; i++) {
                    double[] s = new double[t];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) dot += (double) q[i][hd * d + e] * k[j][hd * d + e];
                        s[j] = dot / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) sum += (s[j] = Math.exp(s[j] - max));
                    for (int e = 0; e < d; e++) {
                        double acc = 0;
                        for (int j = 0; j < t; j++) acc += s[j] / sum * v[j][hd * d + e];
                        ctx[i][hd * d + e] = (float) acc;
                    }
                }
            }
            x = layerNorm(add(linear(ctx, L + "attention.output.dense"), x), L + "attention.output.LayerNorm");
            float[][] inter = gelu(linear(x, L + "intermediate.dense"));
            x = layerNorm(add(linear(inter, L + "output.dense"), x), L + "output.LayerNorm");
        }
        return x;
    }

    /** MLM logits [vocab] for one position of the encoder output (BertForPreTraining's cls.predictions). */
    float[] mlmLogits(float[] hidden) {
        float[][] y = gelu(linear(new float[][] {hidden}, "cls.predictions.transform.dense"));
        y = layerNorm(y, "cls.predictions.transform.LayerNorm");
        float[] word = get(p + "embeddings.word_embeddings.weight"); // the tied decoder
        float[] bias = get("cls.predictions.bias");
        int h = c.hiddenSize;
        float[] out = new float[c.vocabSize];
        for (int v = 0; v < c.vocabSize; v++) {
            double acc = bias[v];
            for (int j = 0; j < h; j++) acc += (double) y[0][j] * word[v * h + j];
            out[v] = (float) acc;
        }
        return out;
    }

    private float[][] linear(float[][] x, String name) {
        float[] wt = get(name + ".weight"); // (out, in)
        float[] b = get(name + ".bias");
        int out = b.length, in = x[0].length;
        if (wt.length != out * in) throw new IllegalArgumentException(name + ": weight is not (" + out + ", " + in + ")");
        float[][] y = new float[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double acc = b[o];
                int base = o * in;
                for (int j = 0; j < in; j++) acc += (double) x[i][j] * wt[base + j];
                y[i][o] = (float) acc;
            }
        }
        return y;
    }

    private float[][] layerNorm(float[][] x, String name) {
        float[] g = get(name + ".weight"), b = get(name + ".bias");
        float[][] y = new float[x.length][];
        for (int i = 0; i < x.length; i++) {
            double mean = 0, var = 0;
            for (float v : x[i]) mean += v;
            mean /= x[i].length;
            for (float v : x[i]) var += (v - mean) * (v - mean);
            var /= x[i].length;
            double inv = 1 / Math.sqrt(var + c.layerNormEps);
            y[i] = new float[x[i].length];
            for (int j = 0; j < x[i].length; j++) y[i][j] = (float) ((x[i][j] - mean) * inv * g[j] + b[j]);
        }
        return y;
    }

    private static float[][] add(float[][] a, float[][] b) {
        float[][] y = new float[a.length][a[0].length];
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a[0].length; j++) y[i][j] = a[i][j] + b[i][j];
        return y;
    }

    private static float[][] gelu(float[][] x) {
        for (float[] row : x) for (int j = 0; j < row.length; j++) row[j] = (float) (0.5 * row[j] * (1 + erf(row[j] / Math.sqrt(2))));
        return x;
    }

    /** erf to ~1e-7 relative (Abramowitz-Stegun 7.1.26 is too coarse; this is a Chebyshev fit, Numerical Recipes erfc). */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - r : r - 1;
    }
}
