package dev.kiln.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.Kiln;
import dev.kiln.config.RunConfig;
import dev.kiln.inference.LengthBatches;
import dev.kiln.inference.SentenceEncoder;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.log.SystemStats;
import dev.kiln.models.Backbone;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.BertParityTest;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Losses;
import dev.kiln.nn.Parameters;
import dev.kiln.nn.Pooling;
import dev.kiln.text.Batch;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.Runs;
import dev.kiln.train.TrainableTask;
import dev.kiln.train.Trainer;
import dev.kiln.train.TrainerOptions;
import dev.kiln.util.AtomicFiles;
import dev.kiln.util.Threads;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The measurements of scripts/bench-throughput (not a unit test: run by the script with the test classpath, where
 * ONNX Runtime lives). Each part alternates its sides round by round and keeps every sample; the script takes
 * medians and writes the table. Prints one JSON object.
 *
 * <p>usage: ThroughputBench --rounds 3 --threads 1 --parts a,b,c,d,o [--bert-base] [--sst2-train 1000]
 * [--texts 2000] [--group-train 2500] [--step-shape 32x64] [--work DIR]. Part p: Kiln's side of (a) alone, at --step-shape; part o: {@link dev.kiln.train.UpdateCostBench}; part g: {@link #grouping}.
 */
public final class ThroughputBench {
    private ThroughputBench() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new java.util.HashMap<>(Map.of("--rounds", "3", "--threads", "1", "--parts", "a,b,c,d,o",
                "--sst2-train", "1000", "--texts", "2000", "--group-train", "2500", "--work", "runs/bench-throughput", "--bert-base", "false"));
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--bert-base")) a.put("--bert-base", "true");
            else a.put(args[i], args[++i]);
        }
        int rounds = Integer.parseInt(a.get("--rounds"));
        int threads = Integer.parseInt(a.get("--threads"));
        List<String> parts = List.of(a.get("--parts").split(","));
        Path work = Paths.get(a.get("--work")).toAbsolutePath();
        Files.createDirectories(work);
        Threads.set(threads);
        JsonObject out = new JsonObject();
        out.addProperty("threads", threads);
        out.addProperty("rounds", rounds);
        out.addProperty("load_average_start", Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        out.addProperty("cores", Runtime.getRuntime().availableProcessors());
        out.addProperty("mkl_amd", System.getProperty("kiln.bench.mkl_amd", "?"));
        if (parts.contains("a")) {
            JsonArray shapes = new JsonArray();
            shapes.add(trainingStep("all-MiniLM-L6-v2", 32, 64, rounds, threads, work, true));
            if (Boolean.parseBoolean(a.get("--bert-base"))) shapes.add(trainingStep("bert-base-uncased", 8, 128, rounds, threads, work, true));
            out.add("training_step", shapes);
        } else if (parts.contains("p")) { // Kiln's side of (a) alone: timed steps and the profile, no PyTorch
            JsonArray shapes = new JsonArray();
            String[] bxs = a.getOrDefault("--step-shape", "32x64").split("x");
            shapes.add(trainingStep("all-MiniLM-L6-v2", Integer.parseInt(bxs[0]), Integer.parseInt(bxs[1]), rounds, threads, work, false));
            out.add("kiln_step", shapes);
        }
        if (parts.contains("b")) out.add("sst2", sst2(Integer.parseInt(a.get("--sst2-train")), rounds, work));
        if (parts.contains("c")) out.add("inference", inference(Integer.parseInt(a.get("--texts")), rounds, threads, work));
        if (parts.contains("d")) out.add("generation", generation(rounds));
        if (parts.contains("o")) out.add("update_costs", dev.kiln.train.UpdateCostBench.measure(2 * rounds + 3));
        if (parts.contains("g")) out.add("grouping", grouping(Integer.parseInt(a.get("--group-train")), rounds, work));
        out.addProperty("load_average_end", Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        System.out.println(new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(out));
    }

    // ---- (a) one training step on a full batch: Kiln's Trainer vs PyTorch eager ----

    /** A full batch of random ids through the backbone, mean-pooled into a 2-way head: what one trainer step costs. */
    static final class FullBatch implements TrainableTask {
        final BertModel bert;
        final Linear head;
        final long[][] ids;
        final long[] labels;

        FullBatch(BertModel bert, int batch, int seq) {
            this.bert = bert;
            this.head = new Linear(bert, "classifier", bert.config.hiddenSize, 2, true);
            SplittableRandom r = new SplittableRandom(1);
            ids = new long[batch][seq];
            labels = new long[batch];
            for (int i = 0; i < batch; i++) {
                for (int t = 0; t < seq; t++) ids[i][t] = r.nextInt(bert.config.vocabSize);
                labels[i] = r.nextInt(2);
            }
        }

        record B(int n, long tokens) implements Batch {
            public int size() { return n; }
            public long targets() { return n; }
        }

        @Override public Parameters parameters() { return bert.params; }
        @Override public Backbone backbone() { return bert; }
        @Override public int trainSize() { return 4 * ids.length; }
        @Override public Batch collate(int[] indexes) { return new B(indexes.length, (long) ids.length * ids[0].length); }
        @Override public String mainMetric() { return "loss"; }
        @Override public boolean higherIsBetter(String metric) { return false; }
        @Override public Map<String, Double> evaluate(NDManager parent) { return Map.of(); }
        @Override public void save(Path dir) {}

        @Override
        public Loss loss(Batch batch, NDManager m, boolean training) {
            NDArray x = m.create(ids);
            NDArray mask = m.ones(new Shape(ids.length, ids[0].length), ai.djl.ndarray.types.DataType.INT64);
            NDArray h = bert.forward(x, m.zeros(x.getShape(), ai.djl.ndarray.types.DataType.INT64), mask, training).lastHiddenState;
            return new Loss(Losses.crossEntropySum(head.forward(Pooling.mean(h, mask)), m.create(labels), 0f));
        }
    }

    /** Trainer options of the timed steps: {@code steps} steps of a full batch, nothing else. */
    static TrainerOptions stepOptions(int batch, int steps) {
        TrainerOptions o = new TrainerOptions();
        o.batchSize = batch;
        o.maxSteps = steps;
        o.optimizer.lr = 5e-5;
        o.evalEachEpoch = false;
        o.tensorboard = false;
        o.plot = false;
        o.progress = dev.kiln.log.Progress.Mode.QUIET;
        return o;
    }

    /** One more run with libtorch's profiler on for its third step (after two warm ones): {@link StepProfile}. */
    static JsonObject profileStep(FullBatch task, int batch, Path trace) throws IOException {
        Trainer t = new Trainer(task, stepOptions(batch, 3));
        t.addListener(new Trainer.Listener() {
            @Override public void onStep(long step, int epoch, Trainer.StepStats s) {
                if (step == 2) ai.djl.pytorch.jni.JniUtils.startProfile(false, false, false);
                if (step == 3) ai.djl.pytorch.jni.JniUtils.stopProfile(trace.toString());
            }
        });
        t.train();
        JsonObject p = StepProfile.read(trace);
        System.err.println("step profile " + p);
        return p;
    }

    static JsonObject trainingStep(String model, int batch, int seq, int rounds, int threads, Path work, boolean torchSide) throws Exception {
        Path dir = ModelZoo.resolve(model);
        JsonObject r = new JsonObject();
        r.addProperty("model", model);
        r.addProperty("batch", batch);
        r.addProperty("seq", seq);
        JsonArray kiln = new JsonArray(), torch = new JsonArray(), kPeak = new JsonArray(), tPeak = new JsonArray();
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            FullBatch task = new FullBatch(bert, batch, seq);
            r.addProperty("flop_parameters", bert.root().matmulParameterCount());
            r.addProperty("layers", bert.config.numHiddenLayers);
            r.addProperty("hidden", bert.config.hiddenSize);
            for (int round = 0; round < rounds; round++) {
                // A then B, every round: both sides see the same drift in the machine's load
                kPeak.add(SystemStats.MatmulPeak.measure(Device.cpu()));
                TrainerOptions o = stepOptions(batch, 4); // the first step warms up and is not counted
                List<Double> secs = new ArrayList<>();
                Trainer t = new Trainer(task, o);
                t.addListener(new Trainer.Listener() {
                    @Override public void onStep(long step, int epoch, Trainer.StepStats s) { if (step > 1) secs.add(s.seconds()); }
                });
                t.train();
                secs.forEach(kiln::add);
                if (!torchSide) {
                    System.err.printf("training step %s %dx%d round %d: kiln %s%n", model, batch, seq, round + 1, secs);
                    continue;
                }
                JsonObject py = python(bert, batch, seq, threads);
                py.getAsJsonArray("step_seconds").forEach(torch::add);
                tPeak.add(py.get("peak_flops"));
                r.addProperty("torch_version", py.get("torch").getAsString());
                r.addProperty("torch_threads", py.get("threads").getAsInt());
                System.err.printf("training step %s %dx%d round %d: kiln %s torch %s%n", model, batch, seq, round + 1, secs,
                        py.get("step_seconds"));
            }
            r.add("kiln_profile", profileStep(task, batch, work.resolve("step-trace-" + model + ".json")));
        }
        r.add("kiln_step_seconds", kiln);
        r.add("torch_step_seconds", torch);
        r.add("kiln_peak_flops", kPeak);
        r.add("torch_peak_flops", tPeak);
        return r;
    }

    static JsonObject python(BertModel bert, int batch, int seq, int threads) throws IOException, InterruptedException {
        var c = bert.config;
        List<String> cmd = List.of(System.getProperty("kiln.bench.python", "python3"), Paths.get("scripts/bench-throughput-torch.py").toAbsolutePath().toString(),
                "--hidden", "" + c.hiddenSize, "--layers", "" + c.numHiddenLayers, "--heads", "" + c.numAttentionHeads,
                "--intermediate", "" + c.intermediateSize, "--vocab", "" + c.vocabSize, "--batch", "" + batch, "--seq", "" + seq,
                "--steps", "3", "--warmup", "1", "--threads", "" + threads);
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0) throw new IOException("python side failed: " + String.join(" ", cmd));
        String[] lines = text.split("\n");
        return JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
    }

    // ---- (b) SST-2 training: random batches vs group_by_length vs a token budget ----

    static JsonArray sst2(int n, int rounds, Path work) throws IOException {
        Path shared = Paths.get("..", "shared", "datasets", "sst2").toAbsolutePath().normalize();
        List<String> lines = Files.readAllLines(shared.resolve("stsa.binary.train"));
        Path subset = work.resolve("sst2-train-first-" + n + ".txt");
        Files.write(subset, lines.subList(0, Math.min(n, lines.size())));
        String[][] modes = {
                {"random", ""},
                {"group_by_length", "training.group_by_length=true"},
                {"max_tokens_per_batch", "training.max_tokens_per_batch=800"},
        };
        JsonArray out = new JsonArray();
        for (int round = 0; round < rounds; round++) {
            for (String[] mode : modes) {
                Path dir = work.resolve("sst2-" + mode[0] + "-round" + (round + 1));
                if (Files.exists(dir)) AtomicFiles.deleteTree(dir); // this bench's own folder from an earlier run
                String json = "{\"model\": {\"name\": \"all-MiniLM-L6-v2\", \"device\": \"cpu\"},"
                        + "\"task\": {\"type\": \"classification\", \"pooling\": \"mean\"},"
                        + "\"data\": {\"train\": \"" + subset + "\", \"dev\": \"" + shared.resolve("stsa.binary.dev") + "\","
                        + " \"format\": \"label-first\", \"max_length\": 64},"
                        + "\"training\": {\"epochs\": 1, \"batch_size\": 32, \"eval_each_epoch\": true, \"log_every_steps\": 10},"
                        + "\"optimizer\": {\"type\": \"adamw\", \"lr\": 1e-4, \"weight_decay\": 0.01},"
                        + "\"schedule\": {\"type\": \"linear\", \"warmup_ratio\": 0.1},"
                        + "\"checkpointing\": {\"keep_last\": 1, \"keep_best\": false},"
                        + "\"logging\": {\"tensorboard\": false, \"plot\": false},"
                        + "\"output\": {\"dir\": \"" + dir + "\"}, \"seed\": " + (42 + round) + "}";
                RunConfig cfg = mode[1].isEmpty() ? Kiln.config(json) : Kiln.config(json, mode[1]);
                long t0 = System.nanoTime();
                Runs.train(cfg, new PrintStream(OutputStream.nullOutputStream()), true);
                double wall = (System.nanoTime() - t0) / 1e9;
                JsonObject s = JsonParser.parseString(Files.readString(dir.resolve("summary.json"))).getAsJsonObject();
                JsonObject row = new JsonObject();
                row.addProperty("mode", mode[0]);
                row.addProperty("round", round + 1);
                row.addProperty("seed", 42 + round);
                row.addProperty("steps", s.get("steps").getAsLong());
                row.addProperty("real_tokens_per_s", s.get("step_tokens_per_s").getAsDouble());
                if (s.has("step_tokens_per_cpu_s")) row.addProperty("real_tokens_per_cpu_s", s.get("step_tokens_per_cpu_s").getAsDouble());
                row.addProperty("computed_tokens_per_s", s.get("computed_tokens_per_s").getAsDouble());
                row.addProperty("padding_fraction", s.get("padding_fraction").getAsDouble());
                row.addProperty("examples_per_s", s.get("examples_per_s").getAsDouble());
                row.addProperty("mfu", s.get("mfu").getAsDouble());
                row.addProperty("dev_accuracy", s.getAsJsonObject("final_eval").get("accuracy").getAsDouble());
                row.addProperty("wall_seconds", wall);
                out.add(row);
                System.err.println("sst2 " + row);
            }
        }
        return out;
    }

    // ---- (g) does group_by_length cost accuracy? random vs grouped batches, the same seeds, three tasks ----

    /**
     * SST-2, TREC and CoNLL-2003 with all-MiniLM-L6-v2, random batches of 32 vs {@code group_by_length}, one epoch over
     * the first {@code n} training examples (lr 1e-4, linear schedule, warmup 0.1, as configs/*-minilm.json), seeds
     * 42.. (one per round; both modes see the same seed, so the pair differs only in how batches are formed). Dev
     * sets are fixed: SST-2's 872, TREC's last 500 questions (not trained on), CoNLL's first 1,000 validation
     * sentences. Each row is also appended to {@code grouping.jsonl} as it finishes, so a cut-short run keeps its rows.
     */
    static JsonArray grouping(int n, int seeds, Path work) throws IOException {
        Path data = Paths.get("..", "shared", "datasets").toAbsolutePath().normalize();
        List<String> sst = Files.readAllLines(data.resolve("sst2/stsa.binary.train"));
        List<String> trec = Files.readAllLines(data.resolve("trec/TREC.train.all"), StandardCharsets.ISO_8859_1);
        if (n > trec.size() - 500) throw new IllegalArgumentException("--group-train " + n + ": TREC has " + (trec.size() - 500) + " questions beside its dev 500");
        Path sstTrain = work.resolve("sst2-first-" + n + ".txt");
        Files.write(sstTrain, sst.subList(0, Math.min(n, sst.size())));
        Path trecTrain = work.resolve("trec-first-" + n + ".txt"), trecDev = work.resolve("trec-last-500.txt");
        Files.write(trecTrain, trec.subList(0, n), StandardCharsets.ISO_8859_1);
        Files.write(trecDev, trec.subList(trec.size() - 500, trec.size()), StandardCharsets.ISO_8859_1);
        Path conllTrain = work.resolve("conll-first-" + n + ".txt"), conllDev = work.resolve("conll-dev-first-1000.txt");
        Files.writeString(conllTrain, firstBlocks(data.resolve("conll2003/train.txt"), n));
        Files.writeString(conllDev, firstBlocks(data.resolve("conll2003/valid.txt"), 1000));
        String[][] tasks = { // name, task, data, main metric
                {"SST-2", "{\"type\": \"classification\", \"pooling\": \"mean\"}",
                        "\"train\": \"" + sstTrain + "\", \"dev\": \"" + data.resolve("sst2/stsa.binary.dev") + "\", \"format\": \"label-first\", \"max_length\": 64", "accuracy"},
                {"TREC", "{\"type\": \"classification\", \"pooling\": \"mean\"}",
                        "\"train\": \"" + trecTrain + "\", \"dev\": \"" + trecDev + "\", \"format\": \"label-first\", \"encoding\": \"iso-8859-1\", \"max_length\": 64", "accuracy"},
                {"CoNLL-2003", "{\"type\": \"ner\", \"stride\": 32}",
                        "\"train\": \"" + conllTrain + "\", \"dev\": \"" + conllDev + "\", \"format\": \"conll\", \"tag_scheme\": \"iob2\", \"max_length\": 128", "f1"},
        };
        Path log = work.resolve("grouping.jsonl");
        JsonArray out = new JsonArray();
        for (int round = 0; round < seeds; round++) {
            for (String[] t : tasks) {
                for (boolean grouped : new boolean[] {false, true}) {
                    Path dir = work.resolve("grouping-" + t[0] + (grouped ? "-grouped" : "-random") + "-seed" + (42 + round));
                    if (Files.exists(dir)) AtomicFiles.deleteTree(dir); // this bench's own folder from an earlier run
                    String json = "{\"model\": {\"name\": \"all-MiniLM-L6-v2\", \"device\": \"cpu\"}, \"task\": " + t[1] + ","
                            + "\"data\": {" + t[2] + "},"
                            + "\"training\": {\"epochs\": 1, \"batch_size\": 32, \"eval_each_epoch\": true, \"log_every_steps\": 20, \"group_by_length\": " + grouped + "},"
                            + "\"optimizer\": {\"type\": \"adamw\", \"lr\": 1e-4, \"weight_decay\": 0.01},"
                            + "\"schedule\": {\"type\": \"linear\", \"warmup_ratio\": 0.1},"
                            + "\"checkpointing\": {\"keep_last\": 1, \"keep_best\": false},"
                            + "\"logging\": {\"tensorboard\": false, \"plot\": false},"
                            + "\"output\": {\"dir\": \"" + dir + "\"}, \"seed\": " + (42 + round) + "}";
                    long t0 = System.nanoTime();
                    Runs.train(Kiln.config(json), new PrintStream(OutputStream.nullOutputStream()), true);
                    double wall = (System.nanoTime() - t0) / 1e9;
                    JsonObject s = JsonParser.parseString(Files.readString(dir.resolve("summary.json"))).getAsJsonObject();
                    JsonObject row = new JsonObject();
                    row.addProperty("task", t[0]);
                    row.addProperty("metric", t[3]);
                    row.addProperty("grouped", grouped);
                    row.addProperty("seed", 42 + round);
                    row.addProperty("steps", s.get("steps").getAsLong());
                    row.addProperty("dev", s.getAsJsonObject("final_eval").get(t[3]).getAsDouble());
                    row.addProperty("padding_fraction", s.get("padding_fraction").getAsDouble());
                    row.addProperty("real_tokens_per_s", s.get("step_tokens_per_s").getAsDouble());
                    if (s.has("step_tokens_per_cpu_s")) row.addProperty("real_tokens_per_cpu_s", s.get("step_tokens_per_cpu_s").getAsDouble());
                    row.addProperty("wall_seconds", wall);
                    row.addProperty("load_average", Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
                    out.add(row);
                    Files.writeString(log, row + "\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                    System.err.println("grouping " + row);
                }
            }
        }
        return out;
    }

    /** The first {@code n} blank-line-separated blocks (CoNLL sentences) of a file. */
    static String firstBlocks(Path file, int n) throws IOException {
        StringBuilder b = new StringBuilder();
        int blocks = 0;
        boolean inBlock = false;
        for (String l : Files.readAllLines(file)) {
            if (l.isBlank()) {
                if (inBlock && ++blocks == n) break;
                inBlock = false;
            } else {
                inBlock = true;
            }
            b.append(l).append('\n');
        }
        return b.toString();
    }

    // ---- (c) MiniLM sentence embeddings: Kiln (sorted / unsorted batches) vs ONNX Runtime's Java API ----

    static JsonObject inference(int nTexts, int rounds, int threads, Path work) throws Exception {
        Path shared = Paths.get("..", "shared", "datasets", "sst2").toAbsolutePath().normalize();
        List<String> texts = new ArrayList<>();
        for (String l : Files.readAllLines(shared.resolve("stsa.binary.train"))) {
            if (texts.size() == nTexts) break;
            texts.add(l.substring(2));
        }
        Path dir = ModelZoo.resolve("all-MiniLM-L6-v2");
        Path onnx = BertParityTest.onnxFile(work);
        JsonObject r = new JsonObject();
        r.addProperty("texts", texts.size());
        r.addProperty("batch", 32);
        JsonArray kSorted = new JsonArray(), kUnsorted = new JsonArray(), oSorted = new JsonArray(), oUnsorted = new JsonArray();
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            // ONNX Runtime 1.29's start-up recurses deeply when libtorch is loaded first: on a 1 MB Java thread stack
            // the JVM died with SIGSEGV (no hs_err) whenever part (c) ran without part (a) before it; 64 MB is ample
            Exception[] failed = new Exception[1];
            Thread t = new Thread(null, () -> {
                try {
                    inference(r, bert, tok, texts, onnx, rounds, threads, kSorted, kUnsorted, oSorted, oUnsorted);
                } catch (Exception e) {
                    failed[0] = e;
                }
            }, "inference-bench", 64L << 20);
            t.start();
            t.join();
            if (failed[0] != null) throw failed[0];
        }
        r.add("kiln_sorted", kSorted);
        r.add("kiln_unsorted", kUnsorted);
        r.add("ort_sorted", oSorted);
        r.add("ort_unsorted", oUnsorted);
        return r;
    }

    private static void inference(JsonObject r, BertModel bert, Tokenizer tok, List<String> texts, Path onnx, int rounds,
                                  int threads, JsonArray kSorted, JsonArray kUnsorted, JsonArray oSorted,
                                  JsonArray oUnsorted) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        r.addProperty("ort_version", env.getVersion());
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setIntraOpNumThreads(threads);
        so.setInterOpNumThreads(1);
        try (OrtSession session = env.createSession(onnx.toString(), so)) {
            int maxLen = bert.config.maxPositionEmbeddings;
            float worst = 0;
            // one untimed pass of each side and order first: the first runs of new batch shapes (allocator, JIT, MKL
            // buffers) were up to 1.4x slower than later ones, most on whichever side ran first
            SentenceEncoder.encode(bert, tok, texts, SentenceEncoder.Pool.MEAN, true, 32, true);
            ort(env, session, tok, texts, maxLen, true);
            SentenceEncoder.encode(bert, tok, texts, SentenceEncoder.Pool.MEAN, true, 32, false);
            ort(env, session, tok, texts, maxLen, false);
            for (int round = 0; round < rounds; round++) {
                long t0 = System.nanoTime();
                float[][] ks = SentenceEncoder.encode(bert, tok, texts, SentenceEncoder.Pool.MEAN, true, 32, true);
                kSorted.add(texts.size() / ((System.nanoTime() - t0) / 1e9));
                t0 = System.nanoTime();
                float[][] os = ort(env, session, tok, texts, maxLen, true);
                oSorted.add(texts.size() / ((System.nanoTime() - t0) / 1e9));
                t0 = System.nanoTime();
                SentenceEncoder.encode(bert, tok, texts, SentenceEncoder.Pool.MEAN, true, 32, false);
                kUnsorted.add(texts.size() / ((System.nanoTime() - t0) / 1e9));
                t0 = System.nanoTime();
                ort(env, session, tok, texts, maxLen, false);
                oUnsorted.add(texts.size() / ((System.nanoTime() - t0) / 1e9));
                for (int i = 0; i < ks.length; i++) {
                    for (int k = 0; k < ks[i].length; k++) worst = Math.max(worst, Math.abs(ks[i][k] - os[i][k]));
                }
                System.err.printf("inference round %d: kiln sorted %s unsorted %s, ORT sorted %s unsorted %s sentences/s%n", round + 1,
                        kSorted.get(round), kUnsorted.get(round), oSorted.get(round), oUnsorted.get(round));
            }
            r.addProperty("max_abs_diff_kiln_vs_ort", worst);
            int[] lengths = tok.encodeBatch(texts, maxLen).lengths();
            r.addProperty("padding_fraction_unsorted", padding(lengths, LengthBatches.batches(lengths, 32, false)));
            r.addProperty("padding_fraction_sorted", padding(lengths, LengthBatches.batches(lengths, 32, true)));
        }
    }

    // ---- (d) GPT-2 generation with the KV cache ----

    /**
     * Greedy generation with the KV cache from a randomly initialised GPT-2 of gpt2-small's shape (124M parameters;
     * no pretrained GPT-2 weights are reachable here, and the cost per token does not depend on the weights): a
     * 32-token prompt and 64 new tokens, no EOS, for one prompt and for a batch of 8.
     */
    static JsonArray generation(int rounds) {
        JsonArray out = new JsonArray();
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            dev.kiln.models.gpt2.Gpt2Config c = new dev.kiln.models.gpt2.Gpt2Config();
            dev.kiln.models.gpt2.Gpt2Model g = new dev.kiln.models.gpt2.Gpt2Model(c, new Parameters(m, 1, c.initializerRange));
            SplittableRandom rnd = new SplittableRandom(7);
            for (int batch : new int[] {1, 8}) {
                List<long[]> prompts = new ArrayList<>();
                for (int i = 0; i < batch; i++) prompts.add(rnd.longs(32, 0, c.vocabSize).toArray());
                dev.kiln.generate.GenerationOptions o = new dev.kiln.generate.GenerationOptions();
                o.maxNewTokens = 64;
                o.eosTokenId = null;
                JsonObject r = new JsonObject();
                r.addProperty("batch", batch);
                r.addProperty("prompt_tokens", 32);
                r.addProperty("new_tokens", o.maxNewTokens);
                JsonArray tps = new JsonArray();
                for (int round = 0; round <= rounds; round++) { // round 0 warms up
                    long t0 = System.nanoTime();
                    List<long[]> got;
                    try (dev.kiln.generate.Gpt2Lm lm = new dev.kiln.generate.Gpt2Lm(g, true)) {
                        got = dev.kiln.generate.Decoder.sampleOrGreedy(lm, prompts, o);
                    }
                    double secs = (System.nanoTime() - t0) / 1e9;
                    long tokens = got.stream().mapToLong(x -> x.length).sum();
                    if (round > 0) tps.add(tokens / secs);
                    System.err.printf("generation batch %d round %d: %d new tokens in %.2f s%n", batch, round, tokens, secs);
                }
                r.add("new_tokens_per_s", tps);
                out.add(r);
            }
        }
        return out;
    }

    /** ONNX Runtime on the same batches Kiln makes: tokenised the same way, mean-pooled and normalised in Java. */
    static float[][] ort(OrtEnvironment env, OrtSession s, Tokenizer tok, List<String> texts, int maxLen, boolean sort) throws Exception {
        Batch all = tok.encodeBatch(texts, maxLen); // tokenised once, as SentenceEncoder does
        float[][] out = new float[texts.size()][];
        for (int[] rows : LengthBatches.batches(all.lengths(), 32, sort)) {
            int w = 0;
            for (int i : rows) w = Math.max(w, all.lengths()[i]);
            long[][] bi = new long[rows.length][], bm = new long[rows.length][], bt = new long[rows.length][];
            for (int k = 0; k < rows.length; k++) {
                bi[k] = Arrays.copyOf(all.ids()[rows[k]], w);
                bm[k] = Arrays.copyOf(all.attentionMask()[rows[k]], w);
                bt[k] = Arrays.copyOf(all.typeIds()[rows[k]], w);
            }
            try (OnnxTensor ids = OnnxTensor.createTensor(env, bi);
                 OnnxTensor mask = OnnxTensor.createTensor(env, bm);
                 OnnxTensor types = OnnxTensor.createTensor(env, bt);
                 OrtSession.Result res = s.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
                float[][][] h = (float[][][]) res.get(0).getValue();
                for (int k = 0; k < rows.length; k++) {
                    float[] v = new float[h[k][0].length];
                    int cnt = 0;
                    for (int t = 0; t < h[k].length; t++) {
                        if (bm[k][t] == 0) continue;
                        cnt++;
                        for (int j = 0; j < v.length; j++) v[j] += h[k][t][j];
                    }
                    double norm = 0;
                    for (int j = 0; j < v.length; j++) {
                        v[j] /= Math.max(1, cnt);
                        norm += v[j] * v[j];
                    }
                    float inv = (float) (1 / Math.max(1e-12, Math.sqrt(norm)));
                    for (int j = 0; j < v.length; j++) v[j] *= inv;
                    out[rows[k]] = v;
                }
            }
        }
        return out;
    }

    static double padding(int[] lengths, List<int[]> batches) {
        long real = 0, padded = 0;
        for (int[] b : batches) {
            int w = 0;
            for (int i : b) {
                real += lengths[i];
                w = Math.max(w, lengths[i]);
            }
            padded += (long) w * b.length;
        }
        return 1 - real / (double) padded;
    }

}
