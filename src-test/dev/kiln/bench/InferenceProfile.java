package dev.kiln.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.inference.LengthBatches;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.bert.BertModel;
import dev.kiln.text.Batch;
import dev.kiln.text.Tokenizer;
import dev.kiln.util.Threads;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where BERT's no-grad forward spends its time, and what the inference path saves: the first N SST-2 sentences in
 * length-sorted (or input-order) batches of 32 through all-MiniLM-L6-v2 (dropout 0), timed in alternated rounds as
 * {@code forward(training=false)} (the inference path) and {@code forward(training=true)} (the training-mode path,
 * which with dropout 0 computes the same function op by op), then one pass of each under libtorch's profiler, self
 * time by op. A developer's tool (not run by the suite): {@code scripts/bench-throughput} reports the end result.
 *
 * <p>usage: InferenceProfile [--texts 500] [--rounds 3] [--threads 1] [--model all-MiniLM-L6-v2] [--sorted true]
 * [--work DIR]
 */
public final class InferenceProfile {
    private InferenceProfile() {}

    public static void main(String[] args) throws Exception {
        java.util.Map<String, String> a = new java.util.HashMap<>(java.util.Map.of("--texts", "500", "--rounds", "3",
                "--threads", "1", "--model", "all-MiniLM-L6-v2", "--work", "runs/bench-throughput", "--sorted", "true"));
        for (int i = 0; i < args.length; i++) a.put(args[i], args[++i]);
        Threads.set(Integer.parseInt(a.get("--threads")));
        int n = Integer.parseInt(a.get("--texts")), rounds = Integer.parseInt(a.get("--rounds"));
        Path work = Paths.get(a.get("--work")).toAbsolutePath();
        Files.createDirectories(work);
        List<String> texts = new ArrayList<>();
        for (String l : Files.readAllLines(Paths.get("..", "shared", "datasets", "sst2", "stsa.binary.train"))) {
            if (texts.size() == n) break;
            texts.add(l.substring(2));
        }
        Path dir = ModelZoo.resolve(a.get("--model"));
        JsonObject noDropout = new JsonObject();
        noDropout.addProperty("hidden_dropout_prob", 0.0);
        noDropout.addProperty("attention_probs_dropout_prob", 0.0);
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly(), noDropout);
            Batch b = tok.encodeBatch(texts, bert.config.maxPositionEmbeddings);
            List<int[]> batches = LengthBatches.batches(b.lengths(), 32, Boolean.parseBoolean(a.get("--sorted")));
            pass(bert, b, batches, false);
            pass(bert, b, batches, true);
            // paired: each batch runs both ways back to back (order alternating), so load swings hit both alike
            double[] fast = new double[rounds], ref = new double[rounds];
            List<Double> ratios = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < batches.size(); i++) {
                    List<int[]> one = List.of(batches.get(i));
                    boolean fastFirst = (r + i) % 2 == 0;
                    double x = fastFirst ? pass(bert, b, one, false) : 0, y = pass(bert, b, one, true);
                    if (!fastFirst) x = pass(bert, b, one, false);
                    fast[r] += x;
                    ref[r] += y;
                    ratios.add(y / x);
                }
                System.err.printf("round %d: inference path %.1f sentences/s, training-mode path %.1f%n", r + 1,
                        texts.size() / fast[r], texts.size() / ref[r]);
            }
            Arrays.sort(fast);
            Arrays.sort(ref);
            ratios.sort(null);
            System.out.printf("median: inference path %.1f sentences/s, training-mode path %.1f; per-batch speed-up median %.3fx "
                            + "(quartiles %.3f-%.3f, %d pairs; load %s)%n",
                    texts.size() / fast[rounds / 2], texts.size() / ref[rounds / 2], ratios.get(ratios.size() / 2),
                    ratios.get(ratios.size() / 4), ratios.get(3 * ratios.size() / 4), ratios.size(),
                    Files.readString(Path.of("/proc/loadavg")).trim());
            for (boolean training : new boolean[] {false, true}) {
                Path trace = work.resolve("inference-profile-" + (training ? "training-mode" : "inference") + ".json");
                ai.djl.pytorch.jni.JniUtils.startProfile(false, false, false);
                pass(bert, b, batches, training);
                ai.djl.pytorch.jni.JniUtils.stopProfile(trace.toString());
                System.out.println((training ? "training-mode path" : "inference path") + ", self ms by op:");
                StepProfile.byOp(trace).forEach((op, ms) -> System.out.printf("  %-32s %9.1f%n", op, ms));
            }
        }
    }

    /** Seconds for one pass over the batches. */
    static double pass(BertModel bert, Batch b, List<int[]> batches, boolean training) {
        long t0 = System.nanoTime();
        for (int[] rows : batches) {
            int w = 0;
            for (int r : rows) w = Math.max(w, b.lengths()[r]);
            long[][] ids = new long[rows.length][], att = new long[rows.length][], types = new long[rows.length][];
            for (int k = 0; k < rows.length; k++) {
                ids[k] = Arrays.copyOf(b.ids()[rows[k]], w);
                att[k] = Arrays.copyOf(b.attentionMask()[rows[k]], w);
                types[k] = Arrays.copyOf(b.typeIds()[rows[k]], w);
            }
            try (NDManager m = bert.params.manager().newSubManager()) {
                NDArray h = bert.forward(m.create(ids), m.create(types), m.create(att), training).lastHiddenState;
                h.toFloatArray();
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }
}
