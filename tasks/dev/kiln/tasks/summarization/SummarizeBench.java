package dev.kiln.tasks.summarization;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.kiln.config.RunConfig;
import dev.kiln.data.ArticleSummary;
import dev.kiln.generate.Decoder;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Gpt2Lm;
import dev.kiln.models.gpt2.Gpt2Init;
import dev.kiln.metrics.Rouge;
import dev.kiln.models.gpt2.Gpt2Config;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.text.SentenceSplitter;
import dev.kiln.train.Runs;
import dev.kiln.train.Tasks;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * scripts/bench-summarize: ROUGE of lead-3, extractive MiniLM and abstractive tiny GPT-2 on one test split
 * (the shipped configs' split of BBC News), and generation tokens/s with and without the KV cache,
 * alternated in one run. Writes runs/bench-summarize/results.json and the section of docs/benchmarks.md
 * between its markers. Arguments {@code key=value} override the (CPU-sized) defaults below.
 */
public final class SummarizeBench {
    private SummarizeBench() {}

    static final String START = "<!-- bench-summarize:start -->";
    static final String END = "<!-- bench-summarize:end -->";

    public static void main(String[] args) throws IOException {
        Map<String, String> a = new LinkedHashMap<>();
        a.put("ext_steps", "120");
        a.put("ext_lr", "1e-4"); // a short run: twice the config's peak rate
        a.put("ext_batch", "4");
        a.put("ext_max_length", "256");
        a.put("gpt_layers", "2");
        a.put("gpt_embd", "128");
        a.put("gpt_steps", "100");
        a.put("gpt_batch", "8");
        a.put("gpt_max_length", "256");
        a.put("gpt_max_summary_tokens", "64");
        a.put("gpt_max_new_tokens", "48");
        a.put("gpt_test_examples", "40");
        a.put("kv_rounds", "5");
        a.put("kv_new_tokens", "64");
        a.put("out", "runs/bench-summarize");
        a.put("docs", "docs/benchmarks.md");
        for (String s : args) {
            int eq = s.indexOf('=');
            if (eq < 0 || !a.containsKey(s.substring(0, eq))) throw new IllegalArgumentException("bench-summarize: unknown argument " + s + "; known: " + a.keySet());
            a.put(s.substring(0, eq), s.substring(eq + 1));
        }
        Path out = Paths.get(a.get("out")).toAbsolutePath();
        // fresh runs every time: a run folder with checkpoints would otherwise be resumed (or refused)
        for (String sub : new String[] {"extractive", "abstractive", "gpt2-init"}) dev.kiln.io.HfFolder.deleteTree(out.resolve(sub));
        Files.createDirectories(out);
        Tasks.all();
        long t0 = System.nanoTime();
        JsonObject results = new JsonObject();
        results.addProperty("date", LocalDate.now().toString());
        results.addProperty("cpus", Runtime.getRuntime().availableProcessors());
        results.addProperty("load_average_start", loadAverage());
        results.addProperty("torch_threads", System.getProperty("ai.djl.pytorch.num_threads", "default"));
        a.forEach(results::addProperty);

        // ---- data: the configs' split ----
        Path extCfgFile = Paths.get("configs/summarize-bert-extractive-minilm.json");
        Path gptCfgFile = Paths.get("configs/summarize-gpt2-tiny.json");
        RunConfig ext = RunConfig.load(extCfgFile, List.of(
                "training.max_steps=" + a.get("ext_steps"), "training.batch_size=" + a.get("ext_batch"), "optimizer.lr=" + a.get("ext_lr"),
                "data.max_length=" + a.get("ext_max_length"), "training.eval_every_steps=" + a.get("ext_steps"),
                "training.eval_each_epoch=false", "task.eval_max_examples=20", "logging.progress=lines",
                "output.dir=" + out.resolve("extractive")));
        SummaryDataSet.Parts parts = SummaryDataSet.of(ext).load(ext);
        List<ArticleSummary> test = parts.test();
        results.addProperty("train_examples", parts.train().size());
        results.addProperty("dev_examples", parts.dev().size());
        results.addProperty("test_examples", test.size());
        log("data: %d train, %d dev, %d test", parts.train().size(), parts.dev().size(), test.size());
        boolean stem = ext.taskOptions(ExtractiveOptions.class).rougeStemmer;
        int k = ext.taskOptions(ExtractiveOptions.class).topK;
        List<String> refs = GptSummarizationTask.references(test);

        // ---- lead-3 ----
        List<String> lead = new ArrayList<>();
        for (ArticleSummary x : test) {
            List<String> s = SentenceSplitter.sentences(x.article());
            lead.add(Extraction.lines(s, Extraction.lead(s.size(), k)));
        }
        results.add("lead3", rouge(SummaryScores.score(lead, refs, stem)));
        log("lead-%d: %s", k, results.get("lead3"));

        // ---- extractive MiniLM ----
        long te = System.nanoTime();
        Runs.Outcome eo = Runs.train(ext, System.err, false);
        double extTrainS = (System.nanoTime() - te) / 1e9;
        List<String> extPred = new ArrayList<>();
        List<String> articles = new ArrayList<>();
        for (ArticleSummary x : test) articles.add(x.article());
        long tp = System.nanoTime();
        try (ExtractiveSummarizer s = ExtractiveSummarizer.load(eo.runDir(), ext.model.device)) {
            for (ExtractiveSummarizer.Extract e : s.extractBatch(articles, k, 8)) extPred.add(Extraction.lines(e.sentences(), e.selected()));
        }
        JsonObject er = rouge(SummaryScores.score(extPred, refs, stem));
        er.addProperty("train_seconds", extTrainS);
        er.addProperty("test_seconds", (System.nanoTime() - tp) / 1e9);
        er.addProperty("steps", eo.result().steps);
        results.add("extractive", er);
        log("extractive: %s", er);

        // ---- abstractive tiny GPT-2 (random init: mechanics, not quality) ----
        Gpt2Config gc = new Gpt2Config();
        gc.nLayer = Integer.parseInt(a.get("gpt_layers"));
        gc.nEmbd = Integer.parseInt(a.get("gpt_embd"));
        gc.nHead = 4;
        gc.nPositions = 512;
        Path init = Gpt2Init.write(out.resolve("gpt2-init"), gc, 42);
        RunConfig gpt = RunConfig.load(gptCfgFile, List.of("model.name=" + init,
                "training.max_steps=" + a.get("gpt_steps"), "training.batch_size=" + a.get("gpt_batch"),
                "data.max_length=" + a.get("gpt_max_length"), "task.max_summary_tokens=" + a.get("gpt_max_summary_tokens"),
                "task.generation.max_new_tokens=" + a.get("gpt_max_new_tokens"), "task.eval_max_examples=4",
                "training.eval_every_steps=" + a.get("gpt_steps"), "training.eval_each_epoch=false",
                "logging.progress=lines", "output.dir=" + out.resolve("abstractive")));
        List<ArticleSummary> gptTest = SummaryDataSet.of(gpt).load(gpt).test();
        if (!ids(gptTest).equals(ids(test))) throw new IllegalStateException("the two configs split the data differently");
        long tg = System.nanoTime();
        Runs.Outcome go = Runs.train(gpt, System.err, false);
        double gptTrainS = (System.nanoTime() - tg) / 1e9;
        int n = Math.min(test.size(), Integer.parseInt(a.get("gpt_test_examples")));
        List<ArticleSummary> sub = test.subList(0, n);
        results.add("lead3_subset", rouge(SummaryScores.score(lead.subList(0, n), refs.subList(0, n), stem)));
        JsonObject gr;
        JsonObject kv = new JsonObject();
        try (Summarizer s = Summarizer.load(go.runDir(), gpt.model.device)) {
            long ts = System.nanoTime();
            GptSummarizationTask.Generated g = GptSummarizationTask.generate(s.generator(), s.prompt(), sub, s.maxLength(), s.defaults());
            gr = rouge(SummaryScores.score(g.lines(), refs.subList(0, n), stem));
            gr.addProperty("test_seconds", (System.nanoTime() - ts) / 1e9);
            gr.addProperty("gen_len", g.meanTokens());
            gr.addProperty("example", g.texts().get(0));
            kvCache(s, test.get(0).article(), Integer.parseInt(a.get("kv_rounds")), Integer.parseInt(a.get("kv_new_tokens")), kv);
        }
        gr.addProperty("train_seconds", gptTrainS);
        gr.addProperty("steps", go.result().steps);
        gr.addProperty("final_train_loss", go.result().finalLoss);
        gr.addProperty("parameters", com.google.gson.JsonParser.parseString(Files.readString(go.runDir().resolve("summary.json")))
                .getAsJsonObject().get("parameters").getAsLong());
        results.add("abstractive", gr);
        results.add("kv_cache", kv);
        log("abstractive: %s", gr);
        log("kv cache: %s", kv);
        results.addProperty("load_average_end", loadAverage());
        results.addProperty("total_seconds", (System.nanoTime() - t0) / 1e9);

        String json = new GsonBuilder().setPrettyPrinting().create().toJson(results) + "\n";
        AtomicFiles.write(out.resolve("results.json"), json.getBytes(StandardCharsets.UTF_8));
        writeSection(Paths.get(a.get("docs")), markdown(results));
        log("wrote %s and %s (%.0f s)", out.resolve("results.json"), a.get("docs"), (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Greedy decoding of a fixed number of tokens (no EOS), alternating the KV-cache path with the uncached
     * one that re-runs the whole sequence at every step, so both see the same machine load. Also checks
     * that both produce the same tokens.
     */
    static void kvCache(Summarizer s, String article, int rounds, int newTokens, JsonObject out) {
        Gpt2Model model = s.generator().model();
        int budget = GptSummarizationTask.articleBudget(s.prompt(), s.maxLength(), model.config.nPositions, newTokens);
        long[] prompt = s.prompt().prompt(s.generator().tokenizer().encode(article, false).ids(), budget);
        GenerationOptions o = new GenerationOptions();
        o.maxNewTokens = newTokens;
        o.eosTokenId = null;
        double[] cached = new double[rounds];
        double[] uncached = new double[rounds];
        boolean same = true;
        run(model, prompt, o, true);   // warm-up both paths
        run(model, prompt, o, false);
        for (int r = 0; r < rounds; r++) {
            long t = System.nanoTime();
            long[] a = run(model, prompt, o, true);
            cached[r] = newTokens / ((System.nanoTime() - t) / 1e9);
            t = System.nanoTime();
            long[] b = run(model, prompt, o, false);
            uncached[r] = newTokens / ((System.nanoTime() - t) / 1e9);
            same &= Arrays.equals(a, b);
        }
        out.addProperty("prompt_tokens", prompt.length);
        out.addProperty("new_tokens", newTokens);
        out.addProperty("rounds", rounds);
        out.addProperty("cached_tokens_per_s_median", median(cached));
        out.addProperty("uncached_tokens_per_s_median", median(uncached));
        out.addProperty("ratio", median(cached) / median(uncached));
        out.addProperty("same_tokens", same);
        out.addProperty("cached_all", Arrays.toString(round(cached)));
        out.addProperty("uncached_all", Arrays.toString(round(uncached)));
    }

    private static long[] run(Gpt2Model model, long[] prompt, GenerationOptions o, boolean cache) {
        try (Gpt2Lm lm = new Gpt2Lm(model, cache)) {
            return Decoder.sampleOrGreedy(lm, List.of(prompt), o).get(0);
        }
    }

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double[] round(double[] x) {
        double[] r = new double[x.length];
        for (int i = 0; i < x.length; i++) r[i] = Math.round(x[i] * 10) / 10.0;
        return r;
    }

    private static List<String> ids(List<ArticleSummary> xs) {
        List<String> out = new ArrayList<>();
        for (ArticleSummary x : xs) out.add(x.id());
        return out;
    }

    private static JsonObject rouge(Rouge.Aggregate agg) {
        JsonObject o = new JsonObject();
        agg.f1(100).forEach(o::addProperty);
        o.addProperty("examples", agg.count());
        return o;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Paths.get("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    private static void log(String fmt, Object... args) {
        System.err.println("bench-summarize: " + String.format(Locale.ROOT, fmt, args));
    }

    private static String f1(JsonObject o, String k) {
        return String.format(Locale.ROOT, "%.2f", o.get(k).getAsDouble());
    }

    private static String row(String name, JsonObject r) {
        return "| " + name + " | " + r.get("examples").getAsInt() + " | " + f1(r, "rouge1") + " | " + f1(r, "rouge2")
                + " | " + f1(r, "rougeL") + " | " + f1(r, "rougeLsum") + " |\n";
    }

    static String markdown(JsonObject r) {
        JsonObject ex = r.getAsJsonObject("extractive");
        JsonObject ab = r.getAsJsonObject("abstractive");
        JsonObject kv = r.getAsJsonObject("kv_cache");
        StringBuilder sb = new StringBuilder();
        sb.append(START).append('\n');
        sb.append("## Summarization (`scripts/bench-summarize`)\n\n");
        sb.append(String.format(Locale.ROOT, "Measured %s on %d CPUs (load average %s at the start, %s at the end: the machine was shared), "
                        + "PyTorch threads: %s, %.0f min in all. Data: BBC News Summary from `../shared` (extractive reference summaries), "
                        + "split as the shipped configs split it (seed 42): %d train / %d dev / %d test articles. "
                        + "ROUGE F1 ×100, rouge-score semantics with Porter stemming, mean over articles; every row is scored by the same `Rouge` "
                        + "against the same references.\n\n",
                r.get("date").getAsString(), r.get("cpus").getAsInt(), r.get("load_average_start").getAsString(),
                r.get("load_average_end").getAsString(), r.get("torch_threads").getAsString(), r.get("total_seconds").getAsDouble() / 60,
                r.get("train_examples").getAsInt(), r.get("dev_examples").getAsInt(), r.get("test_examples").getAsInt()));
        sb.append("| system | test articles | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum |\n|---|---|---|---|---|---|\n");
        sb.append(row("lead-3", r.getAsJsonObject("lead3")));
        sb.append(row(String.format(Locale.ROOT, "extractive all-MiniLM-L6-v2, top-3 + trigram blocking (%d steps × %s, lr %s, max_length %s)",
                ex.get("steps").getAsInt(), r.get("ext_batch").getAsString(), r.get("ext_lr").getAsString(),
                r.get("ext_max_length").getAsString()), ex));
        sb.append(row("lead-3, first " + ab.get("examples").getAsInt() + " test articles", r.getAsJsonObject("lead3_subset")));
        sb.append(row(String.format(Locale.ROOT, "abstractive GPT-2 %s×%s (%.1fM parameters) **random init** (%d steps × %s, beam 4, no-repeat 3, ≤ %s new tokens)",
                r.get("gpt_layers").getAsString(), r.get("gpt_embd").getAsString(), ab.get("parameters").getAsLong() / 1e6, ab.get("steps").getAsInt(),
                r.get("gpt_batch").getAsString(), r.get("gpt_max_new_tokens").getAsString()), ab));
        sb.append(String.format(Locale.ROOT, "%nTimes: extractive fine-tune %.0f s, its test pass %.0f s; abstractive training %.0f s "
                        + "(final train loss %.2f), beam-search generation %.0f s for %d articles (%.1f tokens each).%n%n",
                ex.get("train_seconds").getAsDouble(), ex.get("test_seconds").getAsDouble(), ab.get("train_seconds").getAsDouble(),
                ab.get("final_train_loss").getAsDouble(), ab.get("test_seconds").getAsDouble(), ab.get("examples").getAsInt(),
                ab.get("gen_len").getAsDouble()));
        sb.append("No pretrained GPT-2 weights are reachable here, so the abstractive row trains a tiny GPT-2 from random "
                + "initialisation for a few minutes: it shows the pipeline (prompt + summary loss, beam search, ROUGE) end to end, "
                + "not summarization quality; expect it far below lead-3 until it starts from a pretrained or Kiln-pretrained checkpoint "
                + "(its ROUGE-1 comes from frequent words; first test summary: \"" + abbreviate(ab.get("example").getAsString()) + "\"). "
                + "The extractive run is a short CPU fine-tune (a fraction of an epoch); the config's full run (2 epochs, max_length 512) "
                + "is `scripts/kiln train configs/summarize-bert-extractive-minilm.json`.\n\n");
        sb.append(String.format(Locale.ROOT, "Generation speed, the trained tiny GPT-2, greedy, %d new tokens after a %d-token prompt, "
                        + "the two paths alternated %d times (medians):%n%n", kv.get("new_tokens").getAsInt(),
                kv.get("prompt_tokens").getAsInt(), kv.get("rounds").getAsInt()));
        sb.append("| decoding | tokens/s |\n|---|---|\n");
        sb.append(String.format(Locale.ROOT, "| KV cache (one new token per step) | %.1f |%n", kv.get("cached_tokens_per_s_median").getAsDouble()));
        sb.append(String.format(Locale.ROOT, "| no cache (whole sequence every step) | %.1f |%n", kv.get("uncached_tokens_per_s_median").getAsDouble()));
        sb.append(String.format(Locale.ROOT, "| ratio | %.1f× |%n%n", kv.get("ratio").getAsDouble()));
        sb.append("Both paths produced ").append(kv.get("same_tokens").getAsBoolean() ? "the same tokens" : "DIFFERENT tokens")
                .append(". Per round: cached ").append(kv.get("cached_all").getAsString()).append(", uncached ")
                .append(kv.get("uncached_all").getAsString()).append(".\n");
        sb.append(END).append('\n');
        return sb.toString();
    }

    private static String abbreviate(String s) {
        String t = s.replace("\n", " ").replace("|", "/").strip();
        return t.length() > 80 ? t.substring(0, 80) + "…" : t;
    }

    /** Replaces the section between the markers, leaving the rest of the file alone (creates it if missing). */
    static void writeSection(Path file, String section) throws IOException {
        String doc = Files.isRegularFile(file) ? Files.readString(file) : "# Benchmarks\n\nMeasured numbers; each section is written by the script it names.\n\n";
        int s = doc.indexOf(START);
        int e = doc.indexOf(END);
        String updated;
        if (s >= 0 && e > s) {
            int after = e + END.length();
            if (after < doc.length() && doc.charAt(after) == '\n') after++;
            updated = doc.substring(0, s) + section + doc.substring(after);
        } else {
            updated = doc + (doc.endsWith("\n\n") || doc.isEmpty() ? "" : doc.endsWith("\n") ? "\n" : "\n\n") + section;
        }
        if (file.getParent() != null) Files.createDirectories(file.getParent());
        AtomicFiles.write(file, updated.getBytes(StandardCharsets.UTF_8));
    }
}
