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
     * model only when {@code classic}), described for the error as {@code needs}, how its backbone is
     * built ({@code loader} null: the architecture's backbone for fine-tuning, strict), and whether the
     * folder's tokenizer is loaded ({@code ownTokenizer}: the task brings its own, as pretraining does, and
     * {@link Pretrained#tokenizer} is null).
     */
    public record Need(String task, Class<? extends Architecture> architecture, boolean classic, String needs,
                       BackboneLoader loader, boolean ownTokenizer) {
        /** Any pretrained or classic model, loaded for fine-tuning. */
        public static final Need ANY = new Need(null, null, true, null, null, false);

        /** A pretrained checkpoint (no classic model) of any architecture. */
        public static Need checkpoint(String task, String needs) {
            return new Need(task, null, false, needs, null, false);
        }

        /** A pretrained checkpoint of {@code architecture}. */
        public static Need of(String task, Class<? extends Architecture> architecture, String needs) {
            return new Need(task, architecture, false, needs, null, false);
        }

        /** The same need with the backbone built by {@code loader} (its heads and strictness the task's). */
        public Need loadedBy(BackboneLoader loader) {
            return new Need(task, architecture, classic, needs, loader, ownTokenizer);
        }

        /** The same need without the folder's tokenizer: the task has its own. */
        public Need withOwnTokenizer() {
            return new Need(task, architecture, classic, needs, loader, true);
        }

        private void check(RunConfig cfg, Architecture arch) {
            if (architecture != null && !architecture.isInstance(arch)) {
                throw cfg.error("model.name", "is a " + arch.displayName() + " model; " + task + " needs " + needs);
            }
        }

        private void checkNotClassic(RunConfig cfg) {
            if (cfg.model.isClassic() && !classic) {
                throw cfg.error("model.name", "is \"" + cfg.model.name + "\", a classic model (built from the data); "
                        + task + " needs " + needs);
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
        need.checkNotClassic(cfg);
        if (cfg.model.isClassic()) {
            ClassicModels.Built b = ClassicModels.create(cfg.model.name, cfg.model.classic, cfg.model.tokenizer,
                    cfg.model.dropout, cfg.seed, trainingText == null ? null : trainingText.get(), manager);
            return new Pretrained(b.tokenizerDir(), b.backbone(), b.tokenizer());
        }
        Path dir = resolve(cfg);
        Architecture arch = Architectures.of(dir);
        need.check(cfg, arch);
        Backbone backbone = need.loader() != null ? need.loader().load(arch, dir, manager, cfg.model.dropout)
                : arch.loadBackbone(dir, manager, cfg.model.dropout == null ? null : cfg.model.dropout.floatValue(),
                        HfFolder.Strictness.STRICT);
        if (cfg.data.maxLength > backbone.maxPositions()) {
            throw cfg.error("data.max_length", "is " + cfg.data.maxLength + " but " + cfg.model.name
                    + " has only " + backbone.maxPositions() + " positions");
        }
        return new Pretrained(dir, backbone, need.ownTokenizer() ? null : backbone.architecture().loadTokenizer(dir));
    }

    /**
     * The checkpoint folder {@code model.name} names, for a task that reads it before loading the model
     * (pretraining takes its tokenizer from it first); an unfit or unknown name is the same error as in
     * {@link #load(RunConfig, NDManager, Need)}.
     */
    public static Path folder(RunConfig cfg, Need need) throws IOException {
        need.checkNotClassic(cfg);
        Path dir = resolve(cfg);
        need.check(cfg, Architectures.of(dir));
        return dir;
    }

    private static Path resolve(RunConfig cfg) throws IOException {
        try {
            return ModelZoo.resolve(cfg.model.name);
        } catch (IllegalArgumentException e) {
            if (String.valueOf(e.getMessage()).startsWith("unknown model")) throw unknownModel(cfg);
            throw e;
        }
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
