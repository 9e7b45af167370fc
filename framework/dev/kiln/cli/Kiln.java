package dev.kiln.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.inference.FillMask;
import dev.kiln.inference.LmScorer;
import dev.kiln.inference.SentenceEncoder;
import dev.kiln.text.Tokenizer;
import dev.kiln.util.Devices;
import dev.kiln.config.RunConfig;
import dev.kiln.train.Runs;
import java.util.Map;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code kiln} command line. Output goes to stdout as JSON lines; errors are one line on stderr
 * naming the thing at fault, with exit code 2 for bad input.
 */
public final class Kiln {
    private Kiln() {}

    /** A user error: reported as one line, exit code 2. */
    public static final class UsageException extends RuntimeException {
        public UsageException(String msg) {
            super(msg);
        }
    }

    static final String USAGE = String.join("\n",
            "usage: kiln <command> [args]",
            "  fetch-model NAME                         import a zoo model (" + String.join(", ", ModelZoo.names()) + "); prints its folder",
            "  import --format onnx|tf-savedmodel SRC --to DIR",
            "  encode MODEL TEXT [--pooling mean|cls] [--normalize] [--device D]",
            "  fill-mask MODEL TEXT [--top-k 5] [--device D]",
            "  score MODEL (--text TEXT | --ids 1,5,42) [--device D]",
            "  generate MODEL --prompt TEXT [--max-new-tokens 50] [--num-beams 1] [--do-sample] [--temperature 1]",
            "           [--top-k 0] [--top-p 1] [--seed 42] [--no-repeat-ngram-size 0] [--length-penalty 1] [--min-new-tokens 0]",
            "           [--early-stopping] [--sliding-window]",
            "  train CONFIG [--set key.path=value]... [--output DIR] [--resume] [--overwrite] [--quiet] [--dry-run]",
            "                                   --dry-run: check config and data, time a few steps, estimate, write nothing",
            "  predict RUN_OR_MODEL_DIR [--input FILE|-] [--device D]   JSON lines in, JSON lines out",
            "  evaluate RUN_OR_MODEL_DIR --data FILE [--device D]        metrics as one JSON object",
            "  export RUN_OR_MODEL_DIR --to DIR [--merge]                 copy the model as a HF folder; --merge folds a PEFT adapter in",
            "  " + dev.kiln.sweep.SweepCommand.USAGE,
            "  prepare-quickstart                                         write the quick-start data; prints its folder",
            "  init-gpt2 DIR [--n-layer 4] [--n-embd 256] [--n-head 4] [--n-positions 512] [--seed 42]",
            "                                   a new random-init GPT-2 folder with the GPT-2 BPE (training from scratch)",
            "MODEL is a zoo name or a HuggingFace model folder; D is auto, cpu, gpu or gpu:N.",
            "Any command takes --threads N: libtorch's intra-op threads (default: one per core; on busy shared cores fewer are faster).");

    public static void main(String[] args) {
        int code;
        try {
            code = run(args, System.out);
        } catch (UsageException | IllegalArgumentException e) {
            System.err.println("kiln: " + e.getMessage());
            code = 2;
        } catch (IOException e) {
            System.err.println("kiln: " + dev.kiln.util.IoErrors.describe(e));
            code = 2;
        }
        System.out.flush();
        System.exit(code);
    }

    public static int run(String[] argv, PrintStream out) throws IOException {
        if (argv.length == 0 || argv[0].equals("-h") || argv[0].equals("--help") || argv[0].equals("help")) {
            out.println(USAGE);
            return argv.length == 0 ? 2 : 0;
        }
        Args a = new Args(Arrays.copyOfRange(argv, 1, argv.length));
        if (!argv[0].equals("train")) { // train takes it as training.threads, part of the run's config
            String t = a.option("--threads", null);
            if (t != null) {
                if (!t.matches("[1-9][0-9]{0,3}")) throw new UsageException("--threads '" + t + "': expected a whole number of at least 1");
                dev.kiln.util.Threads.set(Integer.parseInt(t));
            }
        }
        switch (argv[0]) {
            case "fetch-model": return fetchModel(a, out);
            case "import": return importModel(a, out);
            case "encode": return encode(a, out);
            case "fill-mask": return fillMask(a, out);
            case "score": return score(a, out);
            case "generate": return generate(a, out);
            case "train": return train(a, out);
            case "predict": return predict(a, out);
            case "evaluate": return evaluate(a, out);
            case "export": return export(a, out);
            case "prepare-quickstart": return prepareQuickstart(a, out);
            case "init-gpt2": return initGpt2(a, out);
            case "sweep": return dev.kiln.sweep.SweepCommand.run(Arrays.asList(argv).subList(1, argv.length), out, System.err);
            default: throw new UsageException("unknown command '" + argv[0] + "'\n" + USAGE);
        }
    }

    static int export(Args a, PrintStream out) throws IOException {
        String to = a.option("--to", null);
        boolean merge = a.flag("--merge");
        String src = a.positional(0, "RUN_OR_MODEL_DIR");
        a.done();
        if (to == null) throw new UsageException("export: --to DIR is required");
        out.println(dev.kiln.Kiln.export(Paths.get(src), Paths.get(to), merge));
        return 0;
    }

    static int fetchModel(Args a, PrintStream out) throws IOException {
        String name = a.positional(0, "NAME");
        a.done();
        out.println(ModelZoo.resolve(name));
        return 0;
    }

    static int importModel(Args a, PrintStream out) throws IOException {
        String format = a.option("--format", null);
        String to = a.option("--to", null);
        String src = a.positional(0, "SRC");
        a.done();
        if (format == null) throw new UsageException("import: --format onnx|tf-savedmodel is required");
        if (to == null) throw new UsageException("import: --to DIR is required");
        if (!format.equals("onnx") && !format.equals("tf-savedmodel")) {
            throw new UsageException("import: --format '" + format + "' (expected onnx or tf-savedmodel)");
        }
        Path srcPath = Paths.get(src);
        if (!Files.exists(srcPath)) throw new UsageException("import: " + src + " does not exist");
        out.println(ModelZoo.importTo(format, srcPath, Paths.get(to)));
        return 0;
    }

    static int encode(Args a, PrintStream out) throws IOException {
        String model = a.positional(0, "MODEL");
        String text = a.positional(1, "TEXT");
        String pooling = a.option("--pooling", "mean");
        boolean normalize = a.flag("--normalize");
        String device = a.option("--device", "auto");
        a.done();
        if (!pooling.equals("mean") && !pooling.equals("cls")) {
            throw new UsageException("encode: --pooling '" + pooling + "' (expected mean or cls)");
        }
        Path dir = ModelZoo.resolve(model);
        try (NDManager m = NDManager.newBaseManager(Devices.parse(device));
             Tokenizer tok = Tokenizer.load(dir)) {
            BertModel bert = HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly());
            float[] v = SentenceEncoder.encode(bert, tok, List.of(text),
                    pooling.equals("mean") ? SentenceEncoder.Pool.MEAN : SentenceEncoder.Pool.CLS, normalize)[0];
            JsonArray arr = new JsonArray();
            for (float f : v) arr.add(f);
            out.println(arr);
        }
        return 0;
    }

    static int fillMask(Args a, PrintStream out) throws IOException {
        String model = a.positional(0, "MODEL");
        String text = a.positional(1, "TEXT");
        int topK = a.intOption("--top-k", 5);
        String device = a.option("--device", "auto");
        a.done();
        if (topK < 1) throw new UsageException("fill-mask: --top-k must be at least 1");
        Path dir = ModelZoo.resolve(model);
        try (NDManager m = NDManager.newBaseManager(Devices.parse(device));
             Tokenizer tok = Tokenizer.load(dir)) {
            BertModel.Heads heads = BertModel.Heads.encoderOnly();
            heads.mlm = true;
            BertModel bert = HfFolder.loadBert(dir, m, heads);
            for (FillMask.Candidate c : FillMask.predict(bert, tok, text, topK)) {
                JsonObject o = new JsonObject();
                o.addProperty("token", c.token());
                o.addProperty("score", Math.round(c.score() * 1e4) / 1e4);
                out.println(o);
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException("fill-mask: " + model + ": " + e.getMessage());
        }
        return 0;
    }

    static int score(Args a, PrintStream out) throws IOException {
        String model = a.positional(0, "MODEL");
        String text = a.option("--text", null);
        String idsArg = a.option("--ids", null);
        String device = a.option("--device", "auto");
        a.done();
        if ((text == null) == (idsArg == null)) throw new UsageException("score: give exactly one of --text TEXT or --ids 1,5,42");
        Path dir = ModelZoo.resolve(model);
        long[] ids;
        if (idsArg != null) {
            try {
                ids = Arrays.stream(idsArg.split(",")).map(String::trim).mapToLong(Long::parseLong).toArray();
            } catch (NumberFormatException e) {
                throw new UsageException("score: --ids '" + idsArg + "' is not a comma-separated list of integers");
            }
        } else {
            try (Tokenizer tok = Tokenizer.load(dir)) {
                ids = tok.encode(text, false).ids();
            }
        }
        try (NDManager m = NDManager.newBaseManager(Devices.parse(device))) {
            Gpt2Model gpt = HfFolder.loadGpt2(dir, m);
            LmScorer.Score s = LmScorer.score(gpt, ids);
            JsonObject o = new JsonObject();
            JsonArray idArr = new JsonArray();
            for (long id : s.ids()) idArr.add(id);
            JsonArray lpArr = new JsonArray();
            for (float x : s.logprobs()) lpArr.add(x);
            o.add("ids", idArr);
            o.add("logprobs", lpArr);
            o.addProperty("perplexity", s.perplexity());
            out.println(o);
        } catch (IllegalArgumentException e) {
            throw new UsageException("score: " + e.getMessage());
        }
        return 0;
    }

    static int generate(Args a, PrintStream out) throws IOException {
        String model = a.positional(0, "MODEL");
        String prompt = a.option("--prompt", null);
        String device = a.option("--device", "auto");
        if (prompt == null) throw new UsageException("generate: --prompt TEXT is required");
        try (dev.kiln.generate.Generator g = dev.kiln.generate.Generator.load(model, device)) {
            dev.kiln.generate.GenerationOptions o = g.defaults();
            o.maxNewTokens = a.intOption("--max-new-tokens", o.maxNewTokens);
            o.minNewTokens = a.intOption("--min-new-tokens", o.minNewTokens);
            o.numBeams = a.intOption("--num-beams", o.numBeams);
            o.noRepeatNgramSize = a.intOption("--no-repeat-ngram-size", o.noRepeatNgramSize);
            o.topK = a.intOption("--top-k", o.topK);
            o.doSample = a.flag("--do-sample");
            o.earlyStopping = a.flag("--early-stopping");
            o.slidingWindow = a.flag("--sliding-window");
            o.temperature = a.floatOption("--temperature", o.temperature);
            o.topP = a.floatOption("--top-p", o.topP);
            o.lengthPenalty = a.floatOption("--length-penalty", o.lengthPenalty);
            o.seed = a.intOption("--seed", (int) o.seed);
            a.done();
            out.println(g.generate(prompt, o));
        } catch (IllegalArgumentException e) {
            throw new UsageException("generate: " + e.getMessage());
        }
        return 0;
    }

    static int train(Args a, PrintStream out) throws IOException {
        String config = a.positional(0, "CONFIG");
        List<String> sets = new ArrayList<>(a.options("--set"));
        String output = a.option("--output", null);
        String threads = a.option("--threads", null);
        if (threads != null) sets.add("training.threads=" + threads);
        a.flag("--resume"); // resuming from the newest checkpoint is the default; the flag is accepted for clarity
        boolean quiet = a.flag("--quiet");
        boolean dry = a.flag("--dry-run");
        boolean overwrite = a.flag("--overwrite");
        a.done();
        Path cfgPath = Paths.get(config);
        if (!Files.isRegularFile(cfgPath)) throw new UsageException("train: config file not found: " + config);
        if (output != null) sets.add("output.dir=" + Paths.get(output).toAbsolutePath());
        dev.kiln.train.Tasks.all();
        RunConfig cfg = RunConfig.load(cfgPath, sets);
        if (dry) {
            dev.kiln.train.DryRun d = dev.kiln.train.DryRun.run(cfg);
            if (!quiet) System.err.println(d.report());
            out.println(d.toJson());
            return 0;
        }
        // starts a Kiln run folder over (its own entries only) instead of resuming it
        if (overwrite) dev.kiln.train.RunFolder.clear(cfg.output.dir);
        Runs.Outcome o = Runs.train(cfg, System.err, quiet);
        JsonObject r = new JsonObject();
        r.addProperty("run_dir", o.runDir().toString());
        r.addProperty("steps", o.result().steps);
        JsonObject ev = new JsonObject();
        o.result().lastEval.forEach(ev::addProperty);
        r.add("final_eval", ev);
        if (o.result().bestEval != null) {
            JsonObject b = new JsonObject();
            o.result().bestEval.forEach(b::addProperty);
            r.add("best_eval", b);
        }
        out.println(r);
        return 0;
    }

    static int predict(Args a, PrintStream out) throws IOException {
        String dir = a.positional(0, "RUN_OR_MODEL_DIR");
        String input = a.option("--input", "-");
        String device = a.option("--device", "auto");
        a.done();
        Path model = dev.kiln.train.TaskFolder.resolve(Paths.get(dir));
        String task = dev.kiln.train.TaskFolder.meta(model).get("task").getAsString();
        try (java.io.BufferedReader in = input.equals("-")
                ? new java.io.BufferedReader(new java.io.InputStreamReader(System.in, java.nio.charset.StandardCharsets.UTF_8))
                : openInput(input)) {
            long t0 = System.nanoTime();
            long[] lines = {0};
            // one JSON line out per example: count them for the examples/s on stderr (stdout stays pure JSON lines)
            PrintStream counted = new PrintStream(new java.io.FilterOutputStream(out) {
                @Override public void write(int b) throws IOException {
                    if (b == '\n') lines[0]++;
                    out.write(b);
                }
            }, true, java.nio.charset.StandardCharsets.UTF_8);
            dev.kiln.train.Tasks.get(task).predict(model, device, in, counted);
            counted.flush();
            double secs = (System.nanoTime() - t0) / 1e9;
            System.err.printf(java.util.Locale.ROOT, "kiln: predicted %d examples in %.2f s (%.1f examples/s)%n",
                    lines[0], secs, lines[0] / Math.max(1e-9, secs));
        }
        return 0;
    }

    private static java.io.BufferedReader openInput(String input) throws IOException {
        Path p = Paths.get(input);
        if (!Files.isRegularFile(p)) throw new UsageException("predict: --input file not found: " + input);
        return Files.newBufferedReader(p);
    }

    static int evaluate(Args a, PrintStream out) throws IOException {
        String dir = a.positional(0, "RUN_OR_MODEL_DIR");
        String data = a.option("--data", null);
        String device = a.option("--device", "auto");
        a.done();
        if (data == null) throw new UsageException("evaluate: --data FILE is required");
        Path d = Paths.get(data);
        if (!Files.isRegularFile(d)) throw new UsageException("evaluate: --data file not found: " + data);
        Path model = dev.kiln.train.TaskFolder.resolve(Paths.get(dir));
        String task = dev.kiln.train.TaskFolder.meta(model).get("task").getAsString();
        Map<String, Object> m = dev.kiln.train.Tasks.get(task).evaluate(model, device, d);
        out.println(new com.google.gson.Gson().toJson(m));
        return 0;
    }

    static int prepareQuickstart(Args a, PrintStream out) throws IOException {
        a.done();
        Path dir = dev.kiln.util.KilnHome.home().resolve("data").resolve("quickstart");
        dev.kiln.data.QuickstartData.Prepared p = dev.kiln.data.QuickstartData.prepare(dir);
        System.err.println("kiln: quick-start data: " + p.trainCount() + " train, " + p.devCount() + " dev sentences");
        out.println(dir);
        return 0;
    }

    static int initGpt2(Args a, PrintStream out) throws IOException {
        dev.kiln.models.gpt2.Gpt2Config c = new dev.kiln.models.gpt2.Gpt2Config();
        c.nLayer = a.intOption("--n-layer", 4);
        c.nEmbd = a.intOption("--n-embd", 256);
        c.nHead = a.intOption("--n-head", 4);
        c.nPositions = a.intOption("--n-positions", 512);
        long seed = a.intOption("--seed", 42);
        a.option("--device", "cpu"); // accepted like everywhere; the weights are written from the CPU
        String dir = a.positional(0, "DIR");
        a.done();
        if (c.nLayer < 1 || c.nEmbd < 1 || c.nHead < 1 || c.nPositions < 1) {
            throw new UsageException("init-gpt2: --n-layer, --n-embd, --n-head and --n-positions must be at least 1");
        }
        out.println(dev.kiln.models.gpt2.Gpt2Init.write(Paths.get(dir), c, seed).toAbsolutePath());
        return 0;
    }

    /** Minimal argument parsing: options may appear anywhere; the rest are positionals. */
    static final class Args {
        private final List<String> rest = new ArrayList<>(); // positionals
        private final List<String> raw;
        private final boolean[] used;

        Args(String[] argv) {
            raw = Arrays.asList(argv);
            used = new boolean[argv.length];
        }

        String option(String name, String dflt) {
            for (int i = 0; i < raw.size(); i++) {
                if (raw.get(i).equals(name)) {
                    if (i + 1 >= raw.size()) throw new UsageException(name + " needs a value");
                    used[i] = used[i + 1] = true;
                    return raw.get(i + 1);
                }
                if (raw.get(i).startsWith(name + "=")) {
                    used[i] = true;
                    return raw.get(i).substring(name.length() + 1);
                }
            }
            return dflt;
        }

        /** Every value of a repeatable option, in order. */
        List<String> options(String name) {
            List<String> vals = new ArrayList<>();
            for (int i = 0; i < raw.size(); i++) {
                if (raw.get(i).equals(name)) {
                    if (i + 1 >= raw.size()) throw new UsageException(name + " needs a value");
                    used[i] = used[i + 1] = true;
                    vals.add(raw.get(i + 1));
                    i++;
                }
            }
            return vals;
        }

        int intOption(String name, int dflt) {
            String v = option(name, null);
            if (v == null) return dflt;
            try {
                return Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new UsageException(name + " '" + v + "' is not an integer");
            }
        }

        float floatOption(String name, float dflt) {
            String v = option(name, null);
            if (v == null) return dflt;
            try {
                return Float.parseFloat(v);
            } catch (NumberFormatException e) {
                throw new UsageException(name + " '" + v + "' is not a number");
            }
        }

        boolean flag(String name) {
            for (int i = 0; i < raw.size(); i++) {
                if (raw.get(i).equals(name)) {
                    used[i] = true;
                    return true;
                }
            }
            return false;
        }

        String positional(int index, String what) {
            List<String> pos = positionals();
            if (index >= pos.size()) throw new UsageException("missing " + what);
            return pos.get(index);
        }

        private List<String> positionals() {
            // positionals are the tokens no option has claimed so far, in order
            List<String> pos = new ArrayList<>();
            for (int i = 0; i < raw.size(); i++) {
                String s = raw.get(i);
                if (used[i]) continue;
                if (s.startsWith("--") && i + 1 < raw.size() && !raw.get(i + 1).startsWith("--")) {
                    // an option not yet read: its value is not a positional
                    if (KNOWN_VALUED.contains(s)) { i++; continue; }
                }
                if (s.startsWith("--")) continue;
                pos.add(s);
            }
            return pos;
        }

        void done() {
            for (int i = 0; i < raw.size(); i++) {
                String s = raw.get(i);
                if (!used[i] && s.startsWith("--")) throw new UsageException("unknown option " + s);
            }
        }

        static final List<String> KNOWN_VALUED = List.of("--format", "--to", "--pooling", "--top-k", "--device",
                "--text", "--ids", "--set", "--output", "--input", "--data", "--prompt", "--max-new-tokens",
                "--min-new-tokens", "--num-beams", "--no-repeat-ngram-size", "--temperature", "--top-k", "--top-p",
                "--seed", "--length-penalty", "--n-layer", "--n-embd", "--n-head", "--n-positions");
    }

}
