package dev.kiln.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Rule-based sentence boundaries for raw prose, enough for BERT's sentence-aware segment pairs
 * (the original recipe wants one sentence per line; raw corpora have paragraphs). A sentence ends
 * after '.', '!' or '?' (plus closing quotes or brackets) when whitespace and then an upper-case
 * letter, digit or opening quote follows — unless the word before the period is a common
 * abbreviation or a single letter (an initial). Not a linguistic tool: a missed split only makes a
 * segment longer, which the pair builder handles.
 */
public final class SentenceSplitter {
    private SentenceSplitter() {}

    private static final Set<String> ABBREVIATIONS = Set.of("mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc",
            "e.g", "i.e", "no", "mt", "gen", "col", "lt", "sgt", "capt", "rev", "prof", "inc", "co", "ltd", "u.s",
            "fig", "vol", "ch", "approx", "dept", "est", "op", "cf", "al");

    /** [start, end) character ranges of the sentences of {@code text}, trimmed, in order; none for blank text. */
    public static List<int[]> spans(String text) {
        List<int[]> out = new ArrayList<>();
        int n = text.length();
        int start = skipSpace(text, 0);
        int i = start;
        while (i < n) {
            char c = text.charAt(i);
            if (c == '.' || c == '!' || c == '?') {
                int end = i + 1;
                while (end < n && isCloser(text.charAt(end))) end++;
                int next = skipSpace(text, end);
                if (next > end && next < n && startsSentence(text.charAt(next)) && (c != '.' || !abbreviation(text, i))) {
                    out.add(new int[] {start, end});
                    start = next;
                    i = next;
                    continue;
                }
                i = end;
                continue;
            }
            i++;
        }
        int end = n;
        while (end > start && Character.isWhitespace(text.charAt(end - 1))) end--;
        if (end > start) out.add(new int[] {start, end});
        return out;
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        return i;
    }

    private static boolean isCloser(char c) {
        return c == '"' || c == '\'' || c == ')' || c == ']' || c == '\u201D' || c == '\u2019' || c == '.' || c == '!' || c == '?';
    }

    private static boolean startsSentence(char c) {
        return Character.isUpperCase(c) || Character.isDigit(c) || c == '"' || c == '\'' || c == '(' || c == '['
                || c == '\u201C' || c == '\u2018';
    }

    /** Whether the word ending at the period {@code dot} is an abbreviation or an initial. */
    private static boolean abbreviation(String s, int dot) {
        int b = dot;
        while (b > 0 && !Character.isWhitespace(s.charAt(b - 1)) && s.charAt(b - 1) != '(') b--;
        String w = s.substring(b, dot).toLowerCase(Locale.ROOT);
        if (w.length() == 1 && Character.isLetter(w.charAt(0))) return true;
        return ABBREVIATIONS.contains(w);
    }
}
