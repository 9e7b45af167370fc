package dev.kiln.util;

/** Version strings for manifests. */
public final class Versions {
    private Versions() {}

    public static String kiln() {
        String v = Versions.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }

    public static String djl() {
        String v = ai.djl.engine.Engine.class.getPackage().getImplementationVersion();
        return v == null ? "0.35.1" : v;
    }

    public static String pytorch() {
        try {
            return ai.djl.engine.Engine.getEngine("PyTorch").getVersion();
        } catch (RuntimeException e) {
            return "unknown";
        }
    }
}
