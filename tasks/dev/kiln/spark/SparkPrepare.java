package dev.kiln.spark;

import dev.kiln.tasks.pretraining.Shards;
import dev.kiln.tasks.pretraining.TokenStore;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Pretraining corpus preparation as a Spark job: the input files, in the trainer's order, cut into runs of
 * consecutive files; each run tokenised by one task into a shard ({@link Shards}); the folder then reads as the
 * store the trainer would have built from the same files. Input and output are paths every executor sees the same
 * (a shared file system): the shards are memory-mapped by the trainer, so they are plain files, not HDFS blocks.
 */
public final class SparkPrepare {
    private SparkPrepare() {}

    /** What a preparation did. */
    public record Summary(int files, long bytes, int shards, long tokens, long documents, double seconds) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d files, %.1f MB -> %d shards, %,d tokens, %,d documents in %.1f s (%.2f MB/s, %,.0f tokens/s)",
                    files, bytes / 1e6, shards, tokens, documents, seconds, bytes / 1e6 / Math.max(1e-9, seconds), tokens / Math.max(1e-9, seconds));
        }
    }

    /**
     * Tokenises {@code input} (a file or a folder, {@code include} as data.include) for {@code task} (pretrain-gpt or
     * pretrain-bert) with {@code tokenizer} (as model.tokenizer) into {@code output}, about {@code shardBytes} of text
     * per shard.
     */
    public static Summary prepare(SparkSession spark, Path input, String include, Path output, String task, String tokenizer,
                                  Shards.Reading reading, long shardBytes) throws IOException {
        long t0 = System.nanoTime();
        String kind = Shards.kind(task);
        List<List<Path>> plan = Shards.plan(input, include, shardBytes);
        String hash = Shards.start(output, tokenizer);
        List<List<String>> groups = new ArrayList<>();
        int files = 0;
        long bytes = 0;
        for (List<Path> g : plan) {
            List<String> names = new ArrayList<>();
            for (Path f : g) {
                names.add(f.toAbsolutePath().toString());
                bytes += Files.size(f);
            }
            files += g.size();
            groups.add(names);
        }
        String out = output.toAbsolutePath().toString();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        System.err.printf(Locale.ROOT, "kiln spark: preparing %d files (%.1f MB) as %d shards for %s%n", files, bytes / 1e6, plan.size(), task);
        jsc.parallelize(IntStream.range(0, groups.size()).boxed().toList(), groups.size())
                .map(i -> Shards.write(Path.of(out), i, kind, groups.get(i).stream().map(Path::of).toList(), reading)[0])
                .collect();
        TokenStore st = Shards.finish(output, kind, groups.size(), reading, hash);
        Summary s = new Summary(files, bytes, groups.size(), st.tokens(), st.documents(), (System.nanoTime() - t0) / 1e9);
        System.err.println("kiln spark: " + s + " -> " + output);
        return s;
    }
}
