package dev.kiln.config;

/**
 * Implemented by config sections and task option classes whose fields constrain each other.
 * Called after every field passed its own type and range checks, with the section's defaults
 * already filled in.
 */
public interface Validated {
    void validate(Checks checks);
}
