package dev.kiln.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.io.HfFolder;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * README.md model cards for a run's best/ and final/ folders, in HF's format: YAML front matter
 * (base_model, library_name, pipeline_tag, tags, metrics and a model-index with the run's eval values),
 * then the recipe and the numbers. A README.md that Kiln did not write is never replaced.
 */
public final class ModelCard {
    /** First line of every card Kiln writes; a README.md without it is someone else's and is left alone. */
    static final String MARKER = dev.kiln.io.HfFolder.CARD_MARKER;

    private ModelCard() {}

    /** Writes the cards of {@code runDir}/best (best eval) and {@code runDir}/final (last eval), where those exist. */
    public static void writeForRun(Path runDir, String resolvedConfig, Trainer.Result r) throws IOException {
        JsonObject cfg = JsonParser.parseString(resolvedConfig).getAsJsonObject();
        Path best = runDir.resolve("best");
        if (Files.isRegularFile(best.resolve(TaskFolder.META_FILE)) && r.bestEval != null) {
            write(best, cfg, r.bestEval, "best dev evaluation, step " + r.bestStep);
        }
        Path fin = runDir.resolve("final");
        if (Files.isRegularFile(fin.resolve(TaskFolder.META_FILE))) {
            write(fin, cfg, r.lastEval, "last evaluation of the run (" + r.steps + " steps)");
        }
    }

    static void write(Path dir, JsonObject cfg, Map<String, Double> metrics, String metricsFrom) throws IOException {
        Path readme = dir.resolve("README.md");
        if (Files.exists(readme) && !Files.readString(readme, StandardCharsets.UTF_8).startsWith(MARKER)) return;
        // a PEFT folder has no config.json: its kiln_task.json keeps the task's (peft.hf_config)
        JsonObject hf = dev.kiln.peft.PeftFolder.is(dir)
                ? TaskFolder.meta(dir).getAsJsonObject("peft").getAsJsonObject("hf_config") : HfFolder.readConfig(dir);
        String arch = hf.has("architectures") ? hf.getAsJsonArray("architectures").get(0).getAsString() : "?";
        String modelType = hf.has("model_type") ? hf.get("model_type").getAsString() : "?";
        String task = str(cfg, "task.type");
        String base = str(cfg, "model.name");
        if (base != null && base.contains("/")) base = fileName(base); // a local folder: its name, not the machine's path
        boolean classic = dev.kiln.models.classic.ClassicModels.isClassic(modelType);
        if (classic && dev.kiln.models.classic.ClassicModels.isClassic(base)) base = null; // built, not loaded: from scratch
        String pipeline = pipelineTag(arch);
        String name = dir.toAbsolutePath().getParent().getFileName() + "/" + dir.getFileName();
        StringBuilder y = new StringBuilder();
        y.append(MARKER).append("\n---\n");
        if (base != null) y.append("base_model: ").append(yaml(base)).append('\n');
        y.append("library_name: kiln\n");
        if (pipeline != null) y.append("pipeline_tag: ").append(pipeline).append('\n');
        y.append("tags:\n- kiln\n- ").append(yaml(task)).append("\n- ").append(yaml(modelType)).append('\n');
        Map<String, Double> m = metrics == null ? Map.of() : metrics;
        if (!m.isEmpty()) {
            y.append("metrics:\n");
            m.keySet().forEach(k -> y.append("- ").append(yaml(k)).append('\n'));
            y.append("model-index:\n- name: ").append(yaml(name)).append("\n  results:\n  - task:\n      type: ")
                    .append(yaml(pipeline != null ? pipeline : task)).append("\n    dataset:\n      type: ")
                    .append(yaml(fileName(str(cfg, "data.dev") != null ? str(cfg, "data.dev") : str(cfg, "data.train"))))
                    .append("\n      name: ").append(yaml(str(cfg, "data.dev") != null ? "dev file" : "held-out part of the training file"))
                    .append("\n    metrics:\n");
            m.forEach((k, v) -> y.append("    - type: ").append(yaml(k)).append("\n      value: ")
                    .append(String.format(Locale.ROOT, "%.6g", v)).append('\n'));
        }
        y.append("---\n\n# ").append(name).append("\n\n");
        y.append("A `").append(task).append("` model trained with Kiln (Java, DJL)")
                .append(base != null ? " from `" + base + "`" : " from scratch").append(".\n\n");
        y.append(classic ? classicNote(modelType) : headNote(arch, dir)).append("\n\n## Recipe\n\n| setting | value |\n|---|---|\n");
        for (String k : new String[] {"model.name", "task.type", "task.pooling", "data.train", "data.dev", "data.max_length",
                "training.epochs", "training.max_steps", "training.batch_size", "training.gradient_accumulation_steps",
                "training.freeze", "optimizer.type", "optimizer.lr", "optimizer.weight_decay", "schedule.type",
                "schedule.warmup_ratio", "schedule.warmup_steps", "precision.mode", "seed"}) {
            String v = str(cfg, k);
            if (v != null) y.append("| `").append(k).append("` | ").append(k.startsWith("data.") && !k.equals("data.max_length")
                    ? fileName(v) : v).append(" |\n");
        }
        y.append("\nThe run's full resolved config is `config.json` in the run directory.\n\n## Results\n\n");
        if (m.isEmpty()) {
            y.append("No evaluation was run.\n");
        } else {
            y.append("From the ").append(metricsFrom).append(":\n\n| metric | value |\n|---|---|\n");
            m.forEach((k, v) -> y.append("| ").append(k).append(" | ").append(String.format(Locale.ROOT, "%.4f", v)).append(" |\n"));
        }
        AtomicFiles.write(readme, y.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** HF pipeline of the class the folder names; base models are feature extractors only. */
    static String pipelineTag(String arch) {
        if (arch.endsWith("ForSequenceClassification")) return "text-classification";
        if (arch.endsWith("ForTokenClassification")) return "token-classification";
        if (arch.endsWith("ForQuestionAnswering")) return "question-answering";
        if (arch.equals("BertForMaskedLM") || arch.equals("BertForPreTraining")) return "fill-mask";
        if (arch.equals("GPT2LMHeadModel")) return "text-generation";
        if (arch.equals("BertModel") || arch.equals("GPT2Model")) return "feature-extraction";
        return null;
    }

    private static String classicNote(String modelType) {
        return "`" + modelType + "` is one of Kiln's classic models, not a HF transformers class: the folder keeps HF's "
                + "layout (config.json, model.safetensors with the task head in `" + TaskFolder.HEAD_FILE + "`, tokenizer "
                + "files) but opens in Kiln only (`kiln predict`, `kiln evaluate`); see Kiln's docs/classic.md.";
    }

    private static String headNote(String arch, Path dir) {
        if (Files.isRegularFile(dir.resolve(TaskFolder.HEAD_FILE))) {
            return "In HF transformers this folder loads as `" + arch + "` (the encoder, computing the same hidden states "
                    + "as Kiln). Kiln's task head computes something no HF head class does, so it is kept in `"
                    + TaskFolder.HEAD_FILE + "` (see `kiln_task.json` for how it is applied) and Kiln's predictors "
                    + "(`kiln predict`) use it; see Kiln's docs/export.md.";
        }
        return "In HF transformers this folder loads as `" + arch + "` and computes what it computed in Kiln.";
    }

    private static String str(JsonObject o, String path) {
        JsonElement e = o;
        for (String p : path.split("\\.")) {
            if (e == null || !e.isJsonObject() || !e.getAsJsonObject().has(p)) return null;
            e = e.getAsJsonObject().get(p);
        }
        return e == null || e.isJsonNull() ? null : e.isJsonPrimitive() ? e.getAsString() : e.toString();
    }

    private static String fileName(String path) {
        return path == null ? "?" : Path.of(path).getFileName().toString();
    }

    /** A YAML scalar: plain when safe, else double-quoted. */
    static String yaml(String s) {
        if (s == null) return "\"\"";
        if (s.matches("[A-Za-z0-9_][A-Za-z0-9_./-]*")) return s;
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
