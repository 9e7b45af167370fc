package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import dev.kiln.inference.LengthBatches;
import dev.kiln.models.encdec.EncoderDecoderLm;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.models.Backbone;
import dev.kiln.models.encdec.EncoderDecoderModel;
import dev.kiln.nn.Losses;
import dev.kiln.nn.Parameters;
import dev.kiln.nn.Pooling;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.TaskFolder;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Abstractive summarization with a BERT encoder-decoder warm-started from a BERT checkpoint (Rothe, Narayan and
 * Severyn 2020): the encoder reads {@code [CLS] article [SEP]}, the decoder is trained with teacher forcing to turn
 * {@code [CLS] summary} into {@code summary [SEP]} (cross-entropy on every summary token and the end). Evaluation
 * generates summaries for the dev set (beam search by default) and scores ROUGE; the folder is HF's EncoderDecoderModel.
 */
public final class Bert2BertTask extends AbstractiveTask<Bert2BertOptions, Bert2BertTask.Pair> {
    public static final String TYPE = "summarize-bert2bert";

    /** An encoded pair: the encoder's input and the target {@code [CLS] summary [SEP]}. */
    record Pair(long[] source, long[] target) {}

    final EncoderDecoderModel model;
    final Path tokenizerDir;

    Bert2BertTask(EncoderDecoderModel model, Tokenizer tok, Path tokenizerDir, List<ArticleSummary> trainData,
                  List<ArticleSummary> devData, Settings<Bert2BertOptions> s) {
        super(tok, s);
        this.model = model;
        this.tokenizerDir = tokenizerDir;
        examples(trainData, devData);
    }

    @Override
    Pair encode(ArticleSummary a) {
        return new Pair(source(model, tok, a.article(), s.maxLength), target(model, tok, a.summary(), s.options.maxSummaryTokens));
    }

    /** {@code [CLS] summary [SEP]} with the summary cut to {@code maxSummaryTokens}. */
    static long[] target(EncoderDecoderModel model, Tokenizer tok, String summary, int maxSummaryTokens) {
        long[] sum = tok.encode(summary, false).ids();
        sum = Arrays.copyOf(sum, Math.min(sum.length, maxSummaryTokens));
        long[] t = new long[sum.length + 2];
        t[0] = model.config.decoderStartTokenId;
        System.arraycopy(sum, 0, t, 1, sum.length);
        t[t.length - 1] = model.config.eosTokenId;
        return t;
    }

    @Override
    int eosId() {
        return model.config.eosTokenId;
    }

    /** {@code [CLS] article [SEP]} with the article cut to fit {@code maxLength} tokens. */
    static long[] source(EncoderDecoderModel model, Tokenizer tok, String article, int maxLength) {
        long[] ids = tok.encode(article, false).ids();
        int n = Math.min(ids.length, Math.min(maxLength, model.config.encoder.maxPositionEmbeddings) - 2);
        long[] out = new long[n + 2];
        out[0] = tok.clsId();
        System.arraycopy(ids, 0, out, 1, n);
        out[n + 1] = tok.sepId();
        return out;
    }

    /**
     * Encoder input and decoder input right-padded to the longest; the targets (the decoder input shifted by one,
     * i.e. the summary and its [SEP]) as (row, position, label) triples, so the vocabulary projection runs on those alone.
     */
    record HostBatch(long[][] src, long[][] srcMask, long[][] tgt, long[][] tgtMask, long[] rows, long[] cols,
                     long[] labels, long tokens, double flops) implements Batch {
        public int size() { return src.length; }
        public long targets() { return labels.length; }
        public long tokens() { return tokens; }
        public long paddedTokens() { return src.length == 0 ? 0 : (long) src.length * (src[0].length + tgt[0].length); }

        /** As {@link EncoderDecoderModel#trainingFlops} counts them, for MFU. */
        HostBatch withFlops(EncoderDecoderModel model) {
            double f = src.length == 0 ? 0 : model.trainingFlops(src.length, src[0].length, tgt[0].length, labels.length);
            return new HostBatch(src, srcMask, tgt, tgtMask, rows, cols, labels, tokens, f);
        }
    }

    static HostBatch collate(List<Pair> pairs, long pad) {
        int b = pairs.size();
        int ws = 0;
        int wt = 0;
        int n = 0;
        for (Pair p : pairs) {
            ws = Math.max(ws, p.source().length);
            wt = Math.max(wt, p.target().length - 1);
            n += p.target().length - 1;
        }
        long[][] src = new long[b][ws];
        long[][] srcMask = new long[b][ws];
        long[][] tgt = new long[b][wt];
        long[][] tgtMask = new long[b][wt];
        long[] rows = new long[n];
        long[] cols = new long[n];
        long[] labels = new long[n];
        long tokens = 0;
        int k = 0;
        for (int i = 0; i < b; i++) {
            long[] sIds = pairs.get(i).source();
            long[] t = pairs.get(i).target();
            Arrays.fill(src[i], pad);
            System.arraycopy(sIds, 0, src[i], 0, sIds.length);
            Arrays.fill(srcMask[i], 0, sIds.length, 1);
            Arrays.fill(tgt[i], pad);
            System.arraycopy(t, 0, tgt[i], 0, t.length - 1);
            Arrays.fill(tgtMask[i], 0, t.length - 1, 1);
            tokens += sIds.length + t.length - 1;
            for (int j = 0; j < t.length - 1; j++) {
                rows[k] = i;
                cols[k] = j;
                labels[k++] = t[j + 1];
            }
        }
        return new HostBatch(src, srcMask, tgt, tgtMask, rows, cols, labels, tokens, Double.NaN);
    }

    @Override public Parameters parameters() { return model.params; }
    @Override public Backbone backbone() { return model; }

    /**
     * For summary.json's {@code flop_parameters}: the matmul parameters and the LM head's tied word table. MFU does
     * not use it: each batch states its FLOPs ({@link EncoderDecoderModel#trainingFlops}), the two sides' tokens
     * meeting different parameters.
     */
    @Override
    public long flopParameters() {
        return model.matmulParameterCount() + model.decoderEmbeddings.word.parameterCount();
    }

    @Override
    Batch collate(List<Pair> pairs) {
        return collate(pairs, model.config.padTokenId).withFlops(model);
    }

    @Override
    NDArray lossSum(Batch batch, NDManager m, boolean training, float smoothing) {
        return lossSum(model, (HostBatch) batch, m, training, smoothing);
    }

    /** Summed cross-entropy of {@code b}'s targets under teacher forcing. */
    static NDArray lossSum(EncoderDecoderModel model, HostBatch b, NDManager m, boolean training, float smoothing) {
        EncoderDecoderModel.Encoded enc = model.encode(m.create(b.src()), m.create(b.srcMask()), training);
        NDArray hidden = model.decode(m.create(b.tgt()), m.create(b.tgtMask()), enc, null, training);
        NDArray logits = model.logits(Pooling.at(m, hidden, b.rows(), b.cols()));
        return Losses.crossEntropySum(logits, m.create(b.labels()), smoothing);
    }

    @Override
    Generated generate(List<ArticleSummary> data, GenerationOptions o) {
        return generate(model, tok, data, s.maxLength, o, s.options.evalBatchSize);
    }

    /**
     * Summaries of {@code data}: greedy/sampled decoding runs {@code batchSize} articles at a time, sorted by length
     * (results in input order), beam search one by one.
     */
    static Generated generate(EncoderDecoderModel model, Tokenizer tok, List<ArticleSummary> data, int maxLength,
                              GenerationOptions o, int batchSize) {
        List<long[]> sources = new ArrayList<>(data.size());
        for (ArticleSummary a : data) sources.add(source(model, tok, a.article(), maxLength));
        Collector c = new Collector(tok);
        for (long[] ids : generateIds(model, sources, o, batchSize)) c.add(ids);
        return c.done();
    }

    /** Summary ids of {@code sources} in their order, generated in length-sorted batches of {@code batchSize}. */
    static List<long[]> generateIds(EncoderDecoderModel model, List<long[]> sources, GenerationOptions o, int batchSize) {
        int[] lengths = new int[sources.size()];
        for (int i = 0; i < lengths.length; i++) lengths[i] = sources.get(i).length;
        return LengthBatches.map(sources, lengths, batchSize, batch -> EncoderDecoderLm.generate(model, batch, o, true));
    }

    @Override
    public void save(Path dir) throws IOException {
        TaskFolder.save(dir, TYPE, model.configJson(), model.params.stateDict(), tokenizerDir, meta());
    }
}
