package dev.kiln.models.classic;

import com.google.gson.JsonObject;
import dev.kiln.io.SafeTensors;
import dev.kiln.nn.HostTensor;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Word vectors taken from a BERT-family model's input embeddings ({@code embeddings.word_embeddings.weight}),
 * for the rows of another vocabulary: a token the model's tokenizer has gets that row (with the model's own
 * tokenizer, row = id); any other word gets the mean of the rows of its wordpieces under the model's tokenizer;
 * a word with no pieces keeps a random row drawn from U[-a, a] with the variance of the model's table
 * (Kim 2014's treatment of words missing from word2vec).
 */
public final class ZooEmbeddings {
    private ZooEmbeddings() {}

    /** The table of {@code modelDir}: [rows, dim] floats. */
    public record Table(int rows, int dim, float[] values) {
        float[] row(int r) {
            float[] out = new float[dim];
            System.arraycopy(values, r * dim, out, 0, dim);
            return out;
        }
    }

    public static Table read(Path modelDir) throws IOException {
        Map<String, HostTensor> tensors = SafeTensors.readCheckpoint(modelDir);
        for (String key : new String[] {"bert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight"}) {
            HostTensor t = tensors.get(key);
            if (t != null && t.shape().length == 2) {
                return new Table((int) t.shape()[0], (int) t.shape()[1], t.toFloats());
            }
        }
        throw new IOException(modelDir + ": no embeddings.word_embeddings.weight in its checkpoint; "
                + "model.classic.embeddings takes a BERT-family model (e.g. all-MiniLM-L6-v2)");
    }

    /**
     * Rows for every id of {@code vocab}, [vocab.vocabSize(), table.dim] row-major, and counts of how each was
     * filled ({@code same_token}, {@code wordpiece_mean}, {@code random}) for config.json.
     */
    public static float[] rowsFor(Tokenizer vocab, Tokenizer modelTok, Table table, long seed, JsonObject counts) {
        int n = vocab.vocabSize();
        int d = table.dim;
        double sq = 0;
        for (float v : table.values) sq += (double) v * v;
        float a = (float) Math.sqrt(3 * sq / table.values.length); // U[-a, a] has variance a²/3
        SplittableRandom rng = new SplittableRandom(seed);
        float[] out = new float[n * d];
        int same = 0, mean = 0, random = 0;
        for (int id = 0; id < n; id++) {
            String token = vocab.idToToken(id);
            int z = token == null ? -1 : modelTok.tokenToId(token);
            float[] row = null;
            if (z >= 0 && z < table.rows) {
                row = table.row(z);
                same++;
            } else if (token != null) {
                long[] pieces = modelTok.encode(token, false).ids();
                int used = 0;
                float[] sum = new float[d];
                for (long p : pieces) {
                    if (p < 0 || p >= table.rows) continue;
                    for (int k = 0; k < d; k++) sum[k] += table.values[(int) p * d + k];
                    used++;
                }
                if (used > 0) {
                    for (int k = 0; k < d; k++) sum[k] /= used;
                    row = sum;
                    mean++;
                }
            }
            if (row == null) {
                row = new float[d];
                for (int k = 0; k < d; k++) row[k] = (float) ((rng.nextDouble() * 2 - 1) * a);
                random++;
            }
            System.arraycopy(row, 0, out, id * d, d);
        }
        counts.addProperty("same_token", same);
        counts.addProperty("wordpiece_mean", mean);
        counts.addProperty("random", random);
        return out;
    }
}
