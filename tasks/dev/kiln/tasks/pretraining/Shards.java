package dev.kiln.tasks.pretraining;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.util.AtomicFiles;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * A prepared corpus: raw text tokenised ahead of training, by machines other than the trainer's (the Spark job
 * {@code dev.kiln.spark.SparkPrepare}), into a folder that {@code data.train} / {@code data.dev} of pretrain-gpt and
 * pretrain-bert read as it is:
 *
 * <pre>
 * tokenizer/       the tokenizer the shards were encoded with (what the trained model folder gets)
 * shard-00000/     a {@link TokenStore}: the documents of a run of consecutive input files
 * shard-00001/ ...
 * meta.json        written last: kind, tokenizer hash, document settings, the shards in order, totals
 * </pre>
 *
 * Each shard is what the trainer's own tokenisation writes for its files ({@link Corpus#write}), and the shards in
 * order read as one store ({@link TokenStore}), so a prepared corpus is token for token the trainer's own. There is
 * nothing random in it: the same files and settings give the same bytes on any number of machines; what depends on
 * {@code training.seed} (block order, BERT's pairs and masks) is drawn by the trainer.
 */
public final class Shards {
    private Shards() {}

    public static final String TOKENIZER = "tokenizer";

    /** Whether {@code dir} is a complete prepared corpus. */
    public static boolean isPrepared(Path dir) {
        if (!Files.isRegularFile(dir.resolve(TokenStore.META)) || !Files.isDirectory(dir.resolve(TOKENIZER))) return false;
        try {
            return TokenStore.open(dir).meta().has("shards");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The store kind a task reads: "gpt" (pretrain-gpt) or "bert" (pretrain-bert). */
    public static String kind(String task) {
        return switch (task) {
            case "pretrain-gpt", "gpt" -> "gpt";
            case "pretrain-bert", "bert" -> "bert";
            default -> throw new IllegalArgumentException("--task " + task + ": use pretrain-gpt or pretrain-bert");
        };
    }

    /** How the raw text is read: data.documents, data.document_marker and data.encoding of the pretraining tasks. */
    public record Reading(String documents, String marker, String encoding) implements java.io.Serializable {
        Corpus.Settings settings() {
            return new Corpus.Settings(TextSource.Documents.parse(documents), marker, Charset.forName(encoding));
        }
    }

    /**
     * The input files in the trainer's order ({@link TextSource#files}) cut into runs of consecutive files of about
     * {@code shardBytes} each (a file is never split: a document never spans two files).
     */
    public static List<List<Path>> plan(Path input, String include, long shardBytes) throws IOException {
        List<List<Path>> out = new ArrayList<>();
        List<Path> cur = new ArrayList<>();
        long bytes = 0;
        for (Path f : TextSource.files(input, include)) {
            cur.add(f);
            bytes += Files.size(f);
            if (bytes >= shardBytes) {
                out.add(cur);
                cur = new ArrayList<>();
                bytes = 0;
            }
        }
        if (!cur.isEmpty()) out.add(cur);
        return out;
    }

    /**
     * Starts a prepared corpus in {@code out} (absent or empty, or an unfinished one of ours): the tokenizer named
     * {@code spec} as {@code model.tokenizer} names one (a zoo name, a folder, or "gpt2"), saved into it. Returns its hash.
     */
    public static String start(Path out, String spec) throws IOException {
        if (Files.exists(out)) {
            try (Stream<Path> s = Files.list(out)) {
                for (Path p : s.toList()) {
                    String n = p.getFileName().toString();
                    if (n.equals(TokenStore.META)) throw new IOException(out + ": already a prepared corpus; choose another --output");
                    // what an unfinished preparation leaves: the tokenizer, shards, and their temporary folders
                    if (!n.equals(TOKENIZER) && !n.matches("\\.?shard-\\d{5}.*") && !n.startsWith("." + TOKENIZER + ".")) {
                        throw new IOException(out + ": not empty (" + n + "); Kiln writes a prepared corpus only into a new or empty folder");
                    }
                }
            }
        }
        if (spec.equals(PretrainSetup.CHAR)) {
            throw new IllegalArgumentException("--tokenizer char builds its vocabulary from the whole corpus; prepare with a tokenizer "
                    + "folder, a zoo name or gpt2 (or let the trainer tokenise the raw text)");
        }
        Files.createDirectories(out);
        Path dir = out.resolve(TOKENIZER);
        Path tmp = Files.createTempDirectory(out, "." + TOKENIZER + ".tmp-");
        try (Tokenizer tok = PretrainSetup.namedTokenizer(spec)) {
            tok.save(tmp);
            String hash = Corpus.fileHash(tmp.resolve("tokenizer.json"));
            if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
                AtomicFiles.publish(tmp, dir);
            } else if (!Corpus.fileHash(dir.resolve("tokenizer.json")).equals(hash)) {
                // an unfinished preparation with another tokenizer: its shards must not be mixed with these
                throw new IOException(out + ": holds an unfinished preparation with another tokenizer; choose another --output");
            }
            return hash;
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }

    /** Shard {@code index}: {@code files} tokenised into {@code out/shard-NNNNN}; returns its tokens and documents. */
    public static long[] write(Path out, int index, String kind, List<Path> files, Reading reading) throws IOException {
        Path tokDir = out.resolve(TOKENIZER);
        try (Tokenizer tok = Tokenizer.load(tokDir)) {
            TokenStore st = Corpus.write(kind(kind), files, reading.settings(), tok, Corpus.fileHash(tokDir.resolve("tokenizer.json")),
                    out.resolve(name(index)));
            return new long[] {st.tokens(), st.documents()};
        }
    }

    static String name(int index) {
        return String.format(Locale.ROOT, "shard-%05d", index);
    }

    /** Writes meta.json over {@code shards} written shards: the corpus is complete. Returns it opened. */
    public static TokenStore finish(Path out, String kind, int shards, Reading reading, String tokenizerHash) throws IOException {
        JsonObject m = new JsonObject();
        m.addProperty("kind", kind(kind));
        m.addProperty("version", Corpus.VERSION);
        m.addProperty("tokenizer_sha256", tokenizerHash);
        JsonObject r = new JsonObject();
        r.addProperty("documents", reading.documents());
        if (reading.marker() != null) r.addProperty("document_marker", reading.marker());
        r.addProperty("encoding", reading.encoding());
        m.add("reading", r);
        JsonArray names = new JsonArray();
        for (int i = 0; i < shards; i++) names.add(name(i));
        m.add("shards", names);
        Path meta = out.resolve(TokenStore.META);
        AtomicFiles.writeJson(meta, m);
        TokenStore st;
        try {
            st = TokenStore.open(out);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(meta);
            throw e;
        }
        m.addProperty("tokens", st.tokens());
        m.addProperty("units", st.units());
        m.addProperty("documents", st.documents());
        AtomicFiles.writeJson(meta, m);
        return TokenStore.open(out);
    }
}
