package dev.kiln.data;

import java.nio.file.Path;

/**
 * Bad input data, reported as one line: {@code FILE:LINE: what is wrong; how to fix it}.
 * An IllegalArgumentException so the CLI reports it as a user error (exit 2), not a crash.
 */
public class DataException extends IllegalArgumentException {
    private final Path file;
    private final int line;

    public DataException(String message) {
        super(message);
        this.file = null;
        this.line = 0;
    }

    /** {@code line} is 1-based; 0 means the problem is with the file as a whole. */
    public DataException(Path file, int line, String message) {
        super(where(file, line) + ": " + message);
        this.file = file;
        this.line = line;
    }

    public static String where(Path file, int line) {
        return line > 0 ? file + ":" + line : String.valueOf(file);
    }

    /** The file at fault, or null when the error is not about one file. */
    public Path file() {
        return file;
    }

    /** The 1-based line, or 0. */
    public int line() {
        return line;
    }
}
