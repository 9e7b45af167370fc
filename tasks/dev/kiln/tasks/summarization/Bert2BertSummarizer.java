package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import dev.kiln.models.encdec.EncoderDecoderLm;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.inference.LengthBatches;
import dev.kiln.models.encdec.EncoderDecoderModel;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskPredictor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Predictor for a {@code summarize-bert2bert} model: {@code Bert2BertSummarizer.load(dir).summarize(article)}.
 * {@code dir} is a run directory (its best/ or final/ model) or a model folder, which HF's
 * {@code EncoderDecoderModel.from_pretrained} also loads.
 */
public final class Bert2BertSummarizer extends TaskPredictor implements SummaryModel {
    /** Articles per greedy decoding batch unless {@code --batch-size} says otherwise. */
    static final int BATCH_SIZE = 8;

    private final EncoderDecoderModel model;
    private final int maxLength;
    private final AbstractiveOptions.Generation generation;

    private Bert2BertSummarizer(TaskFolder.Opened folder) throws IOException {
        super(folder);
        if (!(folder.backbone instanceof EncoderDecoderModel m)) {
            throw new IOException(folder.dir + ": a " + Bert2BertTask.TYPE + " folder must hold an encoder-decoder, not "
                    + folder.backbone.architecture().displayName());
        }
        model = m;
        maxLength = folder.meta.get("max_length").getAsInt();
        generation = AbstractiveOptions.Generation.fromJson(folder.meta.getAsJsonObject("generation"));
    }

    public static Bert2BertSummarizer load(Path dir) throws IOException {
        return load(dir, "auto");
    }

    public static Bert2BertSummarizer load(Path dir, String device) throws IOException {
        return open(dir, Bert2BertTask.TYPE, device, Bert2BertSummarizer::new);
    }

    /** The generation settings the model was trained and evaluated with (beam search by default); a fresh copy. */
    public GenerationOptions defaults() {
        return generation.toOptions(model.config.eosTokenId);
    }

    @Override
    public String summarize(String article) {
        return summarize(article, defaults());
    }

    public String summarize(String article, GenerationOptions o) {
        return summarize(List.of(article), o).get(0);
    }

    /** Summaries of several articles in their order (greedy decoding batches them by length, {@code --batch-size}). */
    public List<String> summarize(List<String> articles, GenerationOptions o) {
        List<long[]> sources = new ArrayList<>();
        for (String a : articles) sources.add(Bert2BertTask.source(model, folder.tokenizer, a, maxLength));
        List<String> out = new ArrayList<>();
        for (long[] ids : Bert2BertTask.generateIds(model, sources, o, LengthBatches.size(BATCH_SIZE))) {
            out.add(folder.tokenizer.decode(ids, true).strip());
        }
        return out;
    }

    @Override
    public List<String> summarizeAll(List<String> articles) {
        return summarize(articles, defaults());
    }

    public EncoderDecoderModel model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return folder.tokenizer;
    }

    int maxLength() {
        return maxLength;
    }

    @Override
    public JsonObject meta() {
        return folder.meta;
    }

    /** Greedy decoding runs {@code --batch-size} articles (default 8) as a batch, sorted by length; beam search one at a time. */
    @Override
    public AbstractiveTask.Generated generate(List<ArticleSummary> data) {
        return Bert2BertTask.generate(model, folder.tokenizer, data, maxLength, defaults(), LengthBatches.size(BATCH_SIZE));
    }
}
