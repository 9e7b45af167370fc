package dev.kiln.spark;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.kiln.Kiln;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.PredictLines;
import dev.kiln.train.Tasks;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code predict} and {@code encode} over a table (JSONL, CSV, TSV, Parquet or text lines) as Spark jobs. Each
 * executor opens the model once ({@link ExecutorModels}); a partition goes to it in chunks of
 * {@link PredictLines#CHUNK} rows, which the task's predictor (or the encoder) sorts by length into batches
 * ({@code inference.LengthBatches}), exactly as {@code kiln predict} does with its input lines. Each output row
 * is the input row's key columns plus the result, so it joins back to the input whatever the partitioning.
 */
public final class SparkInference {
    private SparkInference() {}

    /** What to read and write. {@code keep}: columns copied to the output (empty: "id" if present, else all). */
    public record Job(String input, String inputFormat, String output, String outputFormat, String model, String device,
                      List<String> keep, int partitions) implements Serializable {}

    /** What a job did. */
    public record Summary(long rows, int partitions, double seconds) {
        public double rowsPerSecond() {
            return rows / Math.max(1e-9, seconds);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%,d rows in %d partitions, %.1f s, %.1f rows/s", rows, partitions, seconds, rowsPerSecond());
        }
    }

    /** The input as a table; {@code format} "auto" goes by the file extension ("text": one input per line, column "text"). */
    public static Dataset<Row> read(SparkSession spark, String path, String format) {
        String f = format == null || format.equals("auto") ? formatOf(path) : format;
        return switch (f) {
            case "jsonl", "json" -> spark.read().json(path);
            case "csv" -> spark.read().option("header", true).csv(path);
            case "tsv" -> spark.read().option("header", true).option("sep", "\t").csv(path);
            case "parquet" -> spark.read().parquet(path);
            case "text", "txt" -> spark.read().text(path).withColumnRenamed("value", "text");
            default -> throw new IllegalArgumentException("--input-format " + f + ": use jsonl, csv, tsv, parquet or text");
        };
    }

    static String formatOf(String path) {
        String p = path.toLowerCase(Locale.ROOT).replaceAll("/+$", "");
        if (p.endsWith(".jsonl") || p.endsWith(".json") || p.endsWith(".jsonl.gz") || p.endsWith(".json.gz")) return "jsonl";
        if (p.endsWith(".csv") || p.endsWith(".csv.gz")) return "csv";
        if (p.endsWith(".tsv") || p.endsWith(".tsv.gz")) return "tsv";
        if (p.endsWith(".parquet")) return "parquet";
        if (p.endsWith(".txt") || p.endsWith(".txt.gz")) return "text";
        throw new IllegalArgumentException(path + ": cannot tell the format from the name; give --input-format jsonl|csv|tsv|parquet|text");
    }

    /**
     * A task model's predictions ({@code kiln predict}'s JSON objects): each row is handed to the predictor as the JSON
     * object of its columns (a text input's line as plain text), and {@code dataOptions} are the {@code --set data.KEY}
     * options of {@code kiln predict}. Output: the kept columns and {@code prediction} (an object in JSON output, the
     * JSON text in Parquet / CSV).
     */
    public static Summary predict(SparkSession spark, Job job, Map<String, String> dataOptions) {
        Path local = Path.of(job.model());
        if (Files.isDirectory(local)) { // fail before the cluster starts when the driver can see the folder
            try {
                Tasks.get(TaskFolder.meta(TaskFolder.resolve(local)).get("task").getAsString());
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException(e.getMessage());
            }
        }
        Dataset<Row> in = read(spark, job.input(), job.inputFormat());
        boolean plain = in.columns().length == 1 && in.columns()[0].equals("text") && isText(job);
        if (plain) in = in.filter(org.apache.spark.sql.functions.trim(in.col("text")).notEqual("")); // blank lines: no prediction, as in kiln predict
        in = partitioned(in, job.partitions());
        List<String> keep = keep(in, job.keep());
        StructType schema = outSchema(in.schema(), keep, DataTypes.StringType, "prediction");
        Map<String, String> opts = new LinkedHashMap<>(dataOptions);
        String model = job.model(), device = job.device();
        // rows done, for the progress lines and the summary (a retried task's rows count again)
        LongAccumulator done = spark.sparkContext().longAccumulator("kiln rows");
        MapPartitionsFunction<Row, Row> fn = rows -> {
            List<Row> out = new ArrayList<>();
            int part = TaskContext.getPartitionId();
            String dev = device(device);
            String key = "predict|" + model + "|" + dev + "|" + opts;
            forEachChunk(rows, chunk -> {
                List<PredictLines.Input> ins = new ArrayList<>(chunk.size());
                for (int i = 0; i < chunk.size(); i++) {
                    Row r = chunk.get(i);
                    String text = plain ? r.getString(0) : rowJson(r).toString();
                    // a newline reads as a space, as in kiln predict's line input
                    ins.add(new PredictLines.Input(out.size() + i + 1, text == null ? "" : text.replace('\n', ' ')));
                }
                List<com.google.gson.JsonObject> got;
                try {
                    got = ExecutorModels.use(key, () -> openPredictor(model, dev, opts), p -> p.predictAll(ins));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("partition " + part + " (rows counted within it): " + e.getMessage(), e);
                }
                for (int i = 0; i < chunk.size(); i++) out.add(withKeys(chunk.get(i), keep, got.get(i).toString()));
                done.add(chunk.size());
            });
            return out.iterator();
        };
        return run(spark, in.mapPartitions(fn, Encoders.row(schema)), job, done, "prediction");
    }

    /**
     * Sentence embeddings ({@code kiln encode}) of {@code textField}: output the kept columns and {@code embedding}
     * (an array of floats), mean pooling or [CLS] ({@code cls}), L2-normalised unless {@code raw}.
     */
    public static Summary encode(SparkSession spark, Job job, String textField, boolean cls, boolean raw, int batchSize) {
        Dataset<Row> in = partitioned(read(spark, job.input(), job.inputFormat()), job.partitions());
        int col = Arrays.asList(in.columns()).indexOf(textField);
        if (col < 0) throw new IllegalArgumentException(job.input() + ": no column \"" + textField + "\" (columns: "
                + String.join(", ", in.columns()) + "); give --text-field");
        List<String> keep = keep(in, job.keep());
        StructType schema = outSchema(in.schema(), keep, DataTypes.createArrayType(DataTypes.FloatType, false), "embedding");
        String model = job.model(), device = job.device();
        LongAccumulator done = spark.sparkContext().longAccumulator("kiln rows");
        MapPartitionsFunction<Row, Row> fn = rows -> {
            List<Row> out = new ArrayList<>();
            String dev = device(device);
            String key = "encode|" + model + "|" + dev + "|" + cls + raw + batchSize;
            forEachChunk(rows, chunk -> {
                List<String> texts = new ArrayList<>(chunk.size());
                for (Row r : chunk) texts.add(r.isNullAt(col) ? "" : r.getString(col));
                float[][] v = ExecutorModels.use(key, () -> {
                    Kiln.Encoder e = Kiln.encoder(model, dev).batchSize(batchSize);
                    if (cls) e.cls();
                    if (raw) e.raw();
                    return e;
                }, e -> e.encode(texts));
                for (int i = 0; i < chunk.size(); i++) out.add(withKeys(chunk.get(i), keep, boxed(v[i])));
                done.add(chunk.size());
            });
            return out.iterator();
        };
        return run(spark, in.mapPartitions(fn, Encoders.row(schema)), job, done, "embedding");
    }

    private static boolean isText(Job job) {
        String f = job.inputFormat() == null || job.inputFormat().equals("auto") ? formatOf(job.input()) : job.inputFormat();
        return f.equals("text") || f.equals("txt");
    }

    static Dataset<Row> partitioned(Dataset<Row> in, int partitions) {
        return partitions > 0 ? in.repartition(partitions) : in;
    }

    private static PredictLines.Predictor openPredictor(String model, String device, Map<String, String> opts) throws java.io.IOException {
        Path dir = TaskFolder.resolve(Path.of(model));
        String task = TaskFolder.meta(dir).get("task").getAsString();
        return Tasks.get(task).predictor(dir, device, opts);
    }

    /** "auto" on an executor that Spark gave a GPU (spark.task.resource.gpu.amount) is that GPU. */
    static String device(String device) {
        if (!device.equals("auto")) return device;
        TaskContext tc = TaskContext.get();
        if (tc != null && tc.resourcesJMap().containsKey("gpu")) {
            String[] a = tc.resourcesJMap().get("gpu").addresses();
            if (a.length > 0) return "gpu:" + a[0];
        }
        return device;
    }

    interface ChunkBody {
        void apply(List<Row> chunk) throws Exception;
    }

    static void forEachChunk(Iterator<Row> rows, ChunkBody body) throws Exception {
        List<Row> chunk = new ArrayList<>(PredictLines.CHUNK);
        while (rows.hasNext()) {
            chunk.add(rows.next());
            if (chunk.size() == PredictLines.CHUNK) {
                body.apply(chunk);
                chunk = new ArrayList<>(PredictLines.CHUNK);
            }
        }
        if (!chunk.isEmpty()) body.apply(chunk);
    }

    private static List<String> keep(Dataset<Row> in, List<String> keep) {
        List<String> cols = Arrays.asList(in.columns());
        if (keep == null || keep.isEmpty()) return cols.contains("id") ? List.of("id") : cols;
        for (String k : keep) {
            if (!cols.contains(k)) throw new IllegalArgumentException("--keep " + k + ": no such column (columns: " + String.join(", ", cols) + ")");
        }
        return List.copyOf(keep);
    }

    private static StructType outSchema(StructType in, List<String> keep, DataType resultType, String resultName) {
        List<StructField> f = new ArrayList<>();
        for (String k : keep) f.add(in.apply(k));
        f.add(DataTypes.createStructField(resultName, resultType, false));
        return DataTypes.createStructType(f);
    }

    private static Row withKeys(Row r, List<String> keep, Object result) {
        Object[] v = new Object[keep.size() + 1];
        for (int i = 0; i < keep.size(); i++) v[i] = r.get(r.fieldIndex(keep.get(i)));
        v[keep.size()] = result;
        return RowFactory.create(v);
    }

    private static Float[] boxed(float[] v) {
        Float[] out = new Float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    /** A row as the JSON object a JSONL line with its fields would be (null fields left out). */
    static JsonObject rowJson(Row r) {
        JsonObject o = new JsonObject();
        StructType s = r.schema();
        for (int i = 0; i < s.fields().length; i++) {
            if (r.isNullAt(i)) continue;
            o.add(s.fields()[i].name(), json(r.get(i), s.fields()[i].dataType()));
        }
        return o;
    }

    private static JsonElement json(Object v, DataType t) {
        if (v == null) return JsonNull.INSTANCE;
        if (t instanceof StructType) return rowJson((Row) v);
        if (t instanceof ArrayType at) {
            JsonArray a = new JsonArray();
            Iterable<?> items = v instanceof scala.collection.Iterable<?> s ? scala.jdk.javaapi.CollectionConverters.asJava(s)
                    : v instanceof List<?> l ? l : List.of(v);
            for (Object x : items) a.add(json(x, at.elementType()));
            return a;
        }
        if (v instanceof Boolean b) return new JsonPrimitive(b);
        if (v instanceof Number n) return new JsonPrimitive(n);
        return new JsonPrimitive(v.toString());
    }

    /** A progress line on stderr every 10 s until interrupted (when the job ends). */
    static Thread progress(LongAccumulator done, long t0) {
        Thread progress = new Thread(() -> {
            try {
                while (true) {
                    Thread.sleep(10_000);
                    double s = (System.nanoTime() - t0) / 1e9;
                    System.err.printf(Locale.ROOT, "kiln spark: %,d rows done, %.0f s, %.1f rows/s%n", done.value(), s, done.value() / s);
                }
            } catch (InterruptedException e) {
                // the job ended
            }
        }, "kiln-spark-progress");
        progress.setDaemon(true);
        progress.start();
        return progress;
    }

    /** Runs the job, writing its output, with a progress line every 10 s and the summary on stderr. */
    private static Summary run(SparkSession spark, Dataset<Row> result, Job job, LongAccumulator done, String resultName) {
        long t0 = System.nanoTime();
        Thread progress = progress(done, t0);
        try {
            String f = job.outputFormat() == null || job.outputFormat().equals("auto") ? "jsonl" : job.outputFormat();
            switch (f) {
                case "jsonl", "json" -> {
                    if (resultName.equals("prediction")) {
                        // the prediction as an object, not as escaped JSON text
                        StructType s = result.schema();
                        Dataset<String> lines = result.map((org.apache.spark.api.java.function.MapFunction<Row, String>) r -> {
                            JsonObject o = new JsonObject();
                            for (int i = 0; i < s.fields().length - 1; i++) {
                                if (!r.isNullAt(i)) o.add(s.fields()[i].name(), json(r.get(i), s.fields()[i].dataType()));
                            }
                            o.add(resultName, com.google.gson.JsonParser.parseString(r.getString(s.fields().length - 1)));
                            return o.toString();
                        }, Encoders.STRING());
                        lines.write().text(job.output());
                    } else {
                        result.write().json(job.output());
                    }
                }
                case "parquet" -> result.write().parquet(job.output());
                case "csv" -> {
                    if (!resultName.equals("prediction")) throw new IllegalArgumentException("--output-format csv cannot hold embeddings; use jsonl or parquet");
                    result.write().option("header", true).csv(job.output());
                }
                default -> throw new IllegalArgumentException("--output-format " + f + ": use jsonl, parquet or csv");
            }
        } finally {
            progress.interrupt();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        Summary s = new Summary(done.value(), result.rdd().getNumPartitions(), secs);
        System.err.println("kiln spark: " + s + " -> " + job.output());
        return s;
    }
}
