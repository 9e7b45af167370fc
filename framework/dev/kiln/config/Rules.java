package dev.kiln.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Constraints on config fields. The validator reads them reflectively, so a new section or task
 * option class declares its rules here and needs no validation code of its own.
 */
public final class Rules {
    private Rules() {}

    /** The key must be present and not null. The text, if any, is shown as a hint after the error. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Required {
        String value() default "";

        /** A sibling key that, when given (not null), makes this one optional (e.g. model.name unless model.config). */
        String unless() default "";
    }

    /** Numeric bounds; on arrays and lists they apply to each element. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Range {
        double min() default Double.NEGATIVE_INFINITY;
        double max() default Double.POSITIVE_INFINITY;
        boolean minExclusive() default false;
        boolean maxExclusive() default false;
    }

    /**
     * A string that must match {@code regex}; {@code allowed} is how the choices are shown to
     * users (placeholders such as "gpu:N" allowed), {@code hint} explains the placeholders.
     */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Matches {
        String regex();
        String[] allowed();
        String hint() default "";
    }

    /** Exact number of elements of an array or list. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Size {
        int value();
    }

    /**
     * A {@code Path} that the run writes: resolved against the working directory (where
     * {@code kiln train} runs), not the config folder, and it need not exist. Other Path fields
     * are inputs: resolved against the config file's folder and they must exist.
     */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface OutputPath {}

    /**
     * A String that is either a registered name or a path: a value with a slash or starting with
     * '.' or '~', or one naming an existing file relative to the config folder, is a path (made
     * absolute and required to exist); anything else is kept as a name.
     */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface NameOrPath {}

    /**
     * A string that must be one of the names a {@link NameRegistry} of this kind publishes (optimizer.type: the
     * optimizers registered in the trainer), so the choices live with what they build.
     */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface Registered {
        String value();
    }
}
