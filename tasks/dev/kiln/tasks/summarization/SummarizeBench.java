package dev.kiln.tasks.summarization;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.config.RunConfig;
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
 * scripts/bench-summarize: on one test split (the shipped configs' split of BBC News) ROUGE of lead-3, the greedy
 * ROUGE oracle (the best 3 sentences a greedy search finds: an upper bound for top-3 extraction) and the extractive
 * recipe of configs/summarize-bert-extractive-minilm.json, run for a CPU budget ({@code ext_steps}, {@code
 * ext_max_length}; everything else from the config); with {@code gpt=true} also the abstractive tiny GPT-2 and
 * generation tokens/s with and without the KV cache, alternated in one run. Writes runs/bench-summarize/results.json
 * and its sections of docs/benchmarks.md (the GPT section only when it ran). Arguments {@code key=value}.
 */
public final class SummarizeBench {
    private SummarizeBench() {}

    static final String START = "<!-- bench-summarize:start -->";
    static final String END = "<!-- bench-summarize:end -->";
    static final String GPT_START = "<!-- bench-summarize-gpt:start -->";
    static final String GPT_END = "<!-- bench-summarize-gpt:end -->";

    public static void main(String[] args) throws IOException {
        Map<String, String> a = new LinkedHashMap<>();
        a.put("ext_steps", "100");
        a.put("ext_max_length", "256");
        a.put("ext_eval_examples", "40");
        a.put("samples", "3");
        a.put("gpt", "false");
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
        a.put("render_only", "false");
        for (String s : args) {
            int eq = s.indexOf('=');
            if (eq < 0 || !a.containsKey(s.substring(0, eq))) throw new IllegalArgumentException("bench-summarize: unknown argument " + s + "; known: " + a.keySet());
            a.put(s.substring(0, eq), s.substring(eq + 1));
        }
        boolean withGpt = Boolean.parseBoolean(a.get("gpt"));
        Path out = Paths.get(a.get("out")).toAbsolutePath();
        if (Boolean.parseBoolean(a.get("render_only"))) {
            // rewrite the docs sections from the last results.json (no training)
            JsonObject r = JsonParser.parseString(Files.readString(out.resolve("results.json"))).getAsJsonObject();
            writeSection(Paths.get(a.get("docs")), START, END, markdown(r));
            if (r.has("gpt") && r.get("gpt").isJsonObject()) writeSection(Paths.get(a.get("docs")), GPT_START, GPT_END, gptMarkdown(r));
            log("wrote %s from %s", a.get("docs"), out.resolve("results.json"));
            return;
        }
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
        List<String> extOverrides = List.of("training.max_steps=" + a.get("ext_steps"), "data.max_length=" + a.get("ext_max_length"),
                "task.eval_max_examples=" + a.get("ext_eval_examples"), "training.eval_on_start=true",
                "training.eval_every_steps=" + Math.max(1, Integer.parseInt(a.get("ext_steps")) / 2));
        results.addProperty("ext_overrides", String.join(" ", extOverrides));
        List<String> runOverrides = new ArrayList<>(extOverrides);
        runOverrides.addAll(List.of("logging.progress=lines", "output.dir=" + out.resolve("extractive")));
        RunConfig ext = RunConfig.load(extCfgFile, runOverrides);
        SummaryDataSet.Parts parts = SummaryDataSet.of(ext).load(ext);
        List<ArticleSummary> test = parts.test();
        results.addProperty("train_examples", parts.train().size());
        results.addProperty("dev_examples", parts.dev().size());
        results.addProperty("test_examples", test.size());
        log("data: %d train, %d dev, %d test", parts.train().size(), parts.dev().size(), test.size());
        ExtractiveOptions eopts = ext.taskOptions(ExtractiveOptions.class);
        boolean stem = eopts.rougeStemmer;
        int k = eopts.topK;
        List<String> refs = AbstractiveTask.references(test);

        // ---- lead-3 and the greedy oracle ----
        List<String> lead = new ArrayList<>();
        List<String> oracle = new ArrayList<>();
        Rouge rouge = new Rouge(stem);
        for (ArticleSummary x : test) {
            List<String> s = SentenceSplitter.sentences(x.article());
            lead.add(Extraction.lines(s, Extraction.lead(s.size(), k)));
            boolean[] o = Extraction.oracle(s, x.summary(), k, rouge);
            oracle.add(Extraction.lines(s, java.util.stream.IntStream.range(0, s.size()).filter(i -> o[i]).toArray()));
        }
        results.add("lead3", rouge(SummaryScores.score(lead, refs, stem)));
        results.add("oracle", rouge(SummaryScores.score(oracle, refs, stem)));
        log("lead-%d: %s", k, results.get("lead3"));
        log("oracle: %s", results.get("oracle"));

        // ---- extractive: the config's recipe ----
        long te = System.nanoTime();
        Runs.Outcome eo = Runs.train(ext, System.err, false);
        double extTrainS = (System.nanoTime() - te) / 1e9;
        List<String> extPred = new ArrayList<>();
        List<ExtractiveSummarizer.Extract> extracts;
        List<String> articles = new ArrayList<>();
        for (ArticleSummary x : test) articles.add(x.article());
        long tp = System.nanoTime();
        try (ExtractiveSummarizer s = ExtractiveSummarizer.load(eo.runDir(), ext.model.device)) {
            extracts = s.extractBatch(articles, k, 8);
        }
        for (ExtractiveSummarizer.Extract e : extracts) extPred.add(Extraction.lines(e.sentences(), e.selected()));
        JsonObject er = rouge(SummaryScores.score(extPred, refs, stem));
        er.addProperty("train_seconds", extTrainS);
        er.addProperty("test_seconds", (System.nanoTime() - tp) / 1e9);
        er.addProperty("steps", eo.result().steps);
        er.addProperty("batch_size", ext.training.batchSize);
        er.addProperty("lr", String.format(Locale.ROOT, "%.0e", ext.optimizer.lr));
        er.addProperty("sentence_vector", eopts.sentenceVector);
        er.addProperty("labels", eopts.labels);
        int[] starts = new int[4];
        for (ExtractiveSummarizer.Extract e : extracts) starts[Math.min(3, e.selected().length == 0 ? 3 : e.selected()[0])]++;
        er.addProperty("first_pick_0_1_2_later", Arrays.toString(starts));
        long lead3Same = 0;
        for (ExtractiveSummarizer.Extract e : extracts) if (Arrays.equals(e.selected(), Extraction.lead(e.sentences().size(), k))) lead3Same++;
        er.addProperty("same_as_lead3", lead3Same);
        er.add("loss_curve", lossCurve(eo.runDir()));
        results.add("extractive", er);
        JsonArray samples = new JsonArray();
        for (int i = 0; i < Math.min(test.size(), Integer.parseInt(a.get("samples"))); i++) {
            JsonObject sm = new JsonObject();
            sm.addProperty("id", test.get(i).id());
            sm.addProperty("selected", Arrays.toString(extracts.get(i).selected()));
            sm.addProperty("model", extracts.get(i).summary());
            sm.addProperty("lead3", lead.get(i).replace('\n', ' '));
            samples.add(sm);
        }
        results.add("samples", samples);
        log("extractive: %s", er);

        if (withGpt) results.add("gpt", gpt(a, gptCfgFile, out, test, lead, refs, stem));
        results.addProperty("load_average_end", loadAverage());
        results.addProperty("total_seconds", (System.nanoTime() - t0) / 1e9);

        String json = new GsonBuilder().setPrettyPrinting().create().toJson(results) + "\n";
        AtomicFiles.write(out.resolve("results.json"), json.getBytes(StandardCharsets.UTF_8));
        Path docs = Paths.get(a.get("docs"));
        writeSection(docs, START, END, markdown(results));
        if (withGpt) writeSection(docs, GPT_START, GPT_END, gptMarkdown(results));
        log("wrote %s and %s (%.0f s)", out.resolve("results.json"), a.get("docs"), (System.nanoTime() - t0) / 1e9);
    }

    /** The extractive run's training loss (per logging window) and dev evaluations, from its metrics.jsonl. */
    static JsonArray lossCurve(Path runDir) throws IOException {
        JsonArray out = new JsonArray();
        for (String l : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            JsonObject r = JsonParser.parseString(l).getAsJsonObject();
            JsonObject p = new JsonObject();
            p.addProperty("step", r.get("step").getAsLong());
            for (String key : new String[] {"loss", "eval_loss", "eval_prior_loss", "eval_rouge1", "eval_rougeL", "eval_lead3_rouge1", "eval_lead3_rougeL"}) {
                if (r.has(key)) p.addProperty(key, r.get(key).getAsDouble());
            }
            if (p.size() > 1) out.add(p);
        }
        return out;
    }

    /** The abstractive tiny GPT-2 (random init: mechanics, not quality) and the KV-cache speed. */
    private static JsonObject gpt(Map<String, String> a, Path gptCfgFile, Path out, List<ArticleSummary> test, List<String> lead,
                                  List<String> refs, boolean stem) throws IOException {
        JsonObject results = new JsonObject();
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
            AbstractiveTask.Generated g = GptSummarizationTask.generate(s.generator(), s.prompt(), sub, s.maxLength(), s.defaults());
            gr = rouge(SummaryScores.score(g.lines(), refs.subList(0, n), stem));
            gr.addProperty("test_seconds", (System.nanoTime() - ts) / 1e9);
            gr.addProperty("gen_len", g.meanTokens());
            gr.addProperty("example", g.texts().get(0));
            kvCache(s, test.get(0).article(), Integer.parseInt(a.get("kv_rounds")), Integer.parseInt(a.get("kv_new_tokens")), kv);
        }
        gr.addProperty("train_seconds", gptTrainS);
        gr.addProperty("steps", go.result().steps);
        gr.addProperty("final_train_loss", go.result().finalLoss);
        gr.addProperty("parameters", JsonParser.parseString(Files.readString(go.runDir().resolve("summary.json")))
                .getAsJsonObject().get("parameters").getAsLong());
        results.add("abstractive", gr);
        results.add("kv_cache", kv);
        log("abstractive: %s", gr);
        log("kv cache: %s", kv);
        return results;
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
        StringBuilder sb = new StringBuilder();
        sb.append(START).append('\n');
        sb.append("## Summarization (`scripts/bench-summarize`)\n\n");
        sb.append(String.format(Locale.ROOT, "Measured %s on %d CPUs (load average %s at the start, %s at the end: the machine was shared "
                        + "with other jobs, so times are slow and noisy), PyTorch threads: %s, %.0f min in all. Data: BBC News Summary from "
                        + "`../shared` (extractive reference summaries), split as the shipped configs split it (seed 42): %d train / %d dev / "
                        + "%d test articles. ROUGE F1 ×100, rouge-score semantics with Porter stemming, mean over articles; every row is scored "
                        + "by the same `Rouge` against the same references.\n\n",
                r.get("date").getAsString(), r.get("cpus").getAsInt(), r.get("load_average_start").getAsString(),
                r.get("load_average_end").getAsString(), r.get("torch_threads").getAsString(), r.get("total_seconds").getAsDouble() / 60,
                r.get("train_examples").getAsInt(), r.get("dev_examples").getAsInt(), r.get("test_examples").getAsInt()));
        sb.append("```\nscripts/bench-summarize");
        for (String key : new String[] {"ext_steps", "ext_max_length", "ext_eval_examples", "gpt"}) sb.append(' ').append(key).append('=').append(r.get(key).getAsString());
        sb.append("\n```\n\n");
        sb.append("| system | test articles | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum |\n|---|---|---|---|---|---|\n");
        sb.append(row("lead-3", r.getAsJsonObject("lead3")));
        sb.append(row(String.format(Locale.ROOT, "extractive all-MiniLM-L6-v2, top-3 + trigram blocking (%d steps × %d, lr %s, max_length %s, %s vectors, %s labels)",
                ex.get("steps").getAsInt(), ex.get("batch_size").getAsInt(), lr(ex.get("lr").getAsString()), r.get("ext_max_length").getAsString(),
                ex.get("sentence_vector").getAsString(), ex.get("labels").getAsString()), ex));
        sb.append(row("greedy ROUGE oracle, 3 sentences (upper bound for top-3 extraction)", r.getAsJsonObject("oracle")));
        sb.append(String.format(Locale.ROOT, "%nThe extractive row is `configs/summarize-bert-extractive-minilm.json` with `%s` (a CPU budget: "
                        + "the config itself runs 2 epochs at max_length 512). Fine-tune %.0f s, test pass %.0f s. Its first chosen sentence "
                        + "is sentence 0/1/2/later in %s of the test articles; it picked exactly lead-3 in %d.%n%n",
                r.get("ext_overrides").getAsString(), ex.get("train_seconds").getAsDouble(), ex.get("test_seconds").getAsDouble(),
                ex.get("first_pick_0_1_2_later").getAsString(), ex.get("same_as_lead3").getAsInt()));
        sb.append("Loss curve (BCE per sentence; `prior` is the loss of a constant score at the training positive rate, "
                + "i.e. what a scorer that learnt nothing gets; dev ROUGE on the first " + r.get("ext_eval_examples").getAsString() + " dev articles):\n\n");
        sb.append("| step | train loss | dev loss | dev prior | dev ROUGE-1 (lead-3) | dev ROUGE-L (lead-3) |\n|---|---|---|---|---|---|\n");
        Map<Long, JsonObject> byStep = new java.util.TreeMap<>();
        for (var e : ex.getAsJsonArray("loss_curve")) {
            JsonObject p = e.getAsJsonObject();
            JsonObject merged = byStep.computeIfAbsent(p.get("step").getAsLong(), x -> new JsonObject());
            p.entrySet().forEach(kv -> merged.add(kv.getKey(), kv.getValue()));
        }
        for (JsonObject p : byStep.values()) {
            sb.append("| ").append(p.get("step").getAsLong()).append(" | ").append(num(p, "loss", 1, 3)).append(" | ")
                    .append(num(p, "eval_loss", 1, 3)).append(" | ").append(num(p, "eval_prior_loss", 1, 3)).append(" | ")
                    .append(num(p, "eval_rouge1", 100, 1)).append(p.has("eval_lead3_rouge1") ? " (" + num(p, "eval_lead3_rouge1", 100, 1) + ")" : "")
                    .append(" | ").append(num(p, "eval_rougeL", 100, 1)).append(p.has("eval_lead3_rougeL") ? " (" + num(p, "eval_lead3_rougeL", 100, 1) + ")" : "")
                    .append(" |\n");
        }
        sb.append("\nSample test summaries, model vs lead-3 (each sentence cut to 90 characters, \" / \" between sentences):\n\n");
        for (var e : r.getAsJsonArray("samples")) {
            JsonObject sm = e.getAsJsonObject();
            sb.append("- `").append(sm.get("id").getAsString()).append("` sentences ").append(sm.get("selected").getAsString())
                    .append(": \"").append(sentences(sm.get("model").getAsString())).append("\"; lead-3: \"")
                    .append(sentences(sm.get("lead3").getAsString())).append("\"\n");
        }
        sb.append(END).append('\n');
        return sb.toString();
    }

    private static String sentences(String text) {
        List<String> out = new ArrayList<>();
        for (String x : SentenceSplitter.sentences(text)) out.add(abbreviate(x, 90));
        return String.join(" / ", out);
    }

    /** "1.0E-4" (results written before the rate was formatted) or "1e-04" as "1e-4". */
    private static String lr(String s) {
        return String.format(Locale.ROOT, "%.0e", Double.parseDouble(s)).replaceAll("e([-+])0*(\\d)", "e$1$2").replace("e+", "e");
    }

    private static String num(JsonObject o, String key, double scale, int digits) {
        return o.has(key) ? String.format(Locale.ROOT, "%." + digits + "f", o.get(key).getAsDouble() * scale) : "";
    }

    static String gptMarkdown(JsonObject results) {
        JsonObject r = results.getAsJsonObject("gpt");
        JsonObject ab = r.getAsJsonObject("abstractive");
        JsonObject kv = r.getAsJsonObject("kv_cache");
        StringBuilder sb = new StringBuilder();
        sb.append(GPT_START).append('\n');
        sb.append(String.format(Locale.ROOT, "### Abstractive tiny GPT-2 (`scripts/bench-summarize gpt=true`, measured %s)%n%n", results.get("date").getAsString()));
        sb.append("| system | test articles | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum |\n|---|---|---|---|---|---|\n");
        sb.append(row("lead-3, first " + ab.get("examples").getAsInt() + " test articles", r.getAsJsonObject("lead3_subset")));
        sb.append(row(String.format(Locale.ROOT, "abstractive GPT-2 %s×%s (%.1fM parameters) **random init** (%d steps × %s, beam 4, no-repeat 3, ≤ %s new tokens)",
                results.get("gpt_layers").getAsString(), results.get("gpt_embd").getAsString(), ab.get("parameters").getAsLong() / 1e6, ab.get("steps").getAsInt(),
                results.get("gpt_batch").getAsString(), results.get("gpt_max_new_tokens").getAsString()), ab));
        sb.append(String.format(Locale.ROOT, "%nTimes: abstractive training %.0f s (final train loss %.2f), beam-search generation %.0f s for %d articles "
                        + "(%.1f tokens each).%n%n",
                ab.get("train_seconds").getAsDouble(), ab.get("final_train_loss").getAsDouble(), ab.get("test_seconds").getAsDouble(),
                ab.get("examples").getAsInt(), ab.get("gen_len").getAsDouble()));
        sb.append("No pretrained GPT-2 weights are reachable here, so the abstractive row trains a tiny GPT-2 from random "
                + "initialisation for a few minutes: it shows the pipeline (prompt + summary loss, beam search, ROUGE) end to end, "
                + "not summarization quality; expect it far below lead-3 until it starts from a pretrained or Kiln-pretrained checkpoint "
                + "(its ROUGE-1 comes from frequent words; first test summary: \"" + abbreviate(ab.get("example").getAsString(), 80) + "\").\n\n");
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
        sb.append(GPT_END).append('\n');
        return sb.toString();
    }

    private static String abbreviate(String s, int max) {
        String t = s.replace("\n", " ").replace("|", "/").replace("\"", "'").strip();
        return t.length() > max ? t.substring(0, max) + "…" : t;
    }

    /** Replaces the section between the markers, leaving the rest of the file alone (creates it if missing). */
    static void writeSection(Path file, String start, String end, String section) throws IOException {
        String doc = Files.isRegularFile(file) ? Files.readString(file) : "# Benchmarks\n\nMeasured numbers; each section is written by the script it names.\n\n";
        int s = doc.indexOf(start);
        int e = doc.indexOf(end);
        String updated;
        if (s >= 0 && e > s) {
            int after = e + end.length();
            if (after < doc.length() && doc.charAt(after) == '\n') after++;
            updated = doc.substring(0, s) + section + doc.substring(after);
        } else {
            updated = doc + (doc.endsWith("\n\n") || doc.isEmpty() ? "" : doc.endsWith("\n") ? "\n" : "\n\n") + section;
        }
        if (file.getParent() != null) Files.createDirectories(file.getParent());
        AtomicFiles.write(file, updated.getBytes(StandardCharsets.UTF_8));
    }
}
