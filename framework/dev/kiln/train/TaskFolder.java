package dev.kiln.train;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.io.HfFolder;
import dev.kiln.io.HostTensor;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;

/**
 * A fine-tuned model folder: a HF model folder plus {@code kiln_task.json} (task type and what the
 * predictor needs: labels, pooling, max length ...). Run directories resolve to their best/ or final/.
 */
public final class TaskFolder {
    public static final String META_FILE = "kiln_task.json";

    private TaskFolder() {}

    public static void save(Path dir, String taskType, JsonObject hfConfig, LinkedHashMap<String, HostTensor> tensors,
                            Path tokenizerFrom, JsonObject meta) throws IOException {
        JsonObject m = meta.deepCopy();
        m.addProperty("task", taskType);
        m.addProperty("kiln_version", dev.kiln.util.Versions.kiln());
        HfFolder.writeFolder(dir, hfConfig, tensors, tokenizerFrom);
        AtomicFiles.write(dir.resolve(META_FILE),
                (new GsonBuilder().setPrettyPrinting().create().toJson(m) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The model folder for a run or model directory: the folder itself when it has kiln_task.json,
     * else its best/ (best dev metric), else final/.
     */
    public static Path resolve(Path runOrModel) throws IOException {
        if (Files.isRegularFile(runOrModel.resolve(META_FILE))) return runOrModel;
        for (String sub : new String[] {"best", "final"}) {
            Path p = runOrModel.resolve(sub);
            if (Files.isRegularFile(p.resolve(META_FILE))) return p;
        }
        throw new IOException(runOrModel + ": not a Kiln model or run folder (no " + META_FILE
                + " in it, nor in best/ or final/)");
    }

    public static JsonObject meta(Path modelDir) throws IOException {
        return JsonParser.parseString(Files.readString(modelDir.resolve(META_FILE))).getAsJsonObject();
    }

    /**
     * Loads head parameters (those under {@code prefix}) from the folder's checkpoint; every head
     * parameter must be there, or the folder is not the model it claims to be.
     */
    public static void loadHead(dev.kiln.nn.Parameters params, Path dir, String prefix) throws IOException {
        var tensors = dev.kiln.io.SafeTensors.readCheckpoint(dir);
        var report = params.load(tensors, k -> k.startsWith(prefix) ? k : null);
        for (String missing : report.missing) {
            if (missing.startsWith(prefix)) {
                throw new IOException(dir + ": head parameter " + missing + " is not in the checkpoint");
            }
        }
    }

    /** Checks the folder holds a model of {@code taskType}; the error names both. */
    public static JsonObject requireTask(Path modelDir, String taskType) throws IOException {
        JsonObject m = meta(modelDir);
        String t = m.has("task") ? m.get("task").getAsString() : "?";
        if (!t.equals(taskType)) {
            throw new IOException(modelDir + ": holds a '" + t + "' model, not '" + taskType + "'");
        }
        return m;
    }
}
