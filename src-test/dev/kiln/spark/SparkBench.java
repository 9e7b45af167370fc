package dev.kiln.spark;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.Kiln;
import dev.kiln.tasks.pretraining.Shards;
import dev.kiln.tasks.pretraining.TokenStore;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * scripts/bench-spark's measurements, one JVM, both sides alternated in each round: sentence embeddings of SST-2
 * sentences with all-MiniLM-L6-v2 (the facade's encoder vs the Spark encode job in local mode, the model loaded on
 * both sides in every round), and the preparation of WikiText-2 (valid + test) for pretrain-bert (one tokenisation
 * of all files, as the trainer does it, vs the Spark prepare job). Prints JSON.
 *
 * <p>args: SST2_TRAIN WIKI_DIR WORK_DIR ROWS ROUNDS MASTER
 */
public final class SparkBench {
    public static void main(String[] args) throws Exception {
        Path sst2 = Path.of(args[0]), wiki = Path.of(args[1]), work = Path.of(args[2]);
        int rows = Integer.parseInt(args[3]), rounds = Integer.parseInt(args[4]);
        String master = args[5];
        Files.createDirectories(work);
        List<String> texts = new ArrayList<>();
        List<String> csv = new ArrayList<>(List.of("id\ttext"));
        for (String l : Files.readAllLines(sst2)) {
            if (texts.size() == rows) break;
            String t = l.substring(2).replace('\t', ' ');
            csv.add(texts.size() + "\t" + t);
            texts.add(t);
        }
        Path in = Files.write(work.resolve("sst2.tsv"), csv);
        String model = Kiln.model("all-MiniLM-L6-v2").toString();
        JsonObject out = new JsonObject();
        out.addProperty("cores", Runtime.getRuntime().availableProcessors());
        out.addProperty("load_average_start", Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        out.addProperty("rows", texts.size());
        out.addProperty("master", master);
        JsonArray single = new JsonArray(), spark = new JsonArray(), prepSingle = new JsonArray(), prepSpark = new JsonArray();
        long bytes = 0, tokens = 0;
        List<Path> wikiFiles = List.of(wiki.resolve("wiki.valid.raw"), wiki.resolve("wiki.test.raw"));
        for (Path f : wikiFiles) bytes += Files.size(f);
        Shards.Reading reading = new Shards.Reading("marker", "^ = [^=]", "utf-8");
        Path corpus = Files.createDirectories(work.resolve("wiki"));
        for (Path f : wikiFiles) Files.copy(f, corpus.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try (SparkSession s = SparkJobs.localSession(master)) {
            for (int r = 0; r < rounds; r++) {
                for (int side = 0; side < 2; side++) {
                    boolean sparkFirst = r % 2 == 1;
                    boolean useSpark = (side == 0) == sparkFirst;
                    long t0 = System.nanoTime();
                    if (useSpark) {
                        ExecutorModels.closeAll(); // every round loads the model, as the other side does
                        SparkInference.encode(s, new SparkInference.Job(in.toString(), "tsv", work.resolve("enc-" + r).toString(), "parquet",
                                model, "cpu", List.of(), 2), "text", false, false, 32);
                        spark.add((System.nanoTime() - t0) / 1e9);
                    } else {
                        try (Kiln.Encoder e = Kiln.encoder(model, "cpu")) {
                            e.encode(texts);
                        }
                        single.add((System.nanoTime() - t0) / 1e9);
                    }
                }
                for (int side = 0; side < 2; side++) {
                    boolean useSpark = (side == 0) == (r % 2 == 1);
                    Path dst = work.resolve((useSpark ? "prep-spark-" : "prep-single-") + r);
                    long t0 = System.nanoTime();
                    if (useSpark) {
                        // one file per shard: the two files are tokenised side by side
                        tokens = SparkPrepare.prepare(s, corpus, null, dst, "pretrain-bert", model, reading, 1).tokens();
                        prepSpark.add((System.nanoTime() - t0) / 1e9);
                    } else {
                        String hash = Shards.start(dst, model);
                        Shards.write(dst, 0, "bert", List.of(corpus.resolve("wiki.valid.raw"), corpus.resolve("wiki.test.raw")), reading);
                        TokenStore st = Shards.finish(dst, "bert", 1, reading, hash);
                        if (tokens != 0 && tokens != st.tokens()) throw new IllegalStateException("token counts differ: " + tokens + " vs " + st.tokens());
                        prepSingle.add((System.nanoTime() - t0) / 1e9);
                    }
                }
            }
        }
        out.add("encode_single_seconds", single);
        out.add("encode_spark_seconds", spark);
        out.add("prepare_single_seconds", prepSingle);
        out.add("prepare_spark_seconds", prepSpark);
        out.addProperty("prepare_bytes", bytes);
        out.addProperty("prepare_tokens", tokens);
        out.addProperty("load_average_end", Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        System.out.println(new GsonBuilder().setPrettyPrinting().create().toJson(out));
    }
}
