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

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Abstractive summarization with a causal LM (GPT-2): each example is {@code prompt(article) + summary + EOS}
 * and only the summary tokens and the EOS carry a loss (prompt positions are -100 in HF terms).
 * Evaluation generates summaries for the dev set (beam search by default) and scores ROUGE.
 */
public final class GptSummarizationTask extends AbstractiveTask<GptSummaryOptions, GptPrompt.Sequence> {
    public static final String TYPE = "summarize-gpt";

    final Gpt2Model model;
    final Path modelDir;
    final GptPrompt prompt;
    final long eos;

    GptSummarizationTask(Gpt2Model model, Tokenizer tok, Path modelDir, List<ArticleSummary> trainData,
                         List<ArticleSummary> devData, Settings<GptSummaryOptions> s) {
        super(tok, s);
        this.model = model;
        this.modelDir = modelDir;
        this.prompt = new GptPrompt(tok, s.options.promptTemplate);
        this.eos = eosId(tok, model);
        examples(trainData, devData);
    }

    static long eosId(Tokenizer tok, Gpt2Model model) {
        return tok.eosId() != null ? tok.eosId() : model.config.eosTokenId;
    }

    @Override
    int eosId() {
        return (int) eos;
    }

    @Override
    GptPrompt.Sequence encode(ArticleSummary a) {
        return prompt.trainingSequence(tok.encode(a.article(), false).ids(), tok.encode(a.summary(), false).ids(),
                s.maxLength, s.options.maxSummaryTokens, eos);
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

    /** A batch that states its FLOPs: the LM head runs on the summary positions only ({@link Gpt2Model#lmTrainingFlops}). */
    record CountedBatch(HostBatch b, double flops) implements Batch {
        public int size() { return b.size(); }
        public long targets() { return b.targets(); }
        public long tokens() { return b.tokens(); }
        public long paddedTokens() { return b.paddedTokens(); }
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

    @Override
    Batch collate(List<GptPrompt.Sequence> seqs) {
        HostBatch b = collate(seqs, eos);
        return new CountedBatch(b, b.size() == 0 ? 0 : model.lmTrainingFlops(b.size(), b.ids()[0].length, b.targets()));
    }

    @Override
    NDArray lossSum(Batch batch, NDManager m, boolean training, float smoothing) {
        HostBatch b = ((CountedBatch) batch).b();
        NDArray hidden = model.forward(m.create(b.ids()), m.create(b.mask()), null, null, training);
        NDArray logits = model.logits(Pooling.at(m, hidden, b.rows(), b.cols()));
        return Losses.crossEntropySum(logits, m.create(b.labels()), smoothing);
    }

    @Override
    Generated generate(List<ArticleSummary> data, GenerationOptions o) {
        return generate(Generator.of(model, tok), prompt, data, s.maxLength, o);
    }

    static Generated generate(Generator gen, GptPrompt prompt, List<ArticleSummary> data, int maxLength, GenerationOptions o) {
        Collector c = new Collector(gen.tokenizer());
        for (ArticleSummary a : data) c.add(summarizeIds(gen, prompt, a.article(), maxLength, o));
        return c.done();
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
        TaskFolder.save(dir, TYPE, cfg, model.params.stateDict(), modelDir, meta());
    }

    @Override
    JsonObject meta() {
        JsonObject meta = super.meta();
        meta.addProperty("prompt_template", s.options.promptTemplate);
        return meta;
    }
}
