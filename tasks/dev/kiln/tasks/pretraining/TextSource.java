package dev.kiln.tasks.pretraining;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.Charset;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Raw text files streamed as documents, for pretraining corpora that may not fit in memory.
 *
 * <p>Files are read through a fixed character buffer and handed on a line at a time; a line longer
 * than {@code maxPieceChars} is handed on in pieces (cut at a space where there is one), so what this
 * reader holds is bounded by its two buffers, whatever the file size. Line terminators (LF, CRLF, CR)
 * are not passed on; a leading byte-order mark is dropped.
 *
 * <p>Documents: one per file, separated by blank lines, one per line, or started by every line that
 * matches a marker pattern (e.g. WikiText's top-level {@code " = Title = "} headings). A document
 * never spans two files.
 */
public final class TextSource {

    /** How documents are delimited. */
    public enum Documents {
        FILE, BLANK_LINE, LINE, MARKER;

        public static Documents parse(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT).replace('-', '_'));
        }

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Receives a corpus; pieces of a line arrive in order, the last with {@code lineEnd}. */
    public interface Sink {
        void startDocument() throws IOException;

        void text(String piece, boolean lineEnd) throws IOException;

        void endDocument() throws IOException;
    }

    /** What one pass read, and the most it held at once. */
    public record Stats(long bytes, long chars, long lines, long documents, int bufferChars, int peakLineChars) {}

    public static final int DEFAULT_BUFFER_CHARS = 1 << 16;
    public static final int DEFAULT_MAX_PIECE_CHARS = 1 << 20;

    private final List<Path> files;
    private final Documents documents;
    private final Pattern marker;
    private final Charset charset;
    private final int bufferChars;
    private final int maxPieceChars;

    public TextSource(List<Path> files, Documents documents, String marker, Charset charset) {
        this(files, documents, marker, charset, DEFAULT_BUFFER_CHARS, DEFAULT_MAX_PIECE_CHARS);
    }

    public TextSource(List<Path> files, Documents documents, String marker, Charset charset, int bufferChars, int maxPieceChars) {
        if (documents == Documents.MARKER && (marker == null || marker.isEmpty())) {
            throw new IllegalArgumentException("documents \"marker\" needs a marker pattern");
        }
        this.files = List.copyOf(files);
        this.documents = documents;
        this.marker = marker == null ? null : Pattern.compile(marker);
        this.charset = charset;
        this.bufferChars = bufferChars;
        this.maxPieceChars = maxPieceChars;
    }

    public List<Path> files() {
        return files;
    }

    /**
     * The corpus files under {@code root}: the file itself, or a folder's regular files (recursively,
     * hidden ones skipped) whose path relative to the folder matches the glob {@code include} (a
     * pattern without '/' matches the file name; null matches all), in natural order (chapter_2 before
     * chapter_10), so the document order is the same on every machine.
     */
    public static List<Path> files(Path root, String include) throws IOException {
        if (Files.isRegularFile(root)) return List.of(root);
        if (!Files.isDirectory(root)) throw new IOException(root + ": no such file or folder");
        PathMatcher m = include == null ? null : FileSystems.getDefault().getPathMatcher("glob:" + include);
        boolean byName = include != null && !include.contains("/");
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.filter(Files::isRegularFile).forEach(p -> {
                Path rel = root.relativize(p);
                for (Path part : rel) if (part.toString().startsWith(".")) return;
                if (m == null || m.matches(byName ? rel.getFileName() : rel)) out.add(p);
            });
        }
        out.sort((a, b) -> naturalCompare(root.relativize(a).toString(), root.relativize(b).toString()));
        if (out.isEmpty()) {
            throw new IOException(root + ": no files" + (include == null ? "" : " matching \"" + include + "\""));
        }
        return out;
    }

    /** Compares digit runs by value, the rest by character. */
    static int naturalCompare(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            char x = a.charAt(i), y = b.charAt(j);
            if (Character.isDigit(x) && Character.isDigit(y)) {
                int si = i, sj = j;
                while (i < a.length() && Character.isDigit(a.charAt(i))) i++;
                while (j < b.length() && Character.isDigit(b.charAt(j))) j++;
                String na = a.substring(si, i).replaceFirst("^0+(?=.)", "");
                String nb = b.substring(sj, j).replaceFirst("^0+(?=.)", "");
                int c = na.length() != nb.length() ? Integer.compare(na.length(), nb.length()) : na.compareTo(nb);
                if (c != 0) return c;
            } else {
                if (x != y) return Character.compare(x, y);
                i++;
                j++;
            }
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** One pass over every file, in order. */
    public Stats read(Sink sink) throws IOException {
        Pass p = new Pass(sink);
        for (Path f : files) p.file(f);
        return new Stats(p.bytes, p.chars, p.lines, p.docs, bufferChars, p.peakLine);
    }

    private final class Pass {
        final Sink sink;
        final char[] buf = new char[bufferChars];
        final StringBuilder line = new StringBuilder();
        long bytes, chars, lines, docs;
        int peakLine;
        boolean open;       // a document is open
        boolean midLine;    // pieces of the current line were already handed on

        Pass(Sink sink) {
            this.sink = sink;
        }

        void file(Path f) throws IOException {
            long[] counted = new long[1];
            try (InputStream raw = Files.newInputStream(f);
                 Reader r = new InputStreamReader(new Counting(raw, counted), charset)) {
                if (documents == Documents.FILE) start();
                boolean first = true;
                boolean lastWasCr = false;
                for (int n; (n = r.read(buf, 0, buf.length)) > 0; ) {
                    chars += n;
                    int from = 0;
                    if (first && buf[0] == '\uFEFF') from = 1;
                    first = false;
                    int segment = from;
                    for (int i = from; i < n; i++) {
                        char c = buf[i];
                        if (c == '\n' || c == '\r') {
                            if (c == '\n' && lastWasCr && i == segment) { // second half of CRLF
                                segment = i + 1;
                                lastWasCr = false;
                                continue;
                            }
                            append(buf, segment, i);
                            endLine();
                            segment = i + 1;
                            lastWasCr = c == '\r';
                        } else {
                            lastWasCr = false;
                        }
                    }
                    append(buf, segment, n);
                }
                if (line.length() > 0 || midLine) endLine();
                if (open) end();
            }
            bytes += counted[0];
        }

        private void append(char[] b, int from, int to) throws IOException {
            int at = from;
            while (at < to) {
                int take = Math.min(to - at, maxPieceChars - line.length());
                line.append(b, at, take);
                at += take;
                peakLine = Math.max(peakLine, line.length());
                if (line.length() >= maxPieceChars) emitPiece();
            }
        }

        /**
         * Hands on the held part of an overlong line up to (not including) its last space, keeping the
         * rest: GPT-2's pre-tokenizer attaches a space to the word after it, so cutting before a space
         * gives the same tokens as the uncut line.
         */
        private void emitPiece() throws IOException {
            int cut = line.length();
            for (int i = line.length() - 1; i > line.length() / 2; i--) {
                if (line.charAt(i) == ' ') {
                    cut = i;
                    break;
                }
            }
            String piece = line.substring(0, cut);
            line.delete(0, cut);
            if (!midLine) beginLine(piece);
            midLine = true;
            sink.text(piece, false);
        }

        /** Document bookkeeping for a line whose first characters are {@code head}. */
        private void beginLine(String head) throws IOException {
            switch (documents) {
                case LINE:
                    start();
                    break;
                case MARKER:
                    if (marker.matcher(head).find()) {
                        if (open) end();
                        start();
                    } else if (!open) {
                        start();
                    }
                    break;
                case BLANK_LINE:
                    if (!open) start();
                    break;
                default:
                    break;
            }
        }

        private void endLine() throws IOException {
            lines++;
            String s = line.toString();
            line.setLength(0);
            if (midLine) {
                midLine = false;
                sink.text(s, true);
                if (documents == Documents.LINE) end();
                return;
            }
            boolean blank = s.isBlank();
            if (documents == Documents.BLANK_LINE && blank) {
                if (open) end();
                return;
            }
            if (documents == Documents.LINE && blank) return;
            if (documents == Documents.MARKER && blank && !open) return; // nothing before the first document
            beginLine(s);
            sink.text(s, true);
            if (documents == Documents.LINE) end();
        }

        private void start() throws IOException {
            open = true;
            sink.startDocument();
        }

        private void end() throws IOException {
            open = false;
            docs++;
            sink.endDocument();
        }
    }

    /** Counts bytes as they are read. */
    private static final class Counting extends FilterInputStream {
        final long[] count;

        Counting(InputStream in, long[] count) {
            super(in);
            this.count = count;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) count[0]++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) count[0] += n;
            return n;
        }
    }
}
