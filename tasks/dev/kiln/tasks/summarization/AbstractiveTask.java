package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.config.MainMetric;
import dev.kiln.config.RunConfig;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.EvalOutputs;
import dev.kiln.train.TrainableTask;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What both abstractive summarizers (GPT-2 with a prompt, the BERT encoder-decoder) do alike: encode every pair once,
 * train on the summary tokens and the end token only, and evaluate by the dev loss plus ROUGE of summaries generated
 * with the saved generation settings. A subclass says how a pair is encoded, batched, scored and decoded.
 *
 * @param <O> the task section
 * @param <P> one encoded article/summary pair
 */
abstract class AbstractiveTask<O extends AbstractiveOptions, P> implements TrainableTask {
    /** Both abstractive tasks keep the best ROUGE-L (F1 of the longest common subsequence) against the references. */
    public static final MainMetric MAIN_METRIC = MainMetric.max("rougeL");

    /** The task section plus what the provider resolved. */
    static final class Settings<O extends AbstractiveOptions> {
        O options;
        int maxLength;
        float labelSmoothing;
        SummaryDataSet data;

        static <O extends AbstractiveOptions> Settings<O> of(RunConfig cfg, O options, SummaryDataSet data) {
            Settings<O> s = new Settings<>();
            s.options = options;
            s.maxLength = cfg.data.maxLength;
            s.labelSmoothing = (float) cfg.training.labelSmoothing;
            s.data = data;
            return s;
        }
    }

    /** Generated summaries, one sentence per line for ROUGE-Lsum, and each one's length in tokens. */
    record Generated(List<String> texts, List<String> lines, long[] tokens) {
        double meanTokens() {
            return SummaryOutputs.meanTokens(tokens);
        }
    }

    final Tokenizer tok;
    final Settings<O> s;
    private List<P> train = List.of();
    private List<P> dev = List.of();
    private List<ArticleSummary> devRaw = List.of();
    private EvalOutputs.Texts lastEval;

    AbstractiveTask(Tokenizer tok, Settings<O> s) {
        this.tok = tok;
        this.s = s;
    }

    /** Encodes the data; a subclass calls it last in its constructor, once {@link #encode} can run. */
    final void examples(List<ArticleSummary> trainData, List<ArticleSummary> devData) {
        train = encodeAll(trainData);
        dev = encodeAll(devData);
        devRaw = devData;
    }

    private List<P> encodeAll(List<ArticleSummary> data) {
        List<P> out = new ArrayList<>(data.size());
        for (ArticleSummary a : data) out.add(encode(a));
        return out;
    }

    /** One training example: the inputs and the target tokens (the summary cut to max_summary_tokens, and the end). */
    abstract P encode(ArticleSummary pair);

    /** A padded batch whose targets are gathered as (row, position, label) triples. */
    abstract Batch collate(List<P> pairs);

    /** Summed cross-entropy over the batch's targets. */
    abstract NDArray lossSum(Batch batch, NDManager m, boolean training, float smoothing);

    /** Summaries of {@code data} decoded with {@code o}. */
    abstract Generated generate(List<ArticleSummary> data, GenerationOptions o);

    /** The end-of-summary token, which stops generation. */
    abstract int eosId();

    /** kiln_task.json's task keys (the predictor reads them back); a subclass adds its own. */
    JsonObject meta() {
        JsonObject meta = new JsonObject();
        meta.addProperty("max_length", s.maxLength);
        meta.addProperty("max_summary_tokens", s.options.maxSummaryTokens);
        meta.add("generation", s.options.generation.toJson());
        meta.addProperty("rouge_stemmer", s.options.rougeStemmer);
        meta.add("data", s.data.toJson());
        return meta;
    }

    @Override public int trainSize() { return train.size(); }
    @Override public MainMetric declaredMainMetric() { return MAIN_METRIC; }

    @Override
    public Batch collate(int[] indexes) {
        List<P> b = new ArrayList<>(indexes.length);
        for (int i : indexes) b.add(train.get(i));
        return collate(b);
    }

    @Override
    public Loss loss(Batch batch, NDManager m, boolean training) {
        return new Loss(lossSum(batch, m, training, s.labelSmoothing));
    }

    /** Dev loss per target token over the whole dev set, and ROUGE of the first eval_max_examples summaries. */
    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        if (dev.isEmpty()) return Map.of();
        double lossSum = 0;
        long targets = 0;
        int bs = s.options.evalBatchSize;
        for (int i = 0; i < dev.size(); i += bs) {
            Batch b = collate(dev.subList(i, Math.min(dev.size(), i + bs)));
            try (NDManager m = parent.newSubManager()) {
                lossSum += lossSum(b, m, false, 0f).getFloat();
            }
            targets += b.targets();
        }
        int n = s.options.evalMaxExamples == null ? devRaw.size() : Math.min(devRaw.size(), s.options.evalMaxExamples);
        List<ArticleSummary> sub = devRaw.subList(0, n);
        Generated g = generate(sub, s.options.generation.toOptions(eosId()));
        List<String> refs = references(sub);
        Map<String, Double> out = new LinkedHashMap<>(SummaryScores.metrics(
                SummaryScores.score(g.lines(), refs, s.options.rougeStemmer), ""));
        out.put("gen_len", g.meanTokens());
        out.put("loss", lossSum / Math.max(1, targets));
        lastEval = SummaryScores.outputs(g.texts(), refs);
        return out;
    }

    @Override
    public EvalOutputs evalOutputs() {
        return lastEval;
    }

    static List<String> references(List<ArticleSummary> data) {
        List<String> r = new ArrayList<>();
        for (ArticleSummary a : data) r.add(a.summary());
        return r;
    }

    /** Collects decoded summaries: {@link #add} each, then {@link #done}. */
    static final class Collector {
        private final Tokenizer tok;
        private final List<String> texts = new ArrayList<>();
        private final List<String> lines = new ArrayList<>();
        private final List<Long> tokens = new ArrayList<>();

        Collector(Tokenizer tok) {
            this.tok = tok;
        }

        void add(long[] ids) {
            tokens.add((long) ids.length);
            String t = tok.decode(ids, true).strip();
            texts.add(t);
            lines.add(SummaryScores.lines(t));
        }

        Generated done() {
            return new Generated(texts, lines, tokens.stream().mapToLong(Long::longValue).toArray());
        }
    }

    @Override
    public void close() {
        tok.close();
    }
}
