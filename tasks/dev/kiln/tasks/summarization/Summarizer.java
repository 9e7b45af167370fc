package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Generator;
import dev.kiln.train.TaskFolder;
import ai.djl.ndarray.NDManager;
import dev.kiln.models.Backbone;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.peft.PeftFolder;
import dev.kiln.text.Tokenizer;
import dev.kiln.util.Devices;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Predictor for a {@code summarize-gpt} model: {@code Summarizer.load(dir).summarize(article)}. {@code dir}
 * is a run directory (its best/ or final/ model) or a model folder (a PEFT run's adapter folder too); a full folder is also a plain GPT-2
 * folder, so {@code kiln generate} and HF's GPT2LMHeadModel load it too.
 */
public final class Summarizer implements SummaryModel {
    private final Path dir;
    private final JsonObject meta;
    private final Generator gen;
    private final GptPrompt prompt;
    private final int maxLength;
    private final GptSummaryOptions.Generation generation;
    /** Set when this predictor loaded a PEFT folder itself (the generator then owns nothing). */
    private final NDManager peftManager;

    private Summarizer(Path dir, String device) throws IOException {
        TaskFolder.Found f = TaskFolder.find(dir, GptSummarizationTask.TYPE);
        this.dir = f.dir();
        meta = f.meta();
        maxLength = meta.get("max_length").getAsInt();
        generation = AbstractiveOptions.Generation.fromJson(meta.getAsJsonObject("generation"));
        if (PeftFolder.is(this.dir)) {
            // a PEFT run's folder: base GPT-2 + adapter (TaskFolder.loadBackbone), as the other predictors load it
            NDManager m = NDManager.newBaseManager(Devices.parse(device));
            try {
                Backbone b = TaskFolder.loadBackbone(this.dir, m);
                if (!(b instanceof Gpt2Model g)) {
                    throw new IOException(this.dir + ": the adapter's base model is " + b.modelType() + ", but " + GptSummarizationTask.TYPE + " needs GPT-2");
                }
                gen = Generator.of(g, Tokenizer.load(this.dir));
            } catch (IOException | RuntimeException e) {
                m.close();
                throw e;
            }
            peftManager = m;
        } else {
            gen = Generator.load(this.dir.toString(), device);
            peftManager = null;
        }
        try {
            prompt = new GptPrompt(gen.tokenizer(), meta.get("prompt_template").getAsString());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public static Summarizer load(Path dir) throws IOException {
        return new Summarizer(dir, "auto");
    }

    public static Summarizer load(Path dir, String device) throws IOException {
        return new Summarizer(dir, device);
    }

    /** The model folder in use. */
    @Override
    public Path modelDir() {
        return dir;
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
        return meta;
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

    @Override
    public void close() {
        gen.close();
        if (peftManager != null) {
            gen.tokenizer().close();
            peftManager.close();
        }
    }
}
