package dev.kiln.config;

import java.util.List;

/**
 * A config that cannot be run. The message is one line per problem, each starting with the config
 * file name and naming the JSON path, so the CLI can print it as is.
 */
public class ConfigException extends IllegalArgumentException {
    private final List<String> errors;

    public ConfigException(List<String> errors) {
        super(String.join("\n", errors));
        this.errors = List.copyOf(errors);
    }

    public ConfigException(String error) {
        this(List.of(error));
    }

    /** The problems, one line each (the message is these joined by newlines). */
    public List<String> errors() {
        return errors;
    }
}
