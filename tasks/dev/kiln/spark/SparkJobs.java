package dev.kiln.spark;

import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The main class for spark-submit: {@code predict}, {@code evaluate}, {@code encode} and {@code prepare} over a cluster's data.
 * Spark itself is the cluster's (a provided dependency: not in Kiln's jar).
 *
 * <pre>
 * spark-submit --class dev.kiln.spark.SparkJobs target/kiln-VERSION-all.jar predict RUN --input IN --output OUT
 * </pre>
 */
@Command(name = "dev.kiln.spark.SparkJobs", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Kiln's Spark jobs: batch prediction, evaluation and sentence embeddings over a table, pretraining corpus preparation.",
        subcommands = {SparkJobs.Predict.class, SparkJobs.Evaluate.class, SparkJobs.Encode.class, SparkJobs.Prepare.class})
public final class SparkJobs {
    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new SparkJobs());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException || e instanceof java.io.IOException) {
                System.err.println("kiln spark: " + e.getMessage()); // a one-line error: the input or option to fix
                return 2;
            }
            throw e;
        });
        System.exit(cl.execute(args));
    }

    /**
     * A local session for tests and single-machine runs: no UI, few shuffle partitions, and Spark's own logging
     * left to the slf4j binding on the classpath (Kiln's jar: none).
     */
    public static SparkSession localSession(String master) {
        return SparkSession.builder().master(master).appName("kiln")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .getOrCreate();
    }

    static SparkSession session(String master) {
        if (master != null) return localSession(master);
        return SparkSession.builder().appName("kiln").getOrCreate(); // spark-submit's --master and --conf
    }

    /** What every job takes besides its own options. */
    abstract static class SparkCommand implements Callable<Integer> {
        @Option(names = "--master", paramLabel = "URL", description = "run without spark-submit, e.g. local[4]")
        String master;
    }

    /** A job over the rows of a table, run by a model on each executor. */
    abstract static class InputJob extends SparkCommand {
        @Option(names = "--input", required = true, paramLabel = "PATH", description = "a file, folder or glob Spark can read (any Hadoop file system)")
        String input;

        @Option(names = "--input-format", defaultValue = "auto", paramLabel = "FORMAT", description = "jsonl, csv, tsv (with a header), parquet or text (one input per line); auto: by extension")
        String inputFormat;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE", description = "cpu, gpu, gpu:N; auto: the GPU Spark assigned the task, else the first GPU, else the CPU")
        String device;

        @Option(names = "--partitions", defaultValue = "0", paramLabel = "N", description = "repartition the input into N partitions first (0: as read)")
        int partitions;
    }

    /** kiln predict's and kiln evaluate's --set data.KEY=VALUE options, keys without "data.". */
    static Map<String, String> dataOptions(List<String> sets) {
        return dev.kiln.train.DataOptions.parseSets(sets);
    }

    abstract static class TableJob extends InputJob {
        @Option(names = "--output", required = true, paramLabel = "DIR", description = "the output folder (must not exist)")
        String output;

        @Option(names = "--output-format", defaultValue = "jsonl", paramLabel = "FORMAT", description = "jsonl, parquet or csv (predict only)")
        String outputFormat;

        @Option(names = "--keep", split = ",", paramLabel = "COL", description = "input columns copied to each output row (default: id if present, else all)")
        List<String> keep = new ArrayList<>();

        SparkInference.Job job(String model) {
            return new SparkInference.Job(input, inputFormat, output, outputFormat, model, device, keep, partitions);
        }
    }

    @Command(name = "predict", mixinStandardHelpOptions = true, description = "A run's predictions (kiln predict's JSON objects) for each row.")
    static final class Predict extends TableJob {
        @Parameters(paramLabel = "RUN", description = "a run directory or model folder every executor can read (shared file system, or --archives run.zip#run and RUN=run)")
        String run;

        @Option(names = "--set", paramLabel = "data.KEY=VALUE", description = "a data option of kiln predict, e.g. data.text_field=body; repeatable")
        List<String> sets = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            try (SparkSession spark = session(master)) {
                SparkInference.predict(spark, job(run), dataOptions(sets));
            }
            return 0;
        }
    }

    @Command(name = "evaluate", mixinStandardHelpOptions = true, description = "A run's metrics (kiln evaluate's JSON object, on "
            + "stdout) on a labelled table: the forward passes on the executors, the metrics over all rows on the driver. "
            + "Classification, NER, QA and summarization runs.")
    static final class Evaluate extends InputJob {
        @Parameters(paramLabel = "RUN", description = "a run directory or model folder every executor can read")
        String run;

        @Option(names = "--set", paramLabel = "data.KEY=VALUE", description = "a data option of kiln evaluate naming the columns, "
                + "e.g. data.text_field=body, data.label_field=stars (classification), data.tokens_field=words (NER); repeatable")
        List<String> sets = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            try (SparkSession spark = session(master)) {
                Map<String, Object> m = SparkEvaluate.evaluate(spark, input, inputFormat, run, device, partitions, dataOptions(sets));
                System.out.println(new com.google.gson.Gson().toJson(m));
            }
            return 0;
        }
    }

    @Command(name = "encode", mixinStandardHelpOptions = true, description = "Sentence embeddings (kiln encode) of a text column.")
    static final class Encode extends TableJob {
        @Parameters(paramLabel = "MODEL", description = "a zoo name or BERT folder every executor can read")
        String model;

        @Option(names = "--text-field", defaultValue = "text", paramLabel = "COL", description = "the column to embed")
        String textField;

        @Option(names = "--cls", description = "[CLS] pooling instead of mean")
        boolean cls;

        @Option(names = "--raw", description = "vectors not L2-normalised")
        boolean raw;

        @Option(names = "--batch-size", defaultValue = "32", paramLabel = "N", description = "texts per forward pass")
        int batchSize;

        @Override
        public Integer call() throws Exception {
            try (SparkSession spark = session(master)) {
                SparkInference.encode(spark, job(model), textField, cls, raw, batchSize);
            }
            return 0;
        }
    }

    @Command(name = "prepare", mixinStandardHelpOptions = true, description = "Tokenise a pretraining corpus into shards that "
            + "pretrain-gpt / pretrain-bert read as data.train (or data.dev).")
    static final class Prepare extends SparkCommand {
        @Option(names = "--input", required = true, paramLabel = "PATH", description = "a text file or a folder of them, on a file system every executor mounts")
        java.nio.file.Path input;

        @Option(names = "--include", paramLabel = "GLOB", description = "as data.include: the files of the folder to read")
        String include;

        @Option(names = "--output", required = true, paramLabel = "DIR", description = "the prepared corpus (a new or empty folder, on the shared file system)")
        java.nio.file.Path output;

        @Option(names = "--task", required = true, paramLabel = "TASK", description = "pretrain-gpt or pretrain-bert")
        String task;

        @Option(names = "--tokenizer", required = true, paramLabel = "NAME", description = "as model.tokenizer: gpt2, a zoo name or a folder with tokenizer files")
        String tokenizer;

        @Option(names = "--documents", defaultValue = "file", paramLabel = "HOW", description = "as data.documents: file, blank_line, line or marker")
        String documents;

        @Option(names = "--document-marker", paramLabel = "REGEX", description = "as data.document_marker")
        String marker;

        @Option(names = "--encoding", defaultValue = "utf-8", paramLabel = "CHARSET", description = "as data.encoding")
        String encoding;

        @Option(names = "--shard-mb", defaultValue = "256", paramLabel = "MB", description = "text per shard (whole files; a shard is one Spark task)")
        double shardMb;

        @Override
        public Integer call() throws Exception {
            try (SparkSession spark = session(master)) {
                SparkPrepare.prepare(spark, input, include, output, task, tokenizer,
                        new dev.kiln.tasks.pretraining.Shards.Reading(documents, marker, encoding), Math.max(1, (long) (shardMb * 1e6)));
            }
            return 0;
        }
    }
}
