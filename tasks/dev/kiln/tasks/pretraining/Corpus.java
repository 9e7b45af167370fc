package dev.kiln.tasks.pretraining;

import dev.kiln.util.AtomicFiles;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.text.ByteVocab;
import dev.kiln.text.Encoding;
import dev.kiln.text.SentenceSplitter;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Tokenises raw text into {@link TokenStore}s, once: a store is named by a hash of everything that
 * decides its content (the files' paths, sizes and modification times, the document settings, the
 * tokenizer file and the store kind), so a later run with the same inputs opens it instead.
 *
 * <p>Two kinds: "gpt" — each document's tokens followed by the end-of-text token (the stream that
 * fixed blocks are cut from); "bert" — one unit per sentence, no special tokens.
 */
final class Corpus {
    /** Bumped whenever the bytes a store holds for the same inputs would change. */
    static final int VERSION = 2;
    /** Text handed to the tokenizer at once, cut at safe line ends (see GptSink). */
    static final int CHUNK_CHARS = 1 << 16;
    /** When no safe line end came for this long, cut at the next line end anyway. */
    static final int MAX_CHUNK_CHARS = 8 * CHUNK_CHARS;

    private Corpus() {}

    /** Where one source's settings are, besides the files. */
    record Settings(TextSource.Documents documents, String marker, Charset charset) {
        String describe() {
            return "documents=" + documents.configName() + "\nmarker=" + marker + "\nencoding=" + charset.name() + "\n";
        }
    }

    static TextSource source(List<Path> files, Settings s) {
        return new TextSource(files, s.documents(), s.marker(), s.charset());
    }

    /** path, size and modification time of every file: what decides whether a cached store is stale. */
    static String identity(List<Path> files) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Path f : files) {
            sb.append(f.toAbsolutePath()).append('|').append(Files.size(f)).append('|')
                    .append(Files.getLastModifiedTime(f).toMillis()).append('\n');
        }
        return sb.toString();
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String fileHash(Path f) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The character vocabulary of {@code files} (as the pipeline reads them: line ends become '\n'),
     * built once into {@code cacheRoot}.
     */
    static Path charVocabulary(Path cacheRoot, List<Path> files, Settings s) throws IOException {
        Path dir = cacheRoot.resolve("charvocab-" + sha256("charvocab v" + VERSION + "\n" + s.describe() + identity(files)).substring(0, 16));
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) return dir;
        boolean[] seen = new boolean[256];
        seen['\n'] = true;
        source(files, s).read(new TextSource.Sink() {
            @Override public void startDocument() {}

            @Override
            public void text(String piece, boolean lineEnd) {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) seen[b & 0xFF] = true;
            }

            @Override public void endDocument() {}
        });
        Path tmp = Files.createTempDirectory(cacheRoot, ".charvocab.tmp-");
        try {
            ByteVocab.create(tmp, seen).close();
            AtomicFiles.publishNew(tmp, dir); // false: a concurrent run built the same thing first
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
        return dir;
    }

    /**
     * Saves {@code tok} into the cache under the hash of its tokenizer.json, so the model folder gets
     * exactly the tokenizer the corpus was encoded with. Returns the folder.
     */
    static Path materialise(Path cacheRoot, Tokenizer tok) throws IOException {
        Path tmp = Files.createTempDirectory(cacheRoot, ".tokenizer.tmp-");
        try {
            tok.save(tmp);
            Path dir = cacheRoot.resolve("tokenizer-" + fileHash(tmp.resolve("tokenizer.json")).substring(0, 16));
            if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) AtomicFiles.publishNew(tmp, dir);
            return dir;
        } finally {
            AtomicFiles.deleteTree(tmp);
        }
    }

    /** Opens the store for these inputs, tokenising them first when no cached copy exists. */
    static TokenStore store(String kind, Path cacheRoot, List<Path> files, Settings s, Tokenizer tok, Path tokDir)
            throws IOException {
        String tokHash = fileHash(tokDir.resolve("tokenizer.json"));
        String key = sha256(kind + " v" + VERSION + "\n" + tokHash + "\n" + s.describe() + identity(files)).substring(0, 16);
        Path dir = cacheRoot.resolve(kind + "-" + key);
        if (TokenStore.exists(dir)) return TokenStore.open(dir);
        long bytes = 0;
        for (Path f : files) bytes += Files.size(f);
        System.err.printf("tokenising %d file(s), %.1f MB, into %s%n", files.size(), bytes / 1e6, dir);
        long t0 = System.nanoTime();
        TokenStore store = write(kind, files, s, tok, tokHash, dir);
        System.err.printf("tokenised: %,d tokens, %,d documents in %.1f s%n", store.tokens(), store.documents(),
                (System.nanoTime() - t0) / 1e9);
        return store;
    }

    /**
     * Tokenises {@code files} into a new store at {@code dir}: the cache's stores and the shards of a prepared corpus
     * ({@link Shards}) alike. Documents never span files, and neither sink carries anything from one document to the
     * next, so the stores of consecutive groups of files, put end to end, are the store of all of them.
     */
    static TokenStore write(String kind, List<Path> files, Settings s, Tokenizer tok, String tokHash, Path dir) throws IOException {
        JsonObject meta = new JsonObject();
        meta.addProperty("kind", kind);
        meta.addProperty("version", VERSION);
        meta.addProperty("tokenizer_sha256", tokHash);
        meta.addProperty("documents", s.documents().configName());
        if (s.marker() != null) meta.addProperty("document_marker", s.marker());
        meta.addProperty("encoding", s.charset().name());
        JsonArray fl = new JsonArray();
        files.forEach(f -> fl.add(f.toAbsolutePath().toString()));
        meta.add("files", fl);
        try (TokenStore.Writer w = new TokenStore.Writer(dir)) {
            TextSource.Sink sink = kind.equals("gpt") ? new GptSink(w, TextEncoder.of(tok), tok.eosId()) : new BertSink(w, tok);
            TextSource.Stats st = source(files, s).read(sink);
            meta.addProperty("bytes", st.bytes());
            meta.addProperty("lines", st.lines());
            return w.finish(meta);
        }
    }

    /**
     * Documents as one token stream, each followed by end-of-text. Text is encoded in chunks of about
     * {@link #CHUNK_CHARS}, cut only where encoding the pieces equals encoding the whole: after a line
     * that ends in a non-space character and before one that starts with one. GPT-2's pre-tokenizer
     * ({@code \s+(?!\S)}) joins a newline with spaces next to it, so other line ends are not safe.
     * Overlong lines arrive in pieces cut before a space, where " word" stays one pre-token.
     */
    static final class GptSink implements TextSource.Sink {
        private final TokenStore.Writer w;
        private final TextEncoder enc;
        private final int eos;
        private final StringBuilder chunk = new StringBuilder();
        private long docTokens;
        int peakChunkChars;

        GptSink(TokenStore.Writer w, TextEncoder enc, Integer eos) {
            if (eos == null) throw new IllegalArgumentException("the tokenizer has no end-of-text token; pretrain-gpt needs one to join documents");
            this.w = w;
            this.enc = enc;
            this.eos = eos;
        }

        @Override
        public void startDocument() {
            docTokens = 0;
        }

        private boolean cutBeforeNext;

        @Override
        public void text(String piece, boolean lineEnd) throws IOException {
            if (cutBeforeNext && !piece.isEmpty() && !Character.isWhitespace(piece.charAt(0))) flush();
            cutBeforeNext = false;
            chunk.append(piece);
            if (lineEnd) chunk.append('\n');
            int n = chunk.length();
            peakChunkChars = Math.max(peakChunkChars, n);
            if (lineEnd) {
                if (n >= CHUNK_CHARS && n >= 2 && !Character.isWhitespace(chunk.charAt(n - 2))) cutBeforeNext = true;
                else if (n >= MAX_CHUNK_CHARS) flush();
            } else if (n >= CHUNK_CHARS) {
                flush(); // inside an overlong line, before a space
            }
        }

        private void flush() throws IOException {
            if (chunk.length() == 0) return;
            int[] ids = enc.encode(chunk.toString());
            chunk.setLength(0);
            w.add(ids);
            docTokens += ids.length;
        }

        @Override
        public void endDocument() throws IOException {
            flush();
            if (docTokens > 0) {
                w.add(new int[] {eos});
                w.endDocument();
            }
        }
    }

    /** Sentences as units: each line is encoded once and its tokens are assigned to sentences by offset. */
    static final class BertSink implements TextSource.Sink {
        private final TokenStore.Writer w;
        private final Tokenizer tok;
        private final StringBuilder line = new StringBuilder();

        BertSink(TokenStore.Writer w, Tokenizer tok) {
            if (tok.clsId() == null || tok.sepId() == null || tok.maskId() == null) {
                throw new IllegalArgumentException("pretrain-bert needs a tokenizer with [CLS], [SEP] and [MASK] (a BERT WordPiece vocabulary)");
            }
            this.w = w;
            this.tok = tok;
        }

        @Override public void startDocument() {}

        @Override
        public void text(String piece, boolean lineEnd) throws IOException {
            line.append(piece);
            if (lineEnd || line.length() >= CHUNK_CHARS) {
                String s = line.toString();
                line.setLength(0);
                if (!s.isBlank()) encodeLine(s);
            }
        }

        private void encodeLine(String s) throws IOException {
            List<int[]> spans = SentenceSplitter.spans(s);
            if (spans.isEmpty()) return;
            Encoding e = tok.encode(s, false);
            long[] ids = e.ids();
            int[][] off = e.offsets();
            int[] buf = new int[ids.length];
            int span = 0;
            int n = 0;
            for (int i = 0; i < ids.length; i++) {
                while (span + 1 < spans.size() && off[i][0] >= spans.get(span + 1)[0]) {
                    if (n > 0) {
                        w.add(buf, 0, n);
                        w.endUnit();
                        n = 0;
                    }
                    span++;
                }
                buf[n++] = (int) ids[i];
            }
            if (n > 0) {
                w.add(buf, 0, n);
                w.endUnit();
            }
        }

        @Override
        public void endDocument() throws IOException {
            w.endDocument();
        }
    }
}
