package dev.kiln.train;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The base of a task's typed predictor ({@code TextClassifier}, {@code NerTagger}, ...): its model folder opened
 * through {@link TaskFolder#open} (a run resolves to best/ or final/, a folder of another task is refused by name,
 * backbone and tokenizer loaded), closed with the predictor, and closed again when building the head fails. A
 * subclass takes the {@link TaskFolder.Opened} in its constructor, builds its head on {@code folder.backbone} and
 * loads it ({@link TaskFolder.Opened#loadHead}); its {@code load(dir, device)} is one {@link #open} call.
 */
public abstract class TaskPredictor implements AutoCloseable {
    protected final TaskFolder.Opened folder;

    protected TaskPredictor(TaskFolder.Opened folder) {
        this.folder = folder;
    }

    /** Builds a predictor on an opened folder (usually its constructor). */
    @FunctionalInterface
    protected interface Factory<P> {
        P create(TaskFolder.Opened folder) throws IOException;
    }

    /** Opens {@code runOrModel} as a {@code taskType} folder on {@code device} and builds the predictor on it. */
    protected static <P extends TaskPredictor> P open(Path runOrModel, String taskType, String device, Factory<P> factory)
            throws IOException {
        return open(runOrModel, taskType, device, (dir, meta, m) -> TaskFolder.loadBackbone(dir, m), factory);
    }

    /** As {@link #open(Path, String, String, Factory)}, the backbone built by {@code loader} (other heads than the base). */
    protected static <P extends TaskPredictor> P open(Path runOrModel, String taskType, String device,
                                                      TaskFolder.BackboneLoader loader, Factory<P> factory) throws IOException {
        TaskFolder.Opened f = TaskFolder.open(runOrModel, taskType, device, loader);
        try {
            return factory.create(f);
        } catch (IOException | RuntimeException e) {
            f.close();
            throw e;
        }
    }

    /** The model folder in use (a run directory resolves to best/ or final/). */
    public Path modelDir() {
        return folder.dir;
    }

    @Override
    public void close() {
        folder.close();
    }
}
