package dev.kiln.train;

import ai.djl.ndarray.NDManager;
import dev.kiln.config.RunConfig;
import dev.kiln.config.Suggest;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.Backbone;
import dev.kiln.models.classic.ClassicModels;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The pretrained model a run config names, as every task needs it: the folder (zoo or path), the
 * backbone with the config's dropout override, and its tokenizer. {@code data.max_length} is checked
 * against the position table here so each task reports it the same way.
 *
 * <p>A classic model ({@code model.name} "mlp", "textcnn", "bilstm") is built instead of loaded; its word
 * vocabulary comes from the training text the task passes. Its {@link #dir} is then where its tokenizer files
 * are (a scratch folder for a word vocabulary, the zoo folder for {@code model.tokenizer}), which is all tasks
 * read the folder for: they copy the tokenizer files from it when they save the model.
 */
public record Pretrained(Path dir, Backbone backbone, Tokenizer tokenizer) {

    public static Pretrained load(RunConfig cfg, NDManager manager) throws IOException {
        return load(cfg, manager, null);
    }

    /** As {@link #load(RunConfig, NDManager)}; {@code trainingText} (read only for a classic model's vocabulary) may be null. */
    public static Pretrained load(RunConfig cfg, NDManager manager, Supplier<? extends Iterable<String>> trainingText)
            throws IOException {
        if (cfg.model.isClassic()) {
            ClassicModels.Built b = ClassicModels.create(cfg.model.name, cfg.model.classic, cfg.model.tokenizer,
                    cfg.model.dropout, cfg.seed, trainingText == null ? null : trainingText.get(), manager);
            return new Pretrained(b.tokenizerDir(), b.backbone(), b.tokenizer());
        }
        Path dir;
        try {
            dir = ModelZoo.resolve(cfg.model.name);
        } catch (IllegalArgumentException e) {
            if (String.valueOf(e.getMessage()).startsWith("unknown model")) throw unknownModel(cfg);
            throw e;
        }
        Backbone backbone = HfFolder.loadBackbone(dir, manager, cfg.model.dropout == null ? null : cfg.model.dropout.floatValue());
        if (cfg.data.maxLength > backbone.maxPositions()) {
            throw cfg.error("data.max_length", "is " + cfg.data.maxLength + " but " + cfg.model.name
                    + " has only " + backbone.maxPositions() + " positions");
        }
        return new Pretrained(dir, backbone, backbone.architecture().loadTokenizer(dir));
    }

    /** One line naming every model a run can start from. */
    private static RuntimeException unknownModel(RunConfig cfg) {
        List<String> all = new ArrayList<>(ClassicModels.names());
        all.addAll(ModelZoo.names());
        return cfg.error("model.name", "is \"" + cfg.model.name + "\": not a folder with config.json, a zoo model or a classic model"
                + Suggest.didYouMean(Suggest.similar(cfg.model.name, all)) + "; classic models: "
                + Suggest.quotedList(ClassicModels.names(), ", ") + "; zoo models: " + Suggest.quotedList(ModelZoo.names(), ", "));
    }
}
