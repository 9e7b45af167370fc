package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Generator;
import dev.kiln.models.Backbone;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.nn.Losses;
import dev.kiln.nn.Parameters;
import dev.kiln.nn.Pooling;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Abstractive summarization with a causal LM (GPT-2): each example is {@code prompt(article) + summary + EOS}
 * and only the summary tokens and the EOS carry a loss (prompt positions are -100 in HF terms).
 * Evaluation generates summaries for the dev set (beam search by default) and scores ROUGE.
 */
public final class GptSummarizationTask implements TrainableTask {
    public static final String TYPE = "summarize-gpt";

    /** The task section plus what the provider resolved. */
    static final class Settings {
        GptSummaryOptions options;
        int maxLength;
        float labelSmoothing;
        SummaryDataSet data;
    }

    final Gpt2Model model;
    final Tokenizer tok;
    final Path modelDir;
    final Settings s;
    final GptPrompt prompt;
    final long eos;
    final List<GptPrompt.Sequence> train;
    final List<GptPrompt.Sequence> dev;
    final List<ArticleSummary> devRaw;

    GptSummarizationTask(Gpt2Model model, Tokenizer tok, Path modelDir, List<ArticleSummary> trainData,
                         List<ArticleSummary> devData, Settings s) {
        this.model = model;
        this.tok = tok;
        this.modelDir = modelDir;
        this.s = s;
        this.prompt = new GptPrompt(tok, s.options.promptTemplate);
        this.eos = eosId(tok, model);
        this.train = encode(trainData);
        this.dev = encode(devData);
        this.devRaw = devData;
    }

    static long eosId(Tokenizer tok, Gpt2Model model) {
        return tok.eosId() != null ? tok.eosId() : model.config.eosTokenId;
    }

    private List<GptPrompt.Sequence> encode(List<ArticleSummary> data) {
        List<GptPrompt.Sequence> out = new ArrayList<>(data.size());
        for (ArticleSummary a : data) {
            out.add(prompt.trainingSequence(tok.encode(a.article(), false).ids(), tok.encode(a.summary(), false).ids(),
                    s.maxLength, s.options.maxSummaryTokens, eos));
        }
        return out;
    }

    /**
     * Inputs are the sequences without their last token; the targets are the next tokens at the summary
     * positions only, gathered as (row, position) pairs so the vocabulary projection runs on those alone.
     */
    record HostBatch(long[][] ids, long[][] mask, long[] rows, long[] cols, long[] labels, long tokens) implements Batch {
        public int size() { return ids.length; }
        public long targets() { return labels.length; }
        public long tokens() { return tokens; }
        public long paddedTokens() { return ids.length == 0 ? 0 : (long) ids.length * ids[0].length; }
    }

    static HostBatch collate(List<GptPrompt.Sequence> seqs, long pad) {
        int t = 0;
        int n = 0;
        for (GptPrompt.Sequence q : seqs) {
            t = Math.max(t, q.ids().length - 1);
            n += q.ids().length - q.promptLength();
        }
        long[][] ids = new long[seqs.size()][t];
        long[][] mask = new long[seqs.size()][t];
        long[] rows = new long[n];
        long[] cols = new long[n];
        long[] labels = new long[n];
        long tokens = 0;
        int k = 0;
        for (int i = 0; i < seqs.size(); i++) {
            long[] q = seqs.get(i).ids();
            int len = q.length - 1;
            Arrays.fill(ids[i], pad);
            System.arraycopy(q, 0, ids[i], 0, len);
            Arrays.fill(mask[i], 0, len, 1);
            tokens += len;
            // position j predicts token j+1: the first summary token is predicted at the last prompt position
            for (int j = seqs.get(i).promptLength() - 1; j < len; j++) {
                rows[k] = i;
                cols[k] = j;
                labels[k++] = q[j + 1];
            }
        }
        return new HostBatch(ids, mask, rows, cols, labels, tokens);
    }

    @Override public Parameters parameters() { return model.params; }
    @Override public Backbone backbone() { return model; }
    @Override public int trainSize() { return train.size(); }
    @Override public String mainMetric() { return "rougeL"; }
    @Override public boolean higherIsBetter(String metric) { return !metric.contains("loss"); }

    @Override
    public Batch collate(int[] indexes) {
        List<GptPrompt.Sequence> b = new ArrayList<>(indexes.length);
        for (int i : indexes) b.add(train.get(i));
        return collate(b, eos);
    }

    @Override
    public Loss loss(Batch batch, NDManager m, boolean training) {
        return new Loss(lossSum((HostBatch) batch, m, training, s.labelSmoothing));
    }

    private NDArray lossSum(HostBatch b, NDManager m, boolean training, float smoothing) {
        NDArray hidden = model.forward(m.create(b.ids()), m.create(b.mask()), null, null, training);
        NDArray logits = model.logits(Pooling.at(m, hidden, b.rows(), b.cols()));
        return Losses.crossEntropySum(logits, m.create(b.labels()), smoothing);
    }

    @Override
    public Map<String, Double> evaluate(NDManager parent) {
        if (dev.isEmpty()) return Map.of();
        double lossSum = 0;
        long targets = 0;
        int bs = s.options.evalBatchSize;
        for (int i = 0; i < dev.size(); i += bs) {
            HostBatch b = collate(dev.subList(i, Math.min(dev.size(), i + bs)), eos);
            try (NDManager m = parent.newSubManager()) {
                lossSum += lossSum(b, m, false, 0f).getFloat();
            }
            targets += b.targets();
        }
        int n = s.options.evalMaxExamples == null ? devRaw.size() : Math.min(devRaw.size(), s.options.evalMaxExamples);
        Generated g = generate(Generator.of(model, tok), prompt, devRaw.subList(0, n), s.maxLength,
                s.options.generation.toOptions((int) eos));
        List<String> refs = references(devRaw.subList(0, n));
        Map<String, Double> out = new LinkedHashMap<>(SummaryScores.metrics(
                SummaryScores.score(g.lines(), refs, s.options.rougeStemmer), ""));
        out.put("gen_len", g.meanTokens());
        out.put("loss", lossSum / Math.max(1, targets));
        lastEval = SummaryScores.outputs(g.texts(), refs);
        return out;
    }

    private dev.kiln.train.EvalOutputs.Texts lastEval;

    @Override
    public dev.kiln.train.EvalOutputs evalOutputs() {
        return lastEval;
    }

    static List<String> references(List<ArticleSummary> data) {
        List<String> r = new ArrayList<>();
        for (ArticleSummary a : data) r.add(a.summary());
        return r;
    }

    /** Generated summaries, one sentence per line for ROUGE-Lsum, and their mean length in tokens. */
    record Generated(List<String> texts, List<String> lines, double meanTokens) {}

    static Generated generate(Generator gen, GptPrompt prompt, List<ArticleSummary> data, int maxLength, GenerationOptions o) {
        List<String> texts = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        long tokens = 0;
        for (ArticleSummary a : data) {
            long[] ids = summarizeIds(gen, prompt, a.article(), maxLength, o);
            tokens += ids.length;
            String t = gen.tokenizer().decode(ids, true).strip();
            texts.add(t);
            lines.add(SummaryScores.lines(t));
        }
        return new Generated(texts, lines, tokens / (double) Math.max(1, data.size()));
    }

    /** The article cut so that prompt and generated tokens fit the trained length and the position table. */
    static int articleBudget(GptPrompt prompt, int maxLength, int nPositions, int maxNewTokens) {
        return Math.min(maxLength, nPositions) - maxNewTokens - prompt.overhead();
    }

    /** New token ids of a summary, without the EOS. */
    static long[] summarizeIds(Generator gen, GptPrompt prompt, String article, int maxLength, GenerationOptions o) {
        int budget = articleBudget(prompt, maxLength, gen.model().config.nPositions, o.maxNewTokens);
        if (budget < 1) {
            throw new IllegalArgumentException("max_new_tokens " + o.maxNewTokens + " leaves no room for the article within "
                    + Math.min(maxLength, gen.model().config.nPositions) + " positions");
        }
        long[] ids = gen.generateIds(prompt.prompt(gen.tokenizer().encode(article, false).ids(), budget), o);
        int n = 0;
        while (n < ids.length && (o.eosTokenId == null || ids[n] != o.eosTokenId)) n++;
        return Arrays.copyOf(ids, n);
    }

    @Override
    public void save(Path dir) throws IOException {
        JsonObject cfg = model.configJson();
        JsonArray arch = new JsonArray();
        arch.add("GPT2LMHeadModel");
        cfg.add("architectures", arch);
        TaskFolder.save(dir, TYPE, cfg, model.params.stateDict(), modelDir, meta(s));
    }

    static JsonObject meta(Settings s) {
        JsonObject meta = new JsonObject();
        meta.addProperty("prompt_template", s.options.promptTemplate);
        meta.addProperty("max_length", s.maxLength);
        meta.addProperty("max_summary_tokens", s.options.maxSummaryTokens);
        meta.add("generation", s.options.generation.toJson());
        meta.addProperty("rouge_stemmer", s.options.rougeStemmer);
        meta.add("data", s.data.toJson());
        return meta;
    }

    @Override
    public void close() {
        tok.close();
    }
}
