package dev.kiln.config;

import java.util.function.BiConsumer;

/** Collects cross-field errors for one section; messages are prefixed with the config file name. */
public final class Checks {
    private final String section;                 // JSON path of the section, "" at the top
    private final BiConsumer<String, String> sink; // (path, message)
    private final RunConfig config;

    Checks(String section, RunConfig config, BiConsumer<String, String> sink) {
        this.section = section;
        this.config = config;
        this.sink = sink;
    }

    /** The whole config being checked, for checks that look at other sections. */
    public RunConfig config() {
        return config;
    }

    /** The full JSON path of a key of this section, quoted as in error messages. */
    public String at(String key) {
        return "\"" + path(key) + "\"";
    }

    /** Reports {@code "section.key" message}. */
    public void error(String key, String message) {
        sink.accept(path(key), at(key) + " " + message);
    }

    /** Reports a message written in full (use {@link #at} to name the keys involved). */
    public void error(String message) {
        sink.accept(section, message);
    }

    String path(String key) {
        return section.isEmpty() ? key : section + "." + key;
    }
}
