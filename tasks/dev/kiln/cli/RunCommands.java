package dev.kiln.cli;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import dev.kiln.Kiln;
import dev.kiln.train.DryRun;
import dev.kiln.train.RunReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Commands over training runs: train, evaluate, predict, export, prepare-quickstart. */
final class RunCommands {
    private RunCommands() {}

    @Command(name = "train", description = "Train from a JSON config (docs/config.md lists every key). Resumes the run "
            + "folder's newest checkpoint when there is one. Progress and a closing summary go to stderr; stdout gets "
            + "the result as one JSON object.",
            footerHeading = "%nExamples:%n", footer = {
                "  kiln train configs/quickstart.json",
                "  kiln train configs/sst2-minilm.json --set optimizer.lr=3e-5 --set training.epochs=1 --output runs/try",
                "  kiln train configs/sst2-minilm.json --dry-run",
                "  kiln train configs/sst2-minilm.json --devices gpu:0,gpu:1"})
    static final class Train extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "CONFIG", description = "a JSON config file")
        Path config;

        @Option(names = "--set", paramLabel = "KEY=VALUE", showDefaultValue = picocli.CommandLine.Help.Visibility.NEVER, description = "override a config key, e.g. training.epochs=3 (repeatable; the value is JSON when it parses as JSON)")
        List<String> sets = new ArrayList<>();

        @Option(names = "--output", paramLabel = "DIR", description = "the run folder (output.dir; default runs/CONFIG-NAME)")
        Path output;

        @Option(names = "--resume", description = "continue from the newest checkpoint (the default; accepted for clarity)")
        boolean resume;

        @Option(names = "--overwrite", description = "start the run folder over (removes only what a run writes) instead of resuming")
        boolean overwrite;

        @Option(names = "--quiet", description = "no progress or summary on stderr")
        boolean quiet;

        @Option(names = "--dry-run", description = "check config and data, time a few steps, estimate the run; writes nothing")
        boolean dryRun;

        @Option(names = "--devices", split = ",", paramLabel = "DEVICE[,DEVICE...]", description = "model.devices: train data-parallel, "
                + "one model replica per device and each batch split across them, e.g. gpu:0,gpu:1")
        List<String> devices;

        @Override
        protected int run(PrintStream out) throws IOException {
            if (!Files.isRegularFile(config)) throw usage("config file not found: " + config);
            if (threads != null) sets.add("training.threads=" + threads);
            if (devices != null) sets.add("model.devices=" + new Gson().toJson(devices));
            Kiln.Training t = Kiln.training(config).set(sets.toArray(String[]::new)).console(System.err);
            if (output != null) t.output(output);
            if (quiet) t.quiet();
            if (dryRun) {
                DryRun d = t.dryRun();
                if (!quiet) System.err.println(d.report());
                out.println(d.toJson());
                return 0;
            }
            if (overwrite) t.overwrite();
            Kiln.Run run = t.run();
            JsonObject r = new JsonObject();
            r.addProperty("run_dir", run.dir().toString());
            r.addProperty("steps", run.result().steps);
            JsonObject ev = new JsonObject();
            run.result().lastEval.forEach(ev::addProperty);
            r.add("final_eval", ev);
            if (run.result().bestEval != null) {
                JsonObject b = new JsonObject();
                run.result().bestEval.forEach(b::addProperty);
                r.add("best_eval", b);
            }
            out.println(r);
            return 0;
        }
    }

    /** How evaluate and predict read data: the run's own settings, with these over them. */
    static final class DataArgs {
        @Option(names = "--format", paramLabel = "FORMAT", description = "data.format, e.g. jsonl, csv, tsv, csv-headerless, conll (default: the run's)")
        String format;

        @Option(names = "--encoding", paramLabel = "CHARSET", description = "data.encoding, e.g. iso-8859-1 (default: the run's)")
        String encoding;

        @Option(names = "--set", paramLabel = "data.KEY=VALUE", description = "any other data key of the run's config, e.g. "
                + "data.text_field=review, data.label_field=0 (a column index in headerless formats); repeatable")
        List<String> sets = new ArrayList<>();

        Map<String, String> options(KilnCli.KilnCommand cmd) {
            Map<String, String> o;
            try {
                o = dev.kiln.train.DataOptions.parseSets(sets);
            } catch (IllegalArgumentException e) {
                throw cmd.usage(e.getMessage());
            }
            if (format != null) o.put("format", format);
            if (encoding != null) o.put("encoding", encoding);
            return o;
        }
    }

    /** Inference batch size for evaluate and predict: the predictor's own unless given (the output does not depend on it). */
    static final class BatchArg {
        @Option(names = "--batch-size", paramLabel = "N", description = "inputs per forward pass, sorted by length "
                + "(default: the task's own; predictions do not depend on it)")
        Integer batchSize;

        /** The size on this thread while the scope is open; validated first. */
        dev.kiln.inference.LengthBatches.Scope scope(KilnCli.KilnCommand cmd) {
            if (batchSize == null) return () -> {};
            if (batchSize < 1) throw cmd.usage("--batch-size " + batchSize + ": expected a whole number of at least 1");
            return dev.kiln.inference.LengthBatches.withSize(batchSize);
        }
    }

    @Command(name = "evaluate", description = "Metrics of a run's model on a labelled file, as one JSON object on stdout and "
            + "a summary line on stderr. The file is read with the run's data settings, or with the data options given here.",
            footerHeading = "%nExamples:%n", footer = {
                "  kiln evaluate runs/quickstart --data ~/.kiln/data/quickstart/dev.jsonl",
                "  kiln evaluate runs/ag-news --data test.csv --format csv-headerless --set data.text_field=2 --set data.label_field=0"})
    static final class Evaluate extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "RUN", description = "a run directory or model folder")
        Path dir;

        @Option(names = "--data", required = true, paramLabel = "FILE", description = "labelled data")
        Path data;

        @picocli.CommandLine.Mixin
        DataArgs dataArgs;

        @picocli.CommandLine.Mixin
        BatchArg batch;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE", description = ModelCommands.DEVICE)
        String device;

        @Override
        protected int run(PrintStream out) throws IOException {
            if (!Files.isRegularFile(data)) throw usage("--data file not found: " + data);
            long t0 = System.nanoTime();
            Map<String, Object> m;
            try (var b = batch.scope(this)) {
                m = Kiln.evaluate(dir, data, device, dataArgs.options(this));
            }
            out.println(new Gson().toJson(m));
            System.err.println(RunReport.evaluation(m, (System.nanoTime() - t0) / 1e9));
            return 0;
        }
    }

    @Command(name = "predict", description = "Predictions of a run's model: one input per line (plain text or a JSON "
            + "object such as {\"text\": ..}; classification also reads the run's data.text_field, or the field "
            + "--set data.text_field names), one JSON line out per input.",
            footerHeading = "%nExample:%n", footer = "  echo 'A fine film.' | kiln predict runs/quickstart")
    static final class Predict extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "RUN", description = "a run directory or model folder")
        Path dir;

        @Option(names = "--input", defaultValue = "-", paramLabel = "FILE", description = "input lines; - is stdin")
        String input;

        @picocli.CommandLine.Mixin
        DataArgs dataArgs;

        @picocli.CommandLine.Mixin
        BatchArg batch;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE", description = ModelCommands.DEVICE)
        String device;

        @Override
        protected int run(PrintStream out) throws IOException {
            if (!input.equals("-") && !Files.isRegularFile(Path.of(input))) throw usage("--input file not found: " + input);
            try (BufferedReader in = input.equals("-")
                    ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                    : Files.newBufferedReader(Path.of(input))) {
                long t0 = System.nanoTime();
                long[] lines = {0};
                // one JSON line out per example: counted for the examples/s on stderr (stdout stays pure JSON lines)
                PrintStream counted = new PrintStream(new java.io.FilterOutputStream(out) {
                    @Override public void write(int b) throws IOException {
                        if (b == '\n') lines[0]++;
                        out.write(b);
                    }
                }, true, StandardCharsets.UTF_8);
                try (var b = batch.scope(this)) {
                    Kiln.predict(dir, device, in, counted, dataArgs.options(this));
                }
                counted.flush();
                double secs = (System.nanoTime() - t0) / 1e9;
                System.err.printf(java.util.Locale.ROOT, "kiln: predicted %d examples in %.2f s (%.1f examples/s)%n",
                        lines[0], secs, lines[0] / Math.max(1e-9, secs));
            }
            return 0;
        }
    }

    @Command(name = "sweep", description = "Hyperparameter search over any config key (grid, random or TPE; median or "
            + "ASHA pruning). DIR/trials/NNN are ordinary run folders; results.md, results.jsonl, sweep.png, best and "
            + "summary.json sit beside them. The same command resumes a killed sweep. The sweep file's keys: docs/sweep.md.",
            footerHeading = "%nExamples:%n", footer = {
                "  kiln sweep sweep.json --output sweeps/trec",
                "  kiln sweep sweep.json --dry-run"})
    static final class Sweep extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "SWEEP", description = "a sweep file (JSON)")
        Path file;

        @Option(names = "--output", paramLabel = "DIR", description = "the sweep folder (required unless --dry-run)")
        Path output;

        @Option(names = "--dry-run", description = "print the planned trials and the estimated time; writes nothing")
        boolean dryRun;

        @Override
        protected int run(PrintStream out) throws IOException {
            if (!Files.isRegularFile(file)) throw usage("sweep file not found: " + file);
            return dev.kiln.sweep.SweepCommand.run(file, output, dryRun, out, System.err);
        }
    }

    @Command(name = "runs", description = "Compare runs side by side: status, steps, training time, best and final dev "
            + "metrics, and every config key whose value differs (defaults included).",
            footerHeading = "%nExample:%n", footer = "  kiln runs runs/sst2-lr1e-4 runs/sst2-lr3e-5 runs/sst2-lr5e-5")
    static final class Runs extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "RUN", arity = "1..*", description = "run directories")
        List<Path> dirs;

        @Option(names = "--json", description = "one JSON object instead of the table")
        boolean json;

        @Override
        protected int run(PrintStream out) throws IOException {
            dev.kiln.train.RunComparison c = Kiln.compare(dirs);
            if (json) out.println(c.toJson());
            else out.print(c.toText());
            return 0;
        }
    }

    @Command(name = "export", description = "Copy a run's model as a HF folder (config.json, model.safetensors, tokenizer, "
            + "kiln_task.json) into a new DIR.",
            footerHeading = "%nExample:%n", footer = "  kiln export runs/quickstart --to exported/quickstart")
    static final class Export extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "RUN", description = "a run directory or model folder")
        Path dir;

        @Option(names = "--to", required = true, paramLabel = "DIR", description = "a new or empty folder")
        Path to;

        @Option(names = "--merge", description = "fold a PEFT adapter (LoRA) into the base weights")
        boolean merge;

        @Override
        protected int run(PrintStream out) throws IOException {
            out.println(Kiln.export(dir, to, merge));
            return 0;
        }
    }

    @Command(name = "average", description = "Average the weights of a run's last N checkpoints (checkpoints/step-*/model) "
            + "into a new model folder DIR, which evaluate/predict/export take like any run's model.",
            footerHeading = "%nExample:%n",
            footer = "  kiln average runs/summarize-bert2bert-minilm --last 2 --to runs/summarize-bert2bert-minilm/averaged")
    static final class Average extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "RUN", description = "a run directory with checkpoints/")
        Path run;

        @Option(names = "--last", defaultValue = "2", paramLabel = "N",
                description = "how many of the newest checkpoints (checkpointing.keep_last must be at least N)")
        int last;

        @Option(names = "--to", required = true, paramLabel = "DIR", description = "a new or empty folder")
        Path to;

        @Override
        protected int run(PrintStream out) throws IOException {
            java.util.List<Long> steps = dev.kiln.train.CheckpointAverage.write(run, last, to);
            System.err.println("kiln average: steps " + steps + " -> " + to);
            out.println(to);
            return 0;
        }
    }

    @Command(name = "prepare-quickstart", description = "Write the quick-start sentiment data under $KILN_HOME/data/quickstart; prints its folder.",
            footerHeading = "%nExample:%n", footer = "  kiln prepare-quickstart")
    static final class PrepareQuickstart extends KilnCli.KilnCommand {
        @Override
        protected int run(PrintStream out) throws IOException {
            out.println(Kiln.quickstartData());
            return 0;
        }
    }
}
