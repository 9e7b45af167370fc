package dev.kiln.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A rule-based English sentence splitter for news-style text (extractive summarization and ROUGE-Lsum).
 *
 * <p>Boundaries: every line break; and after '.', '!' or '?' (runs such as "?!" or "..." included, and
 * closing quotes or brackets after them) when whitespace follows and the next sentence starts with an
 * upper-case letter, an opening quote or an opening bracket. A terminator glued to a capitalised word
 * ("$10.9bn.For the year", "rose.AOL lost") is also a boundary, unless more dots follow before the next
 * space (a web address): the BBC News summaries join their sentences that way.
 *
 * <p>Not boundaries: a period after a title or other listed abbreviation ("Mr.", "Dr.", "St.", "Gen."),
 * after a single letter ("J. K. Rowling") or after a dotted acronym ("U.S.", "a.m."), and anything
 * followed by a lower-case letter or a digit.
 *
 * <p>Known limits: a sentence that really ends with an abbreviation, an initial or a dotted acronym is
 * joined to the next one ("... at 10 p.m. The next day"); one that ends before a lower-case or numeric
 * start is missed ("... in 2004. 2005 was worse"); "etc." and company suffixes ("Inc.", "Ltd.") are not
 * abbreviations here, since they usually end sentences in news text; text hard-wrapped at a fixed
 * width is split at every line.
 */
public final class SentenceSplitter {
    private SentenceSplitter() {}

    /** A sentence and where it is: {@code text} is {@code source.substring(start, end)}, trimmed. */
    public record Sentence(String text, int start, int end) {}

    /**
     * Titles and abbreviations that come before a capitalised word without ending a sentence. Those
     * usually followed by a number ("No. 10", "Jan. 5") need no entry: a digit never starts a sentence here.
     */
    static final Set<String> ABBREVIATIONS = Set.of(
            "mr", "mrs", "ms", "messrs", "mme", "mlle", "dr", "prof", "st", "sr", "jr", "fr", "rev", "hon",
            "gen", "gov", "sen", "rep", "pres", "col", "lt", "capt", "cmdr", "adm", "maj", "sgt", "cpl", "pte",
            "insp", "det", "supt", "cllr", "mt", "ft", "vs");

    /** The sentences of {@code text}, in order. */
    public static List<String> sentences(String text) {
        List<String> out = new ArrayList<>();
        for (Sentence s : split(text)) out.add(s.text());
        return out;
    }

    /** The sentences of {@code text} with their character ranges. */
    /** [start, end) character spans of the sentences (what the pretraining corpus reader needs). */
    public static List<int[]> spans(String text) {
        List<int[]> out = new java.util.ArrayList<>();
        for (Sentence x : split(text)) out.add(new int[] {x.start(), x.end()});
        return out;
    }

    public static List<Sentence> split(String text) {
        List<Sentence> out = new ArrayList<>();
        int n = text.length();
        int start = 0;
        int i = 0;
        while (i < n) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r') {
                add(out, text, start, i);
                start = i + 1;
                i++;
                continue;
            }
            if (c == '.' || c == '!' || c == '?') {
                int j = i;
                while (j < n && isTerminator(text.charAt(j))) j++;
                while (j < n && isClosing(text.charAt(j))) j++;
                if (j < n && isBoundary(text, i, j)) {
                    add(out, text, start, j);
                    start = j;
                }
                i = j;
                continue;
            }
            i++;
        }
        add(out, text, start, n);
        return out;
    }

    /** Whether the terminator run text[i..j) ends a sentence, given what follows at j. */
    private static boolean isBoundary(String text, int i, int j) {
        char next = text.charAt(j);
        boolean glued;
        if (Character.isWhitespace(next)) {
            int k = j;
            while (k < text.length() && (text.charAt(k) == ' ' || text.charAt(k) == '\t' || text.charAt(k) == '\u00a0')) k++;
            if (k >= text.length() || text.charAt(k) == '\n' || text.charAt(k) == '\r') return true;
            char c = text.charAt(k);
            if (!(Character.isUpperCase(c) || isOpening(c))) return false;
            glued = false;
        } else {
            // "bn.For", "AOL.For": glued when a letter, digit or % precedes and a capitalised word follows
            char before = i > 0 ? text.charAt(i - 1) : ' ';
            boolean wordAfter = Character.isUpperCase(next) && j + 1 < text.length() && Character.isLetter(text.charAt(j + 1));
            boolean quoteAfter = isOpening(next) && j + 1 < text.length() && Character.isUpperCase(text.charAt(j + 1));
            if (!(Character.isLetterOrDigit(before) || before == '%' || isClosing(before))
                    || !(wordAfter || quoteAfter)) {
                return false;
            }
            // a web address ("www.BBC.co.uk") goes on with more dots before the next space
            for (int k = j; k + 1 < text.length() && !Character.isWhitespace(text.charAt(k)); k++) {
                if (text.charAt(k) == '.' && Character.isLetter(text.charAt(k + 1))) return false;
            }
            glued = true;
        }
        for (int k = i; k < j; k++) {
            if (text.charAt(k) == '!' || text.charAt(k) == '?') return true; // "3 p.m.?" ends, abbreviation or not
        }
        if (j - i > 1 && text.charAt(i + 1) == '.') return true; // ellipses
        String word = wordBefore(text, i);
        if (word.isEmpty()) return true;
        if (!glued && word.length() == 1 && Character.isLetter(word.charAt(0))) return false; // an initial
        if (word.indexOf('.') >= 0) return false;                                          // U.S., a.m.
        if (word.length() > 1 && word.equals(word.toUpperCase(Locale.ROOT))) return true;       // "MS." is not "Ms."
        return !ABBREVIATIONS.contains(word.toLowerCase(Locale.ROOT));
    }

    /** The token just before position {@code i}: letters, apostrophes and inner periods back to a space or bracket. */
    private static String wordBefore(String text, int i) {
        int k = i;
        while (k > 0) {
            char c = text.charAt(k - 1);
            if (Character.isLetter(c) || c == '.' || c == '\'' || c == '\u2019') k--;
            else break;
        }
        // a digit or other character glued in front ("3.Mr") makes it not a plain word
        if (k > 0 && !Character.isWhitespace(text.charAt(k - 1)) && !isOpening(text.charAt(k - 1))) return "";
        return text.substring(k, i);
    }

    private static boolean isTerminator(char c) {
        return c == '.' || c == '!' || c == '?';
    }

    private static boolean isClosing(char c) {
        return c == '"' || c == '\'' || c == '\u201d' || c == '\u2019' || c == ')' || c == ']';
    }

    private static boolean isOpening(char c) {
        return c == '"' || c == '\'' || c == '\u201c' || c == '\u2018' || c == '(' || c == '[';
    }

    private static void add(List<Sentence> out, String text, int from, int to) {
        while (from < to && Character.isWhitespace(text.charAt(from))) from++;
        while (to > from && Character.isWhitespace(text.charAt(to - 1))) to--;
        if (to > from) out.add(new Sentence(text.substring(from, to), from, to));
    }
}
