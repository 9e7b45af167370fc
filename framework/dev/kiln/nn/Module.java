package dev.kiln.nn;

import ai.djl.ndarray.NDArray;

/**
 * A piece of a network whose parameters are registered under {@code prefix + localName}, so the
 * full name is the HF checkpoint key. Modules keep names, not arrays: the store may swap an array
 * (e.g. for its fp16 copy) without the module noticing.
 */
public abstract class Module {
    protected final Parameters params;
    protected final String prefix;

    protected Module(Parameters params, String prefix) {
        this.params = params;
        this.prefix = prefix.isEmpty() || prefix.endsWith(".") ? prefix : prefix + ".";
    }

    protected String param(String localName, Parameters.Init init, long... shape) {
        String name = prefix + localName;
        params.create(name, init, shape);
        return name;
    }

    protected NDArray p(String name) {
        return params.get(name);
    }
}
