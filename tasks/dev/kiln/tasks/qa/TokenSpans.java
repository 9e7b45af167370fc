package dev.kiln.tasks.qa;

import dev.kiln.text.Encoding;

/**
 * Maps between character spans of a text and the tokens that cover them, through an encoding's
 * offsets ({@link Encoding#offsets()}: per token a [start, end) range of String indexes). Shared by the
 * span tasks: QA answers and entity spans are given in characters, models predict tokens.
 */
public final class TokenSpans {
    private TokenSpans() {}

    /**
     * The first and last token (inclusive, as {@code {first, last}}) among tokens [from, to) whose
     * characters overlap [charStart, charEnd), or null when none does. A token only partly inside the
     * span counts (an answer "Denver" inside the token "Denver's" is still that token), and empty
     * tokens (special tokens, [0, 0)) never count. A token whose offsets include a leading space (GPT-2)
     * is found the same way.
     */
    public static int[] covering(int[][] offsets, int from, int to, int charStart, int charEnd) {
        int first = -1;
        int last = -1;
        for (int i = from; i < to; i++) {
            int[] o = offsets[i];
            if (o == null || o[1] <= o[0]) continue;
            if (o[0] < charEnd && o[1] > charStart) {
                if (first < 0) first = i;
                last = i;
            }
        }
        return first < 0 ? null : new int[] {first, last};
    }

    /**
     * The characters of tokens first..last (inclusive) of {@code text}, as {@code {start, end}}, with
     * surrounding whitespace trimmed (byte-level BPE tokens carry their leading space in the offsets).
     */
    public static int[] charSpan(int[][] offsets, int first, int last, String text) {
        int s = offsets[first][0];
        int e = offsets[last][1];
        while (s < e && Character.isWhitespace(text.charAt(s))) s++;
        while (e > s && Character.isWhitespace(text.charAt(e - 1))) e--;
        return new int[] {s, e};
    }
}
