package dev.kiln.train;

import ai.djl.ndarray.NDManager;
import dev.kiln.config.RunConfig;
import dev.kiln.config.Suggest;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.Architecture;
import dev.kiln.models.Architectures;
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

    /** Builds a task's backbone from a pretrained folder; {@code dropout} is the config's override (null: the folder's). */
    @FunctionalInterface
    public interface BackboneLoader {
        Backbone load(Architecture arch, Path dir, NDManager manager, Double dropout) throws IOException;
    }

    /**
     * What a task needs of its pretrained model: an architecture ({@code architecture} null: any; a classic
     * model only when {@code classic}), described for the error as {@code needs}, and how its backbone is
     * built ({@code loader} null: the architecture's backbone for fine-tuning).
     */
    public record Need(String task, Class<? extends Architecture> architecture, boolean classic, String needs,
                       BackboneLoader loader) {
        /** Any pretrained or classic model, loaded for fine-tuning. */
        public static final Need ANY = new Need(null, null, true, null, null);

        /** A pretrained checkpoint (no classic model) of any architecture. */
        public static Need checkpoint(String task, String needs) {
            return new Need(task, null, false, needs, null);
        }

        /** A pretrained checkpoint of {@code architecture}. */
        public static Need of(String task, Class<? extends Architecture> architecture, String needs) {
            return new Need(task, architecture, false, needs, null);
        }

        /** The same need with the backbone built by {@code loader}. */
        public Need loadedBy(BackboneLoader loader) {
            return new Need(task, architecture, classic, needs, loader);
        }

        private void check(RunConfig cfg, Architecture arch) {
            if (architecture != null && !architecture.isInstance(arch)) {
                throw cfg.error("model.name", "is a " + arch.displayName() + " model; " + task + " needs " + needs);
            }
        }
    }

    public static Pretrained load(RunConfig cfg, NDManager manager) throws IOException {
        return load(cfg, manager, Need.ANY, null);
    }

    /** As {@link #load(RunConfig, NDManager)}; {@code trainingText} (read only for a classic model's vocabulary) may be null. */
    public static Pretrained load(RunConfig cfg, NDManager manager, Supplier<? extends Iterable<String>> trainingText)
            throws IOException {
        return load(cfg, manager, Need.ANY, trainingText);
    }

    /** The model a task with a {@link Need} starts from; an unfit model is a one-line error on {@code model.name}. */
    public static Pretrained load(RunConfig cfg, NDManager manager, Need need) throws IOException {
        return load(cfg, manager, need, null);
    }

    private static Pretrained load(RunConfig cfg, NDManager manager, Need need,
                                   Supplier<? extends Iterable<String>> trainingText) throws IOException {
        if (cfg.model.isClassic()) {
            if (!need.classic()) {
                throw cfg.error("model.name", "is \"" + cfg.model.name + "\", a classic model (built from the data); "
                        + need.task() + " needs " + need.needs());
            }
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
        Architecture arch = Architectures.of(dir);
        need.check(cfg, arch);
        Backbone backbone = need.loader() != null ? need.loader().load(arch, dir, manager, cfg.model.dropout)
                : arch.loadBackbone(dir, manager, cfg.model.dropout == null ? null : cfg.model.dropout.floatValue(),
                        HfFolder.Strictness.STRICT);
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
