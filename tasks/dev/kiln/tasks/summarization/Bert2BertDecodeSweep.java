package dev.kiln.tasks.summarization;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.data.Splits;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * Decoding settings chosen on the dev split, never on test (scripts/bench-summarize-abstractive --decode-sweep):
 * each setting decodes the first N dev articles of a trained bert2bert run and is scored with ROUGE. Settings are
 * {@code beams=B,min=M,max=X,lp=P,ngram=K,vocab=input|all}; missing keys keep the run's saved generation options.
 */
public final class Bert2BertDecodeSweep {
    private Bert2BertDecodeSweep() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 5) {
            throw new IllegalArgumentException("usage: Bert2BertDecodeSweep RUN DATA DEV_EXAMPLES OUT_JSON SETTING...");
        }
        Path run = Paths.get(args[0]);
        int n = Integer.parseInt(args[2]);
        JsonArray results = new JsonArray();
        try (Bert2BertSummarizer s = Bert2BertSummarizer.load(run, "cpu")) {
            boolean stem = s.meta().get("rouge_stemmer").getAsBoolean();
            SummaryDataSet ds = SummaryDataSet.fromJson(s.meta().getAsJsonObject("data"));
            List<ArticleSummary> dev = Splits.byExample(ds.read(Paths.get(args[1])), ds.devFraction(), ds.testFraction(), ds.seed()).dev();
            dev = dev.subList(0, Math.min(n, dev.size()));
            List<String> refs = AbstractiveTask.references(dev);
            for (int i = 4; i < args.length; i++) {
                GenerationOptions o = setting(s.defaults().copy(), args[i]);
                long t0 = System.nanoTime();
                AbstractiveTask.Generated g = Bert2BertTask.generate(s.model(), s.tokenizer(), dev, s.maxLength(), o,
                        o.numBeams == 1 ? 16 : 1);
                JsonObject r = Bert2BertBench.rouge(SummaryScores.score(g.lines(), refs, stem), g.meanTokens(),
                        (System.nanoTime() - t0) / 1e9);
                r.addProperty("setting", args[i]);
                r.addProperty("dev_examples", dev.size());
                System.err.println("decode-sweep: " + r);
                results.add(r);
            }
        }
        String json = new GsonBuilder().setPrettyPrinting().create().toJson(results) + "\n";
        Path out = Paths.get(args[3]);
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        AtomicFiles.write(out, json.getBytes(StandardCharsets.UTF_8));
        System.out.print(json);
    }

    static GenerationOptions setting(GenerationOptions o, String spec) {
        for (String kv : spec.split(",")) {
            String[] p = kv.split("=", 2);
            if (p.length != 2) throw new IllegalArgumentException("decode setting \"" + kv + "\": use key=value, e.g. beams=4");
            switch (p[0]) {
                case "beams" -> o.numBeams = Integer.parseInt(p[1]);
                case "min" -> o.minNewTokens = Integer.parseInt(p[1]);
                case "max" -> o.maxNewTokens = Integer.parseInt(p[1]);
                case "lp" -> o.lengthPenalty = Float.parseFloat(p[1]);
                case "ngram" -> o.noRepeatNgramSize = Integer.parseInt(p[1]);
                case "vocab" -> {
                    if (!p[1].equals("input") && !p[1].equals("all")) {
                        throw new IllegalArgumentException("decode setting vocab=" + p[1] + ": use vocab=input (the article's tokens only) or vocab=all");
                    }
                    o.inputVocabularyOnly = p[1].equals("input");
                }
                default -> throw new IllegalArgumentException("decode setting key \"" + p[0] + "\": use beams, min, max, lp, ngram or vocab");
            }
        }
        o.validate();
        return o;
    }
}
