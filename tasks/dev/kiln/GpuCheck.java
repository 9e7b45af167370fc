package dev.kiln;

import ai.djl.engine.Engine;
import dev.kiln.train.Trainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What {@code scripts/gpu-check} runs in one JVM: (1) parity of device against CPU outputs on the zoo models,
 * (2) fp16-mixed training of MiniLM on the quick start, (3) training tokens/s of MiniLM on 1 and N devices
 * ({@code model.devices}) with the scaling efficiency. Prints Markdown to stdout; progress to stderr.
 *
 * <p>{@code --cpu} is the dry mode that runs every part on this machine with tiny settings: the device is the CPU,
 * parity compares the CPU with itself, the fp16 part trains in fp32 (fp16 needs a GPU), and the scaling part puts
 * N replicas on the one CPU device with the same global batch, which measures the replicas' overhead, not a speed-up.
 *
 * <p>usage: GpuCheck [--cpu] [--devices gpu:0,gpu:1] [--steps 30] [--batch 32] [--sst2 FILE] [--work DIR]
 */
public final class GpuCheck {
    private GpuCheck() {}

    public static void main(String[] args) throws IOException {
        boolean cpu = false;
        List<String> devices = null;
        int steps = 30, batch = 32, maxLength = 64;
        Path sst2 = Path.of("../shared/datasets/sst2/stsa.binary.train"), work = Path.of("runs/gpu-check");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cpu" -> cpu = true;
                case "--devices" -> devices = Arrays.asList(args[++i].split(","));
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--sst2" -> sst2 = Path.of(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("gpu-check: unknown argument '" + args[i] + "'");
            }
        }
        int gpus = Engine.getInstance().getGpuCount();
        if (devices == null) {
            devices = new ArrayList<>();
            if (cpu) devices.addAll(List.of("cpu", "cpu"));
            else for (int g = 0; g < gpus; g++) devices.add("gpu:" + g);
        }
        if (!cpu && gpus == 0) throw new IllegalArgumentException("gpu-check: PyTorch sees no GPU here; use --cpu for the dry mode");
        Files.createDirectories(work);
        StringBuilder md = new StringBuilder();
        String dev0 = devices.get(0);
        md.append(String.format(Locale.ROOT, "Devices: %s (%d GPU(s) visible to PyTorch)%s.%n%n", String.join(", ", devices), gpus,
                cpu ? "; **CPU dry mode**: checks the script end to end, the numbers are not GPU numbers" : ""));
        parity(md, dev0, cpu, work);
        fp16(md, dev0, cpu, work, Math.max(2, steps));
        scaling(md, devices, cpu, work, sst2, steps, batch, maxLength);
        System.out.print(md);
    }

    private static final List<String> SENTENCES = List.of("the film is a quiet triumph .", "a dull , lifeless mess .",
            "Kiln trains BERT and GPT-2 models on the JVM.", "short", "an unexpectedly moving story about two brothers "
                    + "who never learned to talk to each other , told with patience and wit .");

    /** Raw (unnormalised) mean-pooled vectors of the encoders and GPT-2 log-probabilities, device against CPU. */
    private static void parity(StringBuilder md, String device, boolean cpu, Path work) {
        md.append("| model | output compared | max abs difference vs CPU | max abs value |\n|---|---|---:|---:|\n");
        for (String model : List.of("all-MiniLM-L6-v2", "bert-base-uncased")) {
            try (Kiln.Encoder c = Kiln.encoder(model, "cpu").raw(); Kiln.Encoder g = Kiln.encoder(model, device).raw()) {
                float[][] a = c.encode(SENTENCES), b = g.encode(SENTENCES);
                double diff = 0, max = 0;
                for (int i = 0; i < a.length; i++) {
                    for (int j = 0; j < a[i].length; j++) {
                        diff = Math.max(diff, Math.abs(a[i][j] - b[i][j]));
                        max = Math.max(max, Math.abs(a[i][j]));
                    }
                }
                md.append(String.format(Locale.ROOT, "| %s | mean-pooled hidden states, %d sentences | %.2e | %.2f |%n",
                        model, SENTENCES.size(), diff, max));
            } catch (IOException | RuntimeException e) {
                md.append("| ").append(model).append(" | skipped: ").append(oneLine(e)).append(" | | |\n");
            }
            System.err.println("gpu-check: parity " + model + " done");
        }
        String gpt2 = "gpt2";
        try {
            long[] ids = {464, 3290, 318, 257, 1332, 286, 262, 6334, 1080, 13};
            // no GPT-2 in the zoo: a random one (GPT-2 small's shape, fixed seed) checks the same kernels
            Path random = work.resolve("gpt2-random");
            if (!Files.isRegularFile(random.resolve("config.json"))) {
                dev.kiln.models.gpt2.Gpt2Init.write(random, new dev.kiln.models.gpt2.Gpt2Config(), 1);
            }
            gpt2 = "GPT-2 small shape, random weights";
            var a = Kiln.score(random.toString(), ids, "cpu");
            var b = Kiln.score(random.toString(), ids, device);
            double diff = 0, max = 0;
            for (int i = 0; i < a.logprobs().length; i++) {
                diff = Math.max(diff, Math.abs(a.logprobs()[i] - b.logprobs()[i]));
                max = Math.max(max, Math.abs(a.logprobs()[i]));
            }
            md.append(String.format(Locale.ROOT, "| %s | token log-probabilities, %d tokens | %.2e | %.2f |%n", gpt2, ids.length, diff, max));
        } catch (IOException | RuntimeException e) {
            md.append("| ").append(gpt2).append(" | skipped: ").append(oneLine(e)).append(" | | |\n");
        }
        if (cpu) md.append("\n(CPU dry mode: the CPU is compared with itself, so 0 is expected.)\n");
        md.append('\n');
    }

    /** The quick start (all-MiniLM-L6-v2 on the quick-start sentiment data) in fp16-mixed for a few steps. */
    private static void fp16(StringBuilder md, String device, boolean cpu, Path work, int steps) throws IOException {
        Path out = work.resolve("fp16-quickstart");
        Kiln.Training t = Kiln.training(Path.of("configs/quickstart.json")).output(out).overwrite().quiet()
                .set("model.device=" + device, "training.max_steps=" + steps, "checkpointing.keep_best=false",
                        "precision.mode=" + (cpu ? "fp32" : "fp16-mixed"), "logging.tensorboard=false", "logging.plot=false");
        Kiln.Run r = t.run();
        Trainer.Result res = r.result();
        md.append(String.format(Locale.ROOT, "Quick start (all-MiniLM-L6-v2, %s) for %d steps on %s: %d skipped steps, final loss %.4f, "
                        + "dev accuracy %s, %.0f tokens/s%s.%n%n", cpu ? "fp32: fp16-mixed needs a GPU" : "fp16-mixed", res.steps, device,
                res.skippedSteps, res.finalLoss, r.finalEval().containsKey("accuracy")
                        ? String.format(Locale.ROOT, "%.3f", r.finalEval().get("accuracy")) : "n/a",
                res.tokensPerSecond, cpu ? " (CPU dry mode)" : ""));
        System.err.println("gpu-check: quick start done");
    }

    /**
     * MiniLM classification on SST-2, timed on the first device alone and on all of them, sides alternated over two
     * rounds, median seconds per step after two warm-up steps. GPUs: each device keeps {@code batch} examples (global
     * batch batch·N), so efficiency = tokens/s(N) / (N · tokens/s(1)). CPU dry mode: the same global batch on both
     * sides, so the ratio is the cost of the replicas (splitting, reduction, broadcast) on one device.
     */
    private static void scaling(StringBuilder md, List<String> devices, boolean cpu, Path work, Path sst2, int steps, int batch,
                                int maxLength) throws IOException {
        int n = devices.size();
        List<String> lines = Files.readAllLines(sst2, StandardCharsets.UTF_8);
        Path train = work.resolve("sst2-slice.txt");
        Files.write(train, lines.subList(0, Math.min(lines.size(), (steps + 1) * batch * n)), StandardCharsets.UTF_8);
        List<List<Double>> secs = List.of(new ArrayList<>(), new ArrayList<>());
        List<List<Double>> toks = List.of(new ArrayList<>(), new ArrayList<>());
        for (int round = 0; round < 2; round++) {
            for (int side = 0; side < 2; side++) {
                List<String> use = side == 0 ? devices.subList(0, 1) : devices;
                int b = cpu || side == 0 ? batch : batch * n;
                Path out = work.resolve("scaling-" + side);
                        List<Trainer.StepStats> stats = new ArrayList<>();
                Kiln.Training t = Kiln.training("{\"model\": {\"name\": \"all-MiniLM-L6-v2\", \"devices\": "
                                + new com.google.gson.Gson().toJson(use) + "}, \"task\": {\"type\": \"classification\"},"
                                + " \"data\": {\"train\": " + new com.google.gson.Gson().toJson(train.toAbsolutePath().toString())
                                + ", \"format\": \"label-first\", \"max_length\": " + maxLength + "},"
                                + " \"training\": {\"max_steps\": " + steps + ", \"batch_size\": " + b + ", \"eval_each_epoch\": false},"
                                + " \"precision\": {\"mode\": \"" + (cpu ? "fp32" : "fp16-mixed") + "\"},"
                                + " \"logging\": {\"tensorboard\": false, \"plot\": false, \"progress\": \"off\"},"
                                + " \"checkpointing\": {\"keep_last\": 1, \"keep_best\": false}}")
                        .output(out).overwrite().quiet().listener(new Trainer.Listener() {
                            @Override
                            public void onStep(long step, int epoch, Trainer.StepStats s) {
                                stats.add(s);
                            }
                        });
                t.run();
                for (Trainer.StepStats s : stats.subList(Math.min(2, stats.size() - 1), stats.size())) {
                    secs.get(side).add(s.seconds());
                    toks.get(side).add((double) s.tokens());
                }
                System.err.printf(Locale.ROOT, "gpu-check: scaling round %d, %d device(s) done%n", round + 1, use.size());
            }
        }
        double[] tps = new double[2];
        double[] step = new double[2];
        for (int side = 0; side < 2; side++) {
            step[side] = median(secs.get(side));
            tps[side] = mean(toks.get(side)) / step[side];
        }
        md.append("| devices | examples per step | median s/step | tokens/s | ")
                .append(cpu ? "time vs 1 replica (same batch) |" : "scaling efficiency |").append("\n|---|---:|---:|---:|---:|\n");
        md.append(String.format(Locale.ROOT, "| %s | %d | %.3f | %.0f | 1.00 |%n", devices.get(0), batch, step[0], tps[0]));
        md.append(String.format(Locale.ROOT, "| %s | %d | %.3f | %.0f | %.2f |%n", String.join(", ", devices), cpu ? batch : batch * n,
                step[1], tps[1], cpu ? step[1] / step[0] : tps[1] / (n * tps[0])));
        md.append(String.format(Locale.ROOT, "%nall-MiniLM-L6-v2 classification on SST-2 sentences, max_length %d, %s, %d steps per run "
                + "(median after 2 warm-up steps), two rounds with the sides alternated.%n", maxLength, cpu ? "fp32" : "fp16-mixed", steps));
    }

    private static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static double mean(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    }

    private static String oneLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return (nl < 0 ? m : m.substring(0, nl)).replace('|', '/');
    }
}
