package dev.kiln.io;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.models.Architectures;
import dev.kiln.models.Backbone;
import dev.kiln.models.bert.BertArchitecture;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.gpt2.Gpt2Architecture;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;
import dev.kiln.util.AtomicFiles;
import dev.kiln.util.IoErrors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A HuggingFace model folder: {@code config.json}, {@code model.safetensors} (or a sharded index) and
 * tokenizer files. What every architecture's loader shares (reading config.json and checkpoints, strict
 * checking, atomic writing); which architecture a folder holds and how it loads is {@link Architectures}'.
 */
public final class HfFolder {
    private HfFolder() {}

    /** Tokenizer files copied along on export, when the source folder has them. */
    /** The config.json key that marks a folder written by Kiln. */
    public static final String KILN_VERSION = "kiln_version";
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt");

    public static JsonObject readConfig(Path dir) throws IOException {
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) {
            throw new IOException(dir + ": no config.json (expected a HuggingFace model folder)");
        }
        try {
            return JsonParser.parseString(Files.readString(cfg)).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IOException(cfg + ": not valid JSON (" + dev.kiln.util.JsonErrors.oneLine(e) + ")");
        }
    }

    /**
     * What a load tolerates besides an exact match of checkpoint and model. Tensors the model needs
     * and the checkpoint lacks are always an error, except whole heads that are new by design.
     *
     * @param newHeads      BERT pooler / MLM / NSP heads asked for but wholly absent from the checkpoint are
     *                      initialised and named in one notice line (pre-training from an encoder-only
     *                      checkpoint); otherwise they are an error
     * @param headTensorsLater checkpoint tensors the backbone does not use belong to a task head that the
     *                      caller loads afterwards (a fine-tuned folder): no notice about them
     */
    public record Strictness(boolean newHeads, boolean headTensorsLater) {
        public static final Strictness STRICT = new Strictness(false, false);
        /** Pre-training: heads the checkpoint does not have start from their initial values. */
        public static final Strictness NEW_HEADS = new Strictness(true, false);
        /** A fine-tuned folder: its head tensors are loaded by the task head afterwards. */
        public static final Strictness TASK_FOLDER = new Strictness(false, true);
    }

    /**
     * Loads a BERT. {@code heads} null means: whatever the checkpoint has (pooler, MLM, NSP);
     * parts asked for but absent are an error (see {@link Strictness} for pre-training).
     * Shorthand for {@link BertArchitecture#load}.
     */
    public static BertModel loadBert(Path dir, NDManager manager, BertModel.Heads heads) throws IOException {
        return loadBert(dir, manager, heads, null);
    }

    /** As {@link #loadBert(Path, NDManager, BertModel.Heads)}, with config.json fields replaced by {@code overrides}. */
    public static BertModel loadBert(Path dir, NDManager manager, BertModel.Heads heads, JsonObject overrides)
            throws IOException {
        return loadBert(dir, manager, heads, overrides, Strictness.STRICT);
    }

    public static BertModel loadBert(Path dir, NDManager manager, BertModel.Heads heads, JsonObject overrides,
                                     Strictness strictness) throws IOException {
        return BertArchitecture.load(dir, manager, heads, overrides, strictness);
    }

    /** Shorthand for {@link Gpt2Architecture#load}. */
    public static Gpt2Model loadGpt2(Path dir, NDManager manager) throws IOException {
        return loadGpt2(dir, manager, null);
    }

    public static Gpt2Model loadGpt2(Path dir, NDManager manager, JsonObject overrides) throws IOException {
        return loadGpt2(dir, manager, overrides, Strictness.STRICT);
    }

    public static Gpt2Model loadGpt2(Path dir, NDManager manager, JsonObject overrides, Strictness strictness)
            throws IOException {
        return Gpt2Architecture.load(dir, manager, overrides, strictness);
    }

    /** {@link Parameters#load}, with the folder named in its errors (shape mismatch, NaN/Inf). */
    public static Parameters.LoadReport load(Path dir, Parameters params, Map<String, HostTensor> tensors,
                                              java.util.function.Function<String, String> keyMap) {
        try {
            return params.load(tensors, keyMap);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(dir + ": " + e.getMessage(), e);
        }
    }

    /** "config.json: field ..." from the config classes, with the file's full path. */
    public static IllegalArgumentException configError(Path dir, IllegalArgumentException e) {
        String m = String.valueOf(e.getMessage());
        if (m.startsWith("config.json: ")) m = m.substring("config.json: ".length());
        return new IllegalArgumentException(dir.resolve("config.json") + ": " + m, e);
    }

    /**
     * Strict loading: tensors the model needs and the checkpoint lacks are an error naming them, so a
     * model that is not the one asked for never runs on freshly initialised weights. Optional heads
     * ({@code heads}: prefix → name) that are wholly absent are new by design when {@code strictness}
     * allows it, and named in one notice line; unused checkpoint tensors are named in one notice line.
     */
    public static void check(Path dir, Parameters params, Parameters.LoadReport r, Strictness strictness, Map<String, String> heads) {
        List<String> missing = new java.util.ArrayList<>(r.missing);
        List<String> fresh = new java.util.ArrayList<>();
        for (Map.Entry<String, String> h : new java.util.TreeMap<>(heads).entrySet()) {
            String prefix = h.getKey();
            long inModel = params.all().keySet().stream().filter(k -> k.startsWith(prefix)).count();
            List<String> absent = missing.stream().filter(k -> k.startsWith(prefix)).collect(java.util.stream.Collectors.toList());
            if (absent.isEmpty() || absent.size() < inModel) continue; // complete, or partly there: the names go in the error
            if (!strictness.newHeads()) {
                throw new IllegalArgumentException(dir + ": the checkpoint has no " + h.getValue() + " (" + prefix
                        + "* tensors), which this use needs; pick a model that was trained with one");
            }
            missing.removeAll(absent);
            fresh.add(prefix + "* (" + h.getValue() + ")");
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(dir + ": the checkpoint lacks " + missing.size() + " tensor"
                    + (missing.size() == 1 ? "" : "s") + " the model needs: " + Parameters.LoadReport.summary(missing)
                    + "; it is incomplete or config.json describes another model");
        }
        if (!fresh.isEmpty()) {
            System.err.println("note: " + dir + ": not in the checkpoint, new and randomly initialised: "
                    + String.join(", ", fresh));
        }
        if (!r.unexpected.isEmpty() && !strictness.headTensorsLater()) {
            System.err.println("note: " + dir + ": " + r.unexpected.size() + " checkpoint tensor"
                    + (r.unexpected.size() == 1 ? "" : "s") + " not used by the model: "
                    + Parameters.LoadReport.summary(r.unexpected));
        }
    }

    /**
     * A backbone for a task, by the folder's model_type ({@link Architectures}): BERT's encoder and pooler
     * (no pre-training heads), GPT-2's decoder. {@code dropout} (nullable) replaces every dropout probability of the config.
     */
    public static Backbone loadBackbone(Path dir, NDManager manager, Float dropout) throws IOException {
        return loadBackbone(dir, manager, dropout, Strictness.STRICT);
    }

    /** As {@link #loadBackbone(Path, NDManager, Float)}; {@link Strictness#TASK_FOLDER} for a fine-tuned folder. */
    public static Backbone loadBackbone(Path dir, NDManager manager, Float dropout, Strictness strictness)
            throws IOException {
        return Architectures.loadBackbone(dir, manager, dropout, strictness);
    }

    /** Writes config.json + model.safetensors (+ tokenizer files from {@code tokenizerFrom}) atomically. */
    public static void save(BertModel model, Path dir, Path tokenizerFrom) throws IOException {
        BertArchitecture.save(model, dir, tokenizerFrom);
    }

    public static void save(Gpt2Model model, Path dir, Path tokenizerFrom) throws IOException {
        Gpt2Architecture.save(model, dir, tokenizerFrom);
    }

    /**
     * Builds the folder beside {@code dir} and renames it into place, so readers never see a
     * half-written model. An existing folder is replaced.
     */
    public static void writeFolder(Path dir, JsonObject config, LinkedHashMap<String, HostTensor> tensors,
                                   Path tokenizerFrom) throws IOException {
        writeFolder(dir, config, tensors, tokenizerFrom, Map.of());
    }

    /**
     * As {@link #writeFolder(Path, JsonObject, LinkedHashMap, Path)}, with further safetensors files
     * (file name → tensors) written into the folder before it is renamed into place.
     */
    public static void writeFolder(Path dir, JsonObject config, LinkedHashMap<String, HostTensor> tensors,
                                   Path tokenizerFrom, Map<String, LinkedHashMap<String, HostTensor>> extraTensorFiles)
            throws IOException {
        Path abs = dir.toAbsolutePath();
        requireReplaceable(abs);
        try {
            AtomicFiles.buildFolder(abs, tmp -> {
                // provenance, as HF writes transformers_version: also how Kiln knows the folder is its own to replace
                JsonObject written = config.deepCopy();
                written.addProperty(KILN_VERSION, dev.kiln.util.Versions.kiln());
                AtomicFiles.writeJson(tmp.resolve("config.json"), written);
                SafeTensors.write(tmp.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
                for (Map.Entry<String, LinkedHashMap<String, HostTensor>> e : extraTensorFiles.entrySet()) {
                    SafeTensors.write(tmp.resolve(e.getKey()), e.getValue(), Map.of("format", "pt"));
                }
                if (tokenizerFrom != null) {
                    for (String f : TOKENIZER_FILES) {
                        Path src = tokenizerFrom.resolve(f);
                        if (Files.isRegularFile(src)) Files.copy(src, tmp.resolve(f));
                    }
                }
            });
        } catch (IOException e) {
            throw IoErrors.named(abs, e);
        }
    }

    /** The first line of a model card Kiln wrote; a README.md without it is the user's. */
    public static final String CARD_MARKER = "<!-- written by Kiln: replaced when the run writes this folder again -->";

    /** Files Kiln writes in a model folder: weights, head, config, tokenizer, task metadata, its model card. */
    public static boolean isOwnFile(Path file) {
        String name = file.getFileName().toString();
        if (name.equals("README.md")) {
            try (java.io.BufferedReader r = Files.newBufferedReader(file)) {
                return CARD_MARKER.equals(r.readLine());
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }
        return name.equals("config.json") || name.equals("kiln_task.json") || name.equals("kiln_head.safetensors")
                || name.equals("adapter_config.json") || name.equals("adapter_model.safetensors") // PEFT folders
                || name.equals("generation_config.json") || TOKENIZER_FILES.contains(name)
                || OWN_WEIGHTS.matcher(name).matches();
    }

    private static final java.util.regex.Pattern OWN_WEIGHTS =
            java.util.regex.Pattern.compile("model(-\\d+-of-\\d+)?\\.safetensors(\\.index\\.json)?");

    /**
     * Refuses to replace {@code dir} when it holds anything Kiln does not write in a model folder (a user's
     * notes in final/, a sub-folder): replacing would delete it.
     */
    public static void requireReplaceable(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            if (Files.exists(dir)) throw new IllegalArgumentException(dir + " is a file, not a model folder; not replacing it");
            return;
        }
        List<String> foreign = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (Files.isDirectory(p) || !isOwnFile(p)) foreign.add(n);
            }
        }
        if (!foreign.isEmpty()) {
            java.util.Collections.sort(foreign);
            throw new IllegalArgumentException(dir + " holds files Kiln did not write (" + String.join(", ",
                    foreign.subList(0, Math.min(3, foreign.size()))) + (foreign.size() > 3 ? ", ..." : "")
                    + "); Kiln will not replace it: move them out or choose another folder");
        }
    }

    /**
     * For folders a user names (export, init-gpt2): {@code dir} must not exist, be empty, or be a folder Kiln
     * wrote before (kiln_task.json, or {@value #KILN_VERSION} in config.json); a user's own model folder is never replaced.
     */
    public static void requireNewTarget(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + " is a file; give a new folder path");
        try (Stream<Path> s = Files.list(dir)) {
            if (s.findAny().isEmpty()) return;
        }
        if (!Files.isRegularFile(dir.resolve("kiln_task.json")) && !writtenByKiln(dir)) {
            throw new IllegalArgumentException(dir + " exists and is not empty; Kiln writes only new or empty folders"
                    + " (or replaces its own exports): choose another folder");
        }
        requireReplaceable(dir);
    }

    /** True when config.json carries the {@value #KILN_VERSION} that {@link #writeFolder} adds. */
    public static boolean writtenByKiln(Path dir) {
        try {
            return readConfig(dir).has(KILN_VERSION);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Deletes the files Kiln writes in a model folder, and the folder when nothing else is left in it. */
    public static void deleteOwnFolder(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        boolean left = false;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (!Files.isDirectory(p) && isOwnFile(p)) Files.delete(p);
                else left = true;
            }
        }
        if (!left) Files.delete(dir);
    }

    /** {@link AtomicFiles#deleteTree}, the one recursive delete (kept for the summarization tasks' callers). */
    public static void deleteTree(Path p) throws IOException {
        AtomicFiles.deleteTree(p);
    }
}
