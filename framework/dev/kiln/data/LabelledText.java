package dev.kiln.data;

import java.nio.file.Path;

/**
 * One classification example. {@code file} and {@code line} (1-based; for a CSV record that spans lines, the line it
 * starts on) are kept so later errors, such as a dev label unseen in training, can point at the data.
 *
 * @param textPair the second segment for pair tasks (NLI, paraphrase), or null
 */
public record LabelledText(String text, String textPair, String label, Path file, int line) {
    /** {@code FILE:LINE}, for messages. */
    public String where() {
        return DataException.where(file, line);
    }
}
