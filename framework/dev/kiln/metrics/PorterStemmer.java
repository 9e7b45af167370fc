package dev.kiln.metrics;

/**
 * The Porter stemmer (M.F. Porter, "An algorithm for suffix stripping", Program 14(3), 1980), written
 * from the paper's rules, with the departures Martin Porter made in his own reference version:
 * step 2 maps BLI to BLE (instead of ABLI to ABLE) and LOGI to LOG, and words of one or two letters
 * are left alone.
 *
 * <p>rouge-score calls NLTK's stemmer in its default mode, which adds NLTK's own rules on top of these
 * (irregular forms such as "dying", "-ies" on four-letter words, a stricter y-to-i rule), so a few
 * uncommon words stem differently here. Both sides of a ROUGE comparison use the same stemmer, so this
 * only matters where such a word appears in two surface forms.
 *
 * <p>Input is expected in lower case a-z (ROUGE tokens); other characters count as consonants.
 */
public final class PorterStemmer {
    private PorterStemmer() {}

    /** The stem of a lower-case word. */
    public static String stem(String word) {
        if (word.length() <= 2) return word;
        String w = step1a(word);
        w = step1b(w);
        w = step1c(w);
        w = step2(w);
        w = step3(w);
        w = step4(w);
        w = step5a(w);
        return step5b(w);
    }

    // ---- the paper's definitions ----

    /** A consonant is a letter other than a, e, i, o, u, and other than y preceded by a consonant. */
    static boolean consonant(CharSequence w, int i) {
        switch (w.charAt(i)) {
            case 'a': case 'e': case 'i': case 'o': case 'u':
                return false;
            case 'y':
                return i == 0 || !consonant(w, i - 1);
            default:
                return true;
        }
    }

    /** m in [C](VC)^m[V]: the number of vowel-consonant sequences. */
    static int measure(CharSequence w) {
        int n = w.length();
        int i = 0;
        while (i < n && consonant(w, i)) i++;
        int m = 0;
        while (i < n) {
            while (i < n && !consonant(w, i)) i++;
            if (i >= n) break;
            while (i < n && consonant(w, i)) i++;
            m++;
        }
        return m;
    }

    /** *v*: the stem contains a vowel. */
    static boolean hasVowel(CharSequence w) {
        for (int i = 0; i < w.length(); i++) if (!consonant(w, i)) return true;
        return false;
    }

    /** *d: the stem ends with a double consonant. */
    static boolean doubleConsonant(CharSequence w) {
        int n = w.length();
        return n >= 2 && w.charAt(n - 1) == w.charAt(n - 2) && consonant(w, n - 1);
    }

    /** *o: the stem ends consonant-vowel-consonant, the last consonant not w, x or y. */
    static boolean cvc(CharSequence w) {
        int n = w.length();
        if (n < 3) return false;
        char last = w.charAt(n - 1);
        return consonant(w, n - 1) && !consonant(w, n - 2) && consonant(w, n - 3)
                && last != 'w' && last != 'x' && last != 'y';
    }

    private static String cut(String w, String suffix) {
        return w.substring(0, w.length() - suffix.length());
    }

    /**
     * Steps 2-4: the longest matching suffix decides; when its condition fails no shorter suffix
     * of the same step is tried (the paper's rule).
     */
    private static String longestRule(String w, String[][] rules, int minMeasure) {
        String[] best = null;
        for (String[] r : rules) {
            if (w.endsWith(r[0]) && (best == null || r[0].length() > best[0].length())) best = r;
        }
        if (best == null) return w;
        String stem = cut(w, best[0]);
        return measure(stem) > minMeasure ? stem + best[1] : w;
    }

    // ---- steps ----

    static String step1a(String w) {
        if (w.endsWith("sses")) return cut(w, "es");
        if (w.endsWith("ies")) return cut(w, "es");
        if (w.endsWith("ss")) return w;
        if (w.endsWith("s")) return cut(w, "s");
        return w;
    }

    static String step1b(String w) {
        if (w.endsWith("eed")) {
            String stem = cut(w, "eed");
            return measure(stem) > 0 ? stem + "ee" : w;
        }
        String stem = null;
        if (w.endsWith("ed") && hasVowel(cut(w, "ed"))) stem = cut(w, "ed");
        else if (w.endsWith("ing") && hasVowel(cut(w, "ing"))) stem = cut(w, "ing");
        if (stem == null) return w;
        // tidy-up after removing -ed/-ing: conflat(ed) -> conflate, hopp(ing) -> hop, fil(ing) -> file
        if (stem.endsWith("at") || stem.endsWith("bl") || stem.endsWith("iz")) return stem + "e";
        if (doubleConsonant(stem)) {
            char c = stem.charAt(stem.length() - 1);
            return c == 'l' || c == 's' || c == 'z' ? stem : stem.substring(0, stem.length() - 1);
        }
        if (measure(stem) == 1 && cvc(stem)) return stem + "e";
        return stem;
    }

    static String step1c(String w) {
        if (w.endsWith("y") && hasVowel(cut(w, "y"))) return cut(w, "y") + "i";
        return w;
    }

    private static final String[][] STEP2 = {
            {"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"}, {"anci", "ance"}, {"izer", "ize"},
            {"bli", "ble"}, {"alli", "al"}, {"entli", "ent"}, {"eli", "e"}, {"ousli", "ous"},
            {"ization", "ize"}, {"ation", "ate"}, {"ator", "ate"}, {"alism", "al"}, {"iveness", "ive"},
            {"fulness", "ful"}, {"ousness", "ous"}, {"aliti", "al"}, {"iviti", "ive"}, {"biliti", "ble"}};

    static String step2(String w) {
        // LOGI -> LOG measures the stem with its l (geologi -> geolog); no other rule ends in -gi
        if (w.endsWith("logi")) return measure(cut(w, "ogi")) > 0 ? cut(w, "ogi") + "og" : w;
        return longestRule(w, STEP2, 0);
    }

    private static final String[][] STEP3 = {
            {"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"}, {"ical", "ic"}, {"ful", ""}, {"ness", ""}};

    static String step3(String w) {
        return longestRule(w, STEP3, 0);
    }

    private static final String[] STEP4 = {
            "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion",
            "ou", "ism", "ate", "iti", "ous", "ive", "ize"};

    static String step4(String w) {
        String best = null;
        for (String s : STEP4) if (w.endsWith(s) && (best == null || s.length() > best.length())) best = s;
        if (best == null) return w;
        String stem = cut(w, best);
        if (measure(stem) <= 1) return w;
        if (best.equals("ion")) {
            char c = stem.isEmpty() ? ' ' : stem.charAt(stem.length() - 1);
            if (c != 's' && c != 't') return w;
        }
        return stem;
    }

    static String step5a(String w) {
        if (!w.endsWith("e")) return w;
        String stem = cut(w, "e");
        int m = measure(stem);
        return m > 1 || (m == 1 && !cvc(stem)) ? stem : w;
    }

    static String step5b(String w) {
        if (measure(w) > 1 && doubleConsonant(w) && w.endsWith("l")) return w.substring(0, w.length() - 1);
        return w;
    }
}
