package dev.kiln.tasks.summarization;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import dev.kiln.generate.GenerationOptions;
import dev.kiln.models.encdec.EncoderDecoderModel;
import dev.kiln.metrics.Rouge;
import dev.kiln.text.SentenceSplitter;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The scoring half of scripts/bench-summarize-abstractive: a trained {@code summarize-bert2bert} run on the held-out
 * test split of the file it split (all of a file it did not): ROUGE of greedy decoding on every test article, of the
 * saved beam search on the first {@code beam_examples} (with greedy and lead-3 on the same ones, so the rows pair up),
 * lead-3 on all, decoding time, sample summaries, and the run's loss curve. Writes {@code out} (JSON); the script
 * turns it into the docs table.
 */
public final class Bert2BertBench {
    private Bert2BertBench() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 4 && args.length != 5) {
            throw new IllegalArgumentException("usage: Bert2BertBench RUN DATA BEAM_EXAMPLES OUT_JSON [DECODE_SETTING]"
                    + " (scripts/bench-summarize-abstractive)");
        }
        Map<String, String> a = new LinkedHashMap<>();
        a.put("run", args[0]);
        a.put("data", args[1]);
        a.put("beam_examples", args[2]);
        a.put("samples", "3");
        a.put("out", args[3]);
        // decoding settings chosen on dev articles (Bert2BertDecodeSweep) instead of the run's saved ones
        if (args.length == 5 && !args[4].isEmpty()) a.put("decode", args[4]);
        Path run = Paths.get(a.get("run"));
        JsonObject results = new JsonObject();
        a.forEach(results::addProperty);
        results.addProperty("torch_threads", System.getProperty("ai.djl.pytorch.num_threads", "default"));
        results.addProperty("load_average_start", SummarizeBench.loadAverage());
        try (Bert2BertSummarizer s = Bert2BertSummarizer.load(run, "cpu")) {
            boolean stem = s.meta().get("rouge_stemmer").getAsBoolean();
            SummaryDataSet ds = SummaryDataSet.fromJson(s.meta().getAsJsonObject("data"));
            String[] part = new String[1];
            List<ArticleSummary> rows = ds.evaluationExamples(Paths.get(a.get("data")), part);
            int nb = Math.min(rows.size(), Integer.parseInt(a.get("beam_examples")));
            results.addProperty("examples", part[0] + ": " + rows.size());
            List<String> refs = AbstractiveTask.references(rows);

            GenerationOptions beam = a.containsKey("decode")
                    ? Bert2BertDecodeSweep.setting(s.defaults().copy(), a.get("decode")) : s.defaults();
            GenerationOptions greedy = beam.copy();
            greedy.numBeams = 1;
            long t0 = System.nanoTime();
            AbstractiveTask.Generated g = Bert2BertTask.generate(s.model(), s.tokenizer(), rows, s.maxLength(), greedy, 16);
            double greedyS = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            AbstractiveTask.Generated b = Bert2BertTask.generate(s.model(), s.tokenizer(), rows.subList(0, nb), s.maxLength(), beam, 1);
            double beamS = (System.nanoTime() - t0) / 1e9;
            List<String> lead = new ArrayList<>();
            for (ArticleSummary r : rows) {
                List<String> sent = SentenceSplitter.sentences(r.article());
                lead.add(String.join("\n", sent.subList(0, Math.min(3, sent.size()))));
            }
            JsonObject all = new JsonObject();
            all.add("greedy", rouge(SummaryScores.score(g.lines(), refs, stem), g.meanTokens(), greedyS));
            // an article-independent model writes one text for all: the count of different summaries shows it
            all.getAsJsonObject("greedy").addProperty("distinct", new java.util.HashSet<>(g.texts()).size());
            all.add("lead3", rouge(SummaryScores.score(lead, refs, stem), Double.NaN, Double.NaN));
            results.add("all_test", all);
            JsonObject first = new JsonObject();
            first.add("beam", rouge(SummaryScores.score(b.lines(), refs.subList(0, nb), stem), b.meanTokens(), beamS));
            first.add("greedy", rouge(SummaryScores.score(g.lines().subList(0, nb), refs.subList(0, nb), stem), Double.NaN, Double.NaN));
            first.add("lead3", rouge(SummaryScores.score(lead.subList(0, nb), refs.subList(0, nb), stem), Double.NaN, Double.NaN));
            results.add("first_test", first);
            results.add("article_dependence", articleDependence(s, rows));
            results.addProperty("generation", "beam: " + beam.numBeams + " beams, no_repeat_ngram_size " + beam.noRepeatNgramSize
                    + ", length_penalty " + beam.lengthPenalty + ", " + beam.minNewTokens + "-" + beam.maxNewTokens
                    + " new tokens" + (beam.inputVocabularyOnly ? ", the article's tokens only (input_vocabulary_only)" : "")
                    + "; greedy: the same with 1 beam");
            JsonArray samples = new JsonArray();
            for (int i = 0; i < Math.min(nb, Integer.parseInt(a.get("samples"))); i++) {
                JsonObject x = new JsonObject();
                x.addProperty("id", rows.get(i).id());
                x.addProperty("beam", b.texts().get(i));
                x.addProperty("greedy", g.texts().get(i));
                x.addProperty("reference", refs.get(i));
                samples.add(x);
            }
            results.add("samples", samples);
        }
        results.add("loss_curve", lossCurve(runFolder(run)));
        results.addProperty("load_average_end", SummarizeBench.loadAverage());
        String json = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(results) + "\n";
        Path out = Paths.get(a.get("out"));
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        AtomicFiles.write(out, json.getBytes(StandardCharsets.UTF_8));
        System.out.print(json);
    }

    /**
     * Teacher-forced loss per summary token on the test pairs with each summary's own article, and with another
     * article (the next one in the list): a model that ignores its input scores both alike.
     */
    static JsonObject articleDependence(Bert2BertSummarizer s, List<ArticleSummary> rows) {
        EncoderDecoderModel model = s.model();
        int maxSummary = s.meta().get("max_summary_tokens").getAsInt();
        double[] sum = new double[2];
        long targets = 0;
        for (int i = 0; i < rows.size(); i += 16) {
            List<Bert2BertTask.Pair> own = new ArrayList<>();
            List<Bert2BertTask.Pair> other = new ArrayList<>();
            for (int j = i; j < Math.min(rows.size(), i + 16); j++) {
                long[] target = Bert2BertTask.target(model, s.tokenizer(), rows.get(j).summary(), maxSummary);
                own.add(new Bert2BertTask.Pair(Bert2BertTask.source(model, s.tokenizer(), rows.get(j).article(), s.maxLength()), target));
                String wrong = rows.get((j + 1) % rows.size()).article();
                other.add(new Bert2BertTask.Pair(Bert2BertTask.source(model, s.tokenizer(), wrong, s.maxLength()), target));
            }
            int k = 0;
            for (List<Bert2BertTask.Pair> pairs : List.of(own, other)) {
                Bert2BertTask.HostBatch b = Bert2BertTask.collate(pairs, model.config.padTokenId);
                try (ai.djl.ndarray.NDManager m = model.params.manager().newSubManager()) {
                    sum[k++] += Bert2BertTask.lossSum(model, b, m, false, 0f).getFloat();
                }
                if (k == 1) targets += b.targets();
            }
        }
        JsonObject o = new JsonObject();
        o.addProperty("own_article_loss", sum[0] / targets);
        o.addProperty("other_article_loss", sum[1] / targets);
        return o;
    }

    /** The run folder holding metrics.jsonl (the argument may be the run or its model folder). */
    private static Path runFolder(Path run) {
        return Files.isRegularFile(run.resolve("metrics.jsonl")) ? run : run.getParent();
    }

    static JsonObject rouge(Rouge.Aggregate agg, double genLen, double seconds) {
        JsonObject o = new JsonObject();
        agg.f1(100).forEach(o::addProperty);
        o.addProperty("examples", agg.count());
        if (!Double.isNaN(genLen)) o.addProperty("gen_len", genLen);
        if (!Double.isNaN(seconds)) o.addProperty("seconds", seconds);
        return o;
    }

    /** Training loss at each logged step and dev loss at each evaluation, from metrics.jsonl. */
    private static JsonArray lossCurve(Path runDir) throws IOException {
        JsonArray out = new JsonArray();
        Path f = runDir.resolve("metrics.jsonl");
        if (!Files.isRegularFile(f)) return out;
        for (String l : Files.readAllLines(f)) {
            JsonObject r = JsonParser.parseString(l).getAsJsonObject();
            JsonObject p = new JsonObject();
            if (!r.has("step")) continue;
            p.add("step", r.get("step"));
            if (r.has("loss")) p.add("loss", r.get("loss"));
            if (r.has("eval_loss")) p.add("eval_loss", r.get("eval_loss"));
            if (r.has("eval_rouge1")) p.add("eval_rouge1", r.get("eval_rouge1"));
            if (p.size() > 1) out.add(p);
        }
        return out;
    }
}
