package dev.kiln.tasks.pretraining;

import dev.kiln.config.MainMetric;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.models.Backbone;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.nn.Losses;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Causal-LM pretraining of GPT-2: fixed blocks of max_length tokens from the joined documents,
 * cross-entropy over every position against the next token, LM head tied to the token embeddings.
 * Evaluation: loss and perplexity on the held-out blocks.
 */
public final class GptPretrainTask implements TrainableTask {
    public static final String TYPE = "pretrain-gpt";
    /** The metric best/ is chosen by unless the config names one; the provider registers the same constant. */
    public static final MainMetric MAIN_METRIC = MainMetric.min("loss");

    final Gpt2Model gpt;
    final GptBlocks train;
    final GptBlocks dev;
    final PretrainOptions opts;
    final Path tokDir;
    final String tokenizerName;
    final float labelSmoothing;
    private final AutoCloseable resources;
    /** How the corpus was read (saved for {@code kiln evaluate}); null outside a configured run. */
    JsonObject dataMeta;

    GptPretrainTask(Gpt2Model gpt, GptBlocks train, GptBlocks dev, PretrainOptions opts, Path tokDir, String tokenizerName,
                    float labelSmoothing, AutoCloseable resources) {
        this.gpt = gpt;
        this.train = train;
        this.dev = dev;
        this.opts = opts;
        this.tokDir = tokDir;
        this.tokenizerName = tokenizerName;
        this.labelSmoothing = labelSmoothing;
        this.resources = resources;
    }

    /** Input and target blocks, [B, T] each. */
    record Blocks(long[][] input, long[][] target) implements Batch {
        public int size() { return input.length; }
        public long targets() { return (long) input.length * input[0].length; }
        public long tokens() { return (long) input.length * input[0].length; }
    }

    static Blocks collate(GptBlocks blocks, int[] indexes) {
        long[][] x = new long[indexes.length][blocks.blockSize];
        long[][] y = new long[indexes.length][blocks.blockSize];
        for (int i = 0; i < indexes.length; i++) blocks.fill(indexes[i], x[i], y[i]);
        return new Blocks(x, y);
    }

    @Override public Backbone backbone() { return gpt; }

    /** The matmul parameters plus wte, which the tied LM head multiplies at every position; wpe is only looked up. */
    @Override
    public long flopParameters() {
        return gpt.root().matmulParameterCount() + gpt.wte.parameterCount();
    }
    @Override public int trainSize() { return train.size(); }
    @Override public MainMetric declaredMainMetric() { return MAIN_METRIC; }

    @Override
    public Batch collate(int[] indexes) {
        return collate(train, indexes);
    }

    /** Summed next-token cross-entropy of a batch. */
    NDArray lossSum(Blocks b, NDManager m, boolean training, float smoothing) {
        NDArray hidden = gpt.forward(m.create(b.input()), null, null, null, training);
        NDArray logits = gpt.logits(hidden);
        long v = logits.getShape().get(2);
        return Losses.crossEntropySum(logits.reshape(-1, v), m.create(b.target()).reshape(-1), smoothing);
    }

    @Override
    public Loss loss(Batch batch, NDManager step, boolean training) {
        return new Loss(lossSum((Blocks) batch, step, training, labelSmoothing));
    }

    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        if (dev == null) return Map.of();
        double sum = 0;
        long n = 0;
        for (int[] idx : opts.evalBatches(dev.size())) {
            Blocks b = collate(dev, idx);
            try (NDManager m = parent.newSubManager()) {
                sum += lossSum(b, m, false, 0f).getFloat();
            }
            n += b.targets();
        }
        double loss = sum / Math.max(1, n);
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("loss", loss);
        out.put("perplexity", Math.exp(loss));
        return out;
    }

    @Override
    public void save(Path dir) throws IOException {
        JsonObject meta = new JsonObject();
        meta.addProperty("block_size", train.blockSize);
        meta.addProperty("tokenizer", tokenizerName);
        if (dataMeta != null) meta.add("data", dataMeta);
        TaskFolder.save(dir, TYPE, gpt.configJson(), gpt.params.stateDict(), tokDir, meta);
    }

    @Override
    public void close() {
        try {
            resources.close();
        } catch (Exception ignored) {
            // temporary files only
        }
    }
}
