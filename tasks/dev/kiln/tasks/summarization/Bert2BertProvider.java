package dev.kiln.tasks.summarization;

import ai.djl.ndarray.NDManager;
import dev.kiln.config.RunConfig;
import dev.kiln.io.HfFolder;
import dev.kiln.models.Architecture;
import dev.kiln.models.Backbone;
import dev.kiln.models.bert.BertArchitecture;
import dev.kiln.models.encdec.EncoderDecoderArchitecture;
import dev.kiln.models.encdec.EncoderDecoderModel;
import dev.kiln.peft.PeftSpec;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.Pretrained;
import dev.kiln.train.TrainableTask;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Registers {@code summarize-bert2bert}: abstractive summarization with a BERT encoder-decoder, warm-started from a
 * BERT folder (or continued from an encoder-decoder folder).
 */
public final class Bert2BertProvider extends AbstractiveProvider {

    public Bert2BertProvider() {
        super(Bert2BertTask.TYPE, Bert2BertOptions.class);
    }

    @Override
    public TrainableTask create(RunConfig cfg, NDManager manager) throws IOException {
        Bert2BertOptions opts = cfg.taskOptions(Bert2BertOptions.class);
        SummaryDataSet ds = SummaryDataSet.of(cfg);
        SummaryDataSet.Parts parts = ds.load(cfg);
        Pretrained pre = Pretrained.load(cfg, manager, Pretrained.Need.checkpoint(Bert2BertTask.TYPE,
                "a BERT folder (e.g. all-MiniLM-L6-v2, bert-base-uncased) or an encoder-decoder one")
                .loadedBy((arch, dir, m, dropout) -> backbone(cfg, opts, arch, dir, m, dropout)));
        EncoderDecoderModel model = (EncoderDecoderModel) pre.backbone();
        Tokenizer tok = pre.tokenizer();
        int decPositions = model.config.decoder.maxPositionEmbeddings;
        if (opts.maxSummaryTokens + 1 > decPositions) {
            tok.close();
            throw cfg.error("task.max_summary_tokens", "is " + opts.maxSummaryTokens + "; with [CLS] it must fit the decoder's "
                    + decPositions + " positions");
        }
        if (opts.generation.maxNewTokens + 1 > decPositions) {
            tok.close();
            throw cfg.error("task.generation.max_new_tokens", "is " + opts.generation.maxNewTokens
                    + "; with [CLS] it must fit the decoder's " + decPositions + " positions");
        }
        return new Bert2BertTask(model, tok, pre.dir(), parts.train(), parts.dev(), AbstractiveTask.Settings.of(cfg, opts, ds));
    }

    /** A warm start from a BERT folder, or an encoder-decoder folder as saved. */
    private static Backbone backbone(RunConfig cfg, Bert2BertOptions opts, Architecture arch, Path dir, NDManager manager,
                                     Double dropoutOverride) throws IOException {
        Float dropout = dropoutOverride == null ? null : dropoutOverride.floatValue();
        if (arch instanceof BertArchitecture) {
            if (PeftSpec.fromConfig(cfg) != null) {
                throw cfg.error("peft.method", "cannot start from a BERT: a warm start's cross-attention and LM head are new "
                        + "and must train in full; train the encoder-decoder first, then fine-tune its folder with PEFT");
            }
            try (Tokenizer tok = arch.loadTokenizer(dir)) { // the special tokens become the config's ids
                int pad = tok.padId() != null && tok.padId() >= 0 ? tok.padId() : 0;
                return EncoderDecoderArchitecture.warmStart(dir, manager, opts.shareEncoderDecoder, dropout, tok.clsId(), pad,
                        tok.sepId(), opts.crossAttentionInit == Bert2BertOptions.CrossInit.SELF_ATTENTION);
            }
        }
        if (arch instanceof EncoderDecoderArchitecture) {
            EncoderDecoderModel model = EncoderDecoderArchitecture.load(dir, manager, dropout, HfFolder.Strictness.STRICT);
            if (opts.shareEncoderDecoder && !model.config.tieEncoderDecoder) {
                throw cfg.error("task.share_encoder_decoder", "is true but " + cfg.model.name
                        + " is an encoder-decoder with separate weights; sharing is chosen at the warm start from a BERT");
            }
            return model;
        }
        throw cfg.error("model.name", "is a " + arch.displayName() + " model; " + Bert2BertTask.TYPE
                + " starts from a BERT folder (e.g. all-MiniLM-L6-v2, bert-base-uncased) or an encoder-decoder one");
    }

    /** {@code Kiln.predictor(run, Bert2BertSummarizer.class)}; predict and evaluate open the folder through it too. */
    @Override
    public Typed<Bert2BertSummarizer> typed() {
        return new Typed<>(Bert2BertSummarizer.class, Bert2BertSummarizer::load);
    }
}
