package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Generator;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskPredictor;
import ai.djl.ndarray.NDManager;
import dev.kiln.models.Backbone;
import dev.kiln.models.gpt2.Gpt2Model;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Predictor for a {@code summarize-gpt} model: {@code Summarizer.load(dir).summarize(article)}. {@code dir}
 * is a run directory (its best/ or final/ model) or a model folder (a PEFT run's adapter folder too); a full folder is also a plain GPT-2
 * folder, so {@code kiln generate} and HF's GPT2LMHeadModel load it too.
 */
public final class Summarizer extends TaskPredictor implements SummaryModel {
    private final Generator gen;
    private final GptPrompt prompt;
    private final int maxLength;
    private final GptSummaryOptions.Generation generation;

    private Summarizer(TaskFolder.Opened folder) {
        super(folder);
        maxLength = folder.meta.get("max_length").getAsInt();
        generation = AbstractiveOptions.Generation.fromJson(folder.meta.getAsJsonObject("generation"));
        gen = Generator.of((Gpt2Model) folder.backbone, folder.tokenizer); // the folder owns model and tokenizer
        prompt = new GptPrompt(folder.tokenizer, folder.meta.get("prompt_template").getAsString());
    }

    public static Summarizer load(Path dir) throws IOException {
        return load(dir, "auto");
    }

    public static Summarizer load(Path dir, String device) throws IOException {
        return open(dir, GptSummarizationTask.TYPE, device, Summarizer::loadGpt, Summarizer::new);
    }

    /** The GPT-2, dropout off: the folder's own, or a PEFT run's base model with the adapter applied. */
    private static Gpt2Model loadGpt(Path dir, JsonObject meta, NDManager manager) throws IOException {
        Backbone b = TaskFolder.loadBackbone(dir, manager);
        if (!(b instanceof Gpt2Model g)) {
            throw new IOException(dir + ": the model is " + b.modelType() + ", but " + GptSummarizationTask.TYPE + " needs GPT-2");
        }
        return g;
    }

    /** The generation settings the model was trained and evaluated with (beam search by default); a fresh copy. */
    public GenerationOptions defaults() {
        return generation.toOptions(gen.defaults().eosTokenId);
    }

    @Override
    public String summarize(String article) {
        return summarize(article, defaults());
    }

    public String summarize(String article, GenerationOptions o) {
        return gen.tokenizer().decode(GptSummarizationTask.summarizeIds(gen, prompt, article, maxLength, o), true).strip();
    }

    /** The underlying generator (model and tokenizer), e.g. to score or continue text. */
    public Generator generator() {
        return gen;
    }

    @Override
    public JsonObject meta() {
        return folder.meta;
    }

    @Override
    public AbstractiveTask.Generated generate(java.util.List<ArticleSummary> data) {
        return GptSummarizationTask.generate(gen, prompt, data, maxLength, defaults());
    }

    GptPrompt prompt() {
        return prompt;
    }

    int maxLength() {
        return maxLength;
    }
}
