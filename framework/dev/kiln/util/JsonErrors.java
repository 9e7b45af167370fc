package dev.kiln.util;

/** Gson's parse errors as one line: its messages carry the exception class, strictness advice and a URL on a second line. */
public final class JsonErrors {
    private JsonErrors() {}

    /** "malformed JSON at line 1 column 9 path $" for Gson's MalformedJsonException, the first line of others. */
    public static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        if (nl >= 0) m = m.substring(0, nl);
        m = m.replaceFirst("^[a-z.]+\\.(MalformedJson|Json[A-Za-z]*)Exception: ", "");
        m = m.replace("Use JsonReader.setStrictness(Strictness.LENIENT) to accept malformed JSON", "malformed JSON");
        return m.strip();
    }
}
