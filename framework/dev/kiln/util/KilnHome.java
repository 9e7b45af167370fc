package dev.kiln.util;

import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Where Kiln keeps what it fetches: {@code $KILN_HOME} (or -Dkiln.home), default {@code ~/.kiln}.
 * Layout: {@code models/NAME/} (imported HF folders), {@code downloads/} (registry artifacts),
 * {@code assets/npm/NAME@VERSION/} (unpacked npm packages used as data or vocabularies).
 */
public final class KilnHome {
    private KilnHome() {}

    public static Path home() {
        String p = System.getProperty("kiln.home");
        if (p == null || p.isBlank()) p = System.getenv("KILN_HOME");
        if (p == null || p.isBlank()) return Paths.get(System.getProperty("user.home"), ".kiln");
        return Paths.get(p);
    }

    public static Path models() {
        return home().resolve("models");
    }

    public static Path downloads() {
        return home().resolve("downloads");
    }

    /** The unpacked npm package {@code name@version} (its {@code package/} folder), fetched by scripts/fetch-assets. */
    public static Path npmPackage(String name, String version) {
        return home().resolve("assets").resolve("npm").resolve(name + "@" + version).resolve("package");
    }
}
