package dev.kiln.tasks.pretraining;

import dev.kiln.config.MainMetric;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.SparseFormat;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.models.Backbone;
import dev.kiln.models.bert.BertModel;
import dev.kiln.nn.Functional;
import dev.kiln.nn.Losses;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * BERT pretraining (BertForPreTraining): masked-LM over the chosen positions plus next-sentence
 * prediction. Loss = MLM cross-entropy averaged over masked tokens + NSP cross-entropy averaged over
 * sequences, as HF computes it; in the trainer's sum-over-targets form the NSP sum is weighted by
 * masked/sequences of the micro-batch, which is exact for one micro-batch per step.
 *
 * <p>Masking is redrawn every epoch from (seed, instance, epoch) — dynamic masking that is still a
 * pure function of the data position, so a resumed run sees the same masks. Held-out instances
 * always get the same masks.
 */
public final class BertPretrainTask implements TrainableTask {
    public static final String TYPE = "pretrain-bert";
    /** The metric best/ is chosen by unless the config names one; the provider registers the same constant. */
    public static final MainMetric MAIN_METRIC = MainMetric.min("mlm_loss");
    /** The "epoch" of the fixed held-out masks. */
    static final int EVAL_EPOCH = -1;

    final BertModel bert;
    final Tokenizer tok;
    final BertPairs train;
    final BertPairs dev;
    final MlmMasker masker;
    final BertPretrainOptions opts;
    final boolean nsp;
    final long seed;
    final Path tokDir;
    final String tokenizerName;
    final int maxLength;
    final float labelSmoothing;
    private final AutoCloseable resources;
    /** How the corpus was read (saved for {@code kiln evaluate}); null outside a configured run. */
    JsonObject dataMeta;

    BertPretrainTask(BertModel bert, Tokenizer tok, BertPairs train, BertPairs dev, MlmMasker masker, BertPretrainOptions opts,
                     long seed, Path tokDir, String tokenizerName, int maxLength, float labelSmoothing, AutoCloseable resources) {
        this.bert = bert;
        this.tok = tok;
        this.train = train;
        this.dev = dev;
        this.masker = masker;
        this.opts = opts;
        this.nsp = opts.nsp;
        this.seed = seed;
        this.tokDir = tokDir;
        this.tokenizerName = tokenizerName;
        this.maxLength = maxLength;
        this.labelSmoothing = labelSmoothing;
        this.resources = resources;
    }

    /** A padded batch: inputs, the flat (row · T + column) masked positions with their labels, NSP labels. */
    record HostBatch(long[][] ids, long[][] typeIds, long[][] mask, long[] positions, long[] labels, long[] nspLabels,
                     long tokenCount, double flops) implements Batch {
        public int size() { return ids.length; }
        public long targets() { return Math.max(1, positions.length); }
        public long tokens() { return tokenCount; }
        public long paddedTokens() { return ids.length == 0 ? 0 : (long) ids.length * ids[0].length; }
    }

    /** One instance as model input: [CLS] A [SEP] (B [SEP]), masked for (seed, index, epoch). */
    record Example(long[] ids, long[] typeIds, int[] positions, long[] labels, boolean randomNext) {}

    static long mix(long seed, long index, long epoch) {
        long z = seed * 0x9E3779B97F4A7C15L + index * 0xBF58476D1CE4E5B9L + (epoch + 1) * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static Example example(BertPairs pairs, int index, int epoch, long seed, Tokenizer tok, MlmMasker masker) {
        BertPairs.Instance in = pairs.get(index);
        int la = (int) (in.aEnd() - in.aStart());
        int lb = in.hasB() ? (int) (in.bEnd() - in.bStart()) : 0;
        int n = la + lb + (in.hasB() ? 3 : 2);
        long[] ids = new long[n];
        long[] types = new long[n];
        boolean[] template = new boolean[n];
        int p = 0;
        template[p] = true;
        ids[p++] = tok.clsId();
        for (long t = in.aStart(); t < in.aEnd(); t++) ids[p++] = pairs.store().token(t);
        template[p] = true;
        ids[p++] = tok.sepId();
        if (in.hasB()) {
            for (long t = in.bStart(); t < in.bEnd(); t++) {
                types[p] = 1;
                ids[p++] = pairs.store().token(t);
            }
            types[p] = 1;
            template[p] = true;
            ids[p++] = tok.sepId();
        }
        MlmMasker.Masked m = masker.mask(ids, template, new SplittableRandom(mix(seed, index, epoch)));
        return new Example(m.ids(), types, m.positions(), m.labels(), in.randomNext());
    }

    HostBatch collate(BertPairs pairs, int[] indexes, int epoch) {
        Example[] ex = new Example[indexes.length];
        int width = 0;
        int masked = 0;
        for (int i = 0; i < indexes.length; i++) {
            ex[i] = example(pairs, indexes[i], epoch, seed, tok, masker);
            width = Math.max(width, ex[i].ids().length);
            masked += ex[i].positions().length;
        }
        long pad = tok.padId() == null ? 0 : tok.padId();
        long[][] ids = new long[ex.length][width];
        long[][] types = new long[ex.length][width];
        long[][] mask = new long[ex.length][width];
        long[] positions = new long[masked];
        long[] labels = new long[masked];
        long[] nspLabels = new long[ex.length];
        long tokens = 0;
        int k = 0;
        for (int i = 0; i < ex.length; i++) {
            Example e = ex[i];
            java.util.Arrays.fill(ids[i], pad);
            System.arraycopy(e.ids(), 0, ids[i], 0, e.ids().length);
            System.arraycopy(e.typeIds(), 0, types[i], 0, e.ids().length);
            java.util.Arrays.fill(mask[i], 0, e.ids().length, 1);
            tokens += e.ids().length;
            for (int j = 0; j < e.positions().length; j++) {
                positions[k] = (long) i * width + e.positions()[j];
                labels[k++] = e.labels()[j];
            }
            nspLabels[i] = e.randomNext() ? 1 : 0; // HF: 0 = B follows A, 1 = B is random
        }
        // the MLM head runs on the masked positions only: MFU counts them, not 6N at every position
        return new HostBatch(ids, types, mask, positions, labels, nsp ? nspLabels : null, tokens,
                bert.pretrainingFlops(ex.length, width, masked));
    }

    @Override public Backbone backbone() { return bert; }
    @Override public int trainSize() { return train.size(); }
    @Override public MainMetric declaredMainMetric() { return MAIN_METRIC; }

    @Override
    public Batch collate(int[] indexes) {
        return collate(train, indexes, 0);
    }

    @Override
    public Batch collate(int[] indexes, int epoch) {
        return collate(train, indexes, epoch);
    }

    /** Forward pass: MLM logits at the masked positions [N, V] and NSP logits [B, 2] (null without NSP). */
    NDArray[] forward(HostBatch b, NDManager m, boolean training) {
        BertModel.Output o = bert.forward(m.create(b.ids()), m.create(b.typeIds()), m.create(b.mask()), training);
        long h = o.lastHiddenState.getShape().get(2);
        NDArray flat = o.lastHiddenState.reshape(-1, h);
        // only the masked positions go through the vocabulary projection
        NDArray picked = ai.djl.nn.core.Embedding.embedding(m.create(b.positions()), flat, SparseFormat.DENSE).singletonOrThrow();
        NDArray mlm = bert.mlmLogits(picked);
        NDArray nspLogits = nsp ? bert.nspLogits(o.pooled) : null;
        return new NDArray[] {mlm, nspLogits};
    }

    @Override
    public Loss loss(Batch batch, NDManager step, boolean training) {
        HostBatch b = (HostBatch) batch;
        NDArray[] out = forward(b, step, training);
        NDArray sum = Losses.crossEntropySum(out[0], step.create(b.labels()), labelSmoothing);
        if (nsp) {
            NDArray nspSum = Losses.crossEntropySum(out[1], step.create(b.nspLabels()), 0f);
            sum = sum.add(nspSum.mul(Functional.scalar(nspSum, (double) b.targets() / b.size())));
        }
        return new Loss(sum);
    }

    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        if (dev == null) return Map.of();
        double mlmSum = 0, nspSum = 0;
        long masked = 0, correct = 0, seqs = 0, nspCorrect = 0;
        for (int[] idx : opts.evalBatches(dev.size())) {
            HostBatch b = collate(dev, idx, EVAL_EPOCH);
            try (NDManager m = parent.newSubManager()) {
                NDArray[] out = forward(b, m, false);
                mlmSum += Losses.crossEntropySum(out[0], m.create(b.labels()), 0f).getFloat();
                long[] pred = out[0].argMax(1).toLongArray();
                for (int i = 0; i < pred.length; i++) if (pred[i] == b.labels()[i]) correct++;
                masked += pred.length;
                if (nsp) {
                    nspSum += Losses.crossEntropySum(out[1], m.create(b.nspLabels()), 0f).getFloat();
                    long[] np = out[1].argMax(1).toLongArray();
                    for (int i = 0; i < np.length; i++) if (np[i] == b.nspLabels()[i]) nspCorrect++;
                }
                seqs += idx.length;
            }
        }
        Map<String, Double> r = new LinkedHashMap<>();
        double mlmLoss = mlmSum / Math.max(1, masked);
        r.put("mlm_loss", mlmLoss);
        r.put("mlm_accuracy", correct / (double) Math.max(1, masked));
        r.put("perplexity", Math.exp(mlmLoss));
        if (nsp) {
            r.put("nsp_loss", nspSum / Math.max(1, seqs));
            r.put("nsp_accuracy", nspCorrect / (double) Math.max(1, seqs));
        }
        r.put("loss", mlmLoss + (nsp ? nspSum / Math.max(1, seqs) : 0));
        return r;
    }

    @Override
    public void save(Path dir) throws IOException {
        JsonObject cfg = bert.configJson();
        JsonArray arch = new JsonArray();
        arch.add(nsp ? "BertForPreTraining" : "BertForMaskedLM");
        cfg.add("architectures", arch);
        JsonObject meta = new JsonObject();
        meta.addProperty("max_length", maxLength);
        meta.addProperty("tokenizer", tokenizerName);
        meta.addProperty("nsp", nsp);
        if (dataMeta != null) meta.add("data", dataMeta);
        TaskFolder.save(dir, TYPE, cfg, bert.params.stateDict(), tokDir, meta);
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
