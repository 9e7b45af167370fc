package dev.kiln.util;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;

/**
 * I/O errors as one line with the path and the reason: the JDK's file exceptions carry the path alone as their
 * message ({@code /data/x}), and a low-level write error carries the reason alone ({@code No space left on device}).
 */
public final class IoErrors {
    private IoErrors() {}

    /** Why a file operation failed, in words ("permission denied", "no such file or folder", ...). */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException f) {
            return f instanceof java.nio.file.NoSuchFileException ? "no such file or folder"
                    : f instanceof java.nio.file.AccessDeniedException ? "permission denied"
                    : f instanceof java.nio.file.FileAlreadyExistsException ? "already exists"
                    : f instanceof java.nio.file.NotDirectoryException ? "not a folder"
                    : f instanceof java.nio.file.DirectoryNotEmptyException ? "folder not empty"
                    : f.getReason() != null ? f.getReason() : e.getClass().getSimpleName();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** The one line the CLI prints for {@code e}. */
    public static String describe(IOException e) {
        if (e instanceof FileSystemException f && f.getFile() != null) {
            return f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "") + ": " + reason(e);
        }
        String m = reason(e);
        if (!m.contains("/") && e.getCause() instanceof IOException c && c.getMessage() != null) m = c.getMessage() + ": " + m;
        return m;
    }

    /** {@code e} with {@code target} in its message when it lacks a path ("No space left on device" alone). */
    public static IOException named(Path target, IOException e) {
        String m = String.valueOf(e.getMessage());
        if (e instanceof FileSystemException || m.contains(target.toString())) return e;
        return new IOException("writing " + target + ": " + m, e);
    }
}
