package dev.kiln.spark;

import dev.kiln.data.TextRecords;
import dev.kiln.train.EvalOutputs;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.TaskProvider;
import dev.kiln.train.Tasks;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code evaluate} over a table (JSONL, CSV, TSV, Parquet) as a Spark job. The forward passes run on the executors as
 * {@link SparkInference#predict}'s do (one model per executor, chunks batched by length); each partition sends the
 * driver its rows' outputs beside their gold ({@link EvalOutputs}: a class pair per row, the tags of each sentence,
 * an answer and its gold answers, a summary and its reference), and the driver runs the task's own metric code once
 * over all of them, joined in partition order ({@link TaskProvider#evaluation}). Macro-F1, entity F1, SQuAD F1 and ROUGE do not average over
 * partitions; computed this way they are what {@code kiln evaluate} reports on the same rows. The driver holds those
 * outputs, not the rows: a few bytes per row for classification, the tags for NER, the answers for QA.
 */
public final class SparkEvaluate {
    private SparkEvaluate() {}

    /** What a partition sends back: its task (the driver may not see the run folder) and its rows' outputs. */
    private record Part(String task, EvalOutputs outputs) implements Serializable {}

    /** The model a partition scores with, and its task. */
    private record Opened(String task, TaskProvider.Scorer scorer) implements AutoCloseable {
        @Override
        public void close() {
            scorer.close();
        }
    }

    /**
     * {@code kiln evaluate}'s JSON object for the rows of {@code input}, each read as the JSON object of its columns
     * with the run's data settings and {@code dataOptions} over them (the field names; a table's format is Spark's).
     * The task must offer {@link TaskProvider#evaluation}; adds {@code examples_per_s} and {@code partitions}.
     */
    public static Map<String, Object> evaluate(SparkSession spark, String input, String inputFormat, String model, String device,
                                               int partitions, Map<String, String> dataOptions) {
        Path local = Path.of(model);
        if (Files.isDirectory(local)) { // fail before the cluster starts when the driver can see the folder
            try {
                provider(TaskFolder.meta(TaskFolder.resolve(local)).get("task").getAsString(), model);
            } catch (IOException e) {
                throw new IllegalArgumentException(e.getMessage());
            }
        }
        Dataset<Row> in = SparkInference.partitioned(SparkInference.read(spark, input, inputFormat), partitions);
        Map<String, String> opts = new LinkedHashMap<>(dataOptions);
        LongAccumulator done = spark.sparkContext().longAccumulator("kiln rows");
        FlatMapFunction<java.util.Iterator<Row>, byte[]> fn = rows -> {
            int part = TaskContext.getPartitionId();
            String dev = SparkInference.device(device);
            String key = "evaluate|" + model + "|" + dev + "|" + opts;
            // errors name the partition and the row counted within it: a repartitioned row has no file line
            Path source = Path.of("partition " + part + " of " + input);
            List<EvalOutputs> got = new ArrayList<>();
            String[] task = new String[1];
            int[] n = {0};
            SparkInference.forEachChunk(rows, chunk -> {
                List<TextRecords.JsonLine> lines = new ArrayList<>(chunk.size());
                for (Row r : chunk) lines.add(new TextRecords.JsonLine(SparkInference.rowJson(r), ++n[0]));
                got.add(ExecutorModels.use(key, () -> open(model, dev, opts), o -> {
                    task[0] = o.task();
                    return o.scorer().outputs(source, lines);
                }));
                done.add(chunk.size());
            });
            if (got.isEmpty()) return Collections.emptyIterator();
            return List.of(bytes(new Part(task[0], EvalOutputs.concat(got)))).iterator();
        };
        long t0 = System.nanoTime();
        Thread progress = SparkInference.progress(done, t0);
        List<byte[]> back;
        try {
            back = in.javaRDD().mapPartitions(fn).collect(); // in partition order
        } catch (Exception e) { // Spark's stage failure is a checked SparkException that Scala throws undeclared
            throw oneLine(e);
        } finally {
            progress.interrupt();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (back.isEmpty()) throw new IllegalArgumentException(input + ": no rows to evaluate");
        List<EvalOutputs> outs = new ArrayList<>(back.size());
        String task = null;
        for (byte[] b : back) {
            Part p = part(b);
            task = p.task();
            outs.add(p.outputs());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", model);
        out.put("data", input);
        out.putAll(provider(task, model).evaluation().metrics(EvalOutputs.concat(outs)));
        out.put("examples_per_s", done.value() / Math.max(1e-9, secs));
        out.put("partitions", in.rdd().getNumPartitions());
        SparkInference.Summary s = new SparkInference.Summary(done.value(), in.rdd().getNumPartitions(), secs);
        System.err.println("kiln spark: evaluated " + s);
        return out;
    }

    /** The tasks Spark evaluates; another is a one-line error naming them. */
    private static TaskProvider provider(String task, String model) {
        TaskProvider p = Tasks.get(task);
        if (p.evaluation() == null) {
            List<String> ok = Tasks.types().stream().filter(t -> Tasks.get(t).evaluation() != null).toList();
            throw new IllegalArgumentException(model + " holds a '" + task + "' model; the Spark evaluate job takes "
                    + String.join(", ", ok) + " models (use kiln evaluate for " + task + ")");
        }
        return p;
    }

    private static Opened open(String model, String device, Map<String, String> opts) throws IOException {
        Path dir = TaskFolder.resolve(Path.of(model));
        String task = TaskFolder.meta(dir).get("task").getAsString();
        return new Opened(task, provider(task, model).evaluation().open(dir, device, opts));
    }

    /** A task's exception as a stage failure names it: "...: CLASS: MESSAGE" then the executor's stack trace. */
    private static final java.util.regex.Pattern FAILURE = java.util.regex.Pattern.compile("([\\w.$]+(?:Exception|Error)): ([^\\n]*)");

    /**
     * A data error inside a task comes back wrapped in Spark's stage failure, as text only (no cause); the task's
     * own message is the line to show.
     */
    static RuntimeException oneLine(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IllegalArgumentException) return new IllegalArgumentException(t.getMessage(), e);
        }
        java.util.regex.Matcher m = FAILURE.matcher(String.valueOf(e.getMessage()));
        while (m.find()) {
            try {
                Class<?> c = Class.forName(m.group(1), false, SparkEvaluate.class.getClassLoader());
                if (IllegalArgumentException.class.isAssignableFrom(c) || IOException.class.isAssignableFrom(c)) {
                    return new IllegalArgumentException(m.group(2), e);
                }
            } catch (ClassNotFoundException | LinkageError notOurs) {
                // a class only the executor knows: leave Spark's message as it is
            }
        }
        return e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }

    // Java serialization by hand: the outputs reach the driver as bytes whatever spark.serializer the cluster uses
    private static byte[] bytes(Part p) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(b)) {
            o.writeObject(p);
        }
        return b.toByteArray();
    }

    private static Part part(byte[] b) {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b))) {
            return (Part) in.readObject();
        } catch (IOException | ClassNotFoundException e) {
            throw new IllegalStateException("a partition's outputs did not read back: " + e, e);
        }
    }
}
