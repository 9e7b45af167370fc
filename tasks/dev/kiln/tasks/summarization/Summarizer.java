package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Generator;
import dev.kiln.train.TaskFolder;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Predictor for a {@code summarize-gpt} model: {@code Summarizer.load(dir).summarize(article)}. {@code dir}
 * is a run directory (its best/ or final/ model) or a model folder; the folder is also a plain GPT-2
 * folder, so {@code kiln generate} and HF's GPT2LMHeadModel load it too.
 */
public final class Summarizer implements AutoCloseable {
    private final Path dir;
    private final Generator gen;
    private final GptPrompt prompt;
    private final int maxLength;
    private final GptSummaryOptions.Generation generation;

    private Summarizer(Path dir, String device) throws IOException {
        this.dir = TaskFolder.resolve(dir);
        JsonObject meta = TaskFolder.requireTask(this.dir, GptSummarizationTask.TYPE);
        maxLength = meta.get("max_length").getAsInt();
        generation = AbstractiveOptions.Generation.fromJson(meta.getAsJsonObject("generation"));
        gen = Generator.load(this.dir.toString(), device);
        try {
            prompt = new GptPrompt(gen.tokenizer(), meta.get("prompt_template").getAsString());
        } catch (RuntimeException e) {
            gen.close();
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
    public Path modelDir() {
        return dir;
    }

    /** The generation settings the model was trained and evaluated with (beam search by default); a fresh copy. */
    public GenerationOptions defaults() {
        return generation.toOptions(gen.defaults().eosTokenId);
    }

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

    GptPrompt prompt() {
        return prompt;
    }

    int maxLength() {
        return maxLength;
    }

    @Override
    public void close() {
        gen.close();
    }
}
