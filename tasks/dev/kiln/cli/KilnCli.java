package dev.kiln.cli;

import dev.kiln.config.RunConfig;
import dev.kiln.config.Suggest;
import dev.kiln.util.IoErrors;
import dev.kiln.util.Versions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code kiln} command line, on picocli; every command calls the {@link dev.kiln.Kiln} facade. Results go to
 * stdout (JSON lines), progress and summaries to stderr; a user error is one line on stderr naming the thing at
 * fault, exit code 2.
 *
 * <p>Adding a command: a class extending {@link KilnCommand} with a {@code @Command(name = ...)} annotation, and
 * its class in {@link #COMMANDS}.
 */
@Command(name = "kiln", scope = CommandLine.ScopeType.INHERIT, mixinStandardHelpOptions = true, showDefaultValues = true,
        versionProvider = KilnCli.Version.class, sortOptions = false, usageHelpAutoWidth = true, usageHelpWidth = 100,
        description = "Train, evaluate and use BERT and GPT-2 models (DJL, PyTorch engine).",
        footerHeading = "%n",
        footer = {"MODEL is a zoo name or a HuggingFace model folder; RUN a run directory (its best/, else final/) "
                + "or a model folder; DEVICE is auto, cpu, gpu or gpu:N.",
                "kiln COMMAND --help shows a command's options, defaults and an example."})
public final class KilnCli {
    /** Every command, in the order the help lists them. */
    static final List<Class<?>> COMMANDS = List.of(
            RunCommands.Train.class, RunCommands.Evaluate.class, RunCommands.Predict.class, RunCommands.Runs.class,
            RunCommands.Export.class, RunCommands.Average.class, RunCommands.Sweep.class, RunCommands.PrepareQuickstart.class,
            ModelCommands.FetchModel.class, ModelCommands.Import.class, ModelCommands.Encode.class,
            ModelCommands.FillMaskCmd.class, ModelCommands.Score.class, ModelCommands.Generate.class,
            ModelCommands.InitGpt2.class);

    /** A user error: reported as one line, exit code 2. */
    public static final class UsageException extends RuntimeException {
        public UsageException(String msg) {
            super(msg);
        }
    }

    /** A command: picocli fills its fields; {@link #run} does the work with results to {@code out}. */
    public abstract static class KilnCommand {
        @CommandLine.Spec
        CommandSpec spec;

        @CommandLine.Option(names = "--threads", paramLabel = "N", description = "libtorch's intra-op threads (default: one per "
                + "core; on cores other jobs share, fewer are faster); train takes it as training.threads")
        Integer threads;

        protected abstract int run(PrintStream out) throws IOException;

        /** A usage error prefixed with the command's name. */
        protected UsageException usage(String msg) {
            return new UsageException(spec.name() + ": " + msg);
        }
    }

    /** {@code --version}: Kiln, DJL, PyTorch and Java. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "Kiln " + Versions.kiln(),
                "DJL " + Versions.djl(),
                "PyTorch " + Versions.pytorch(),
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }

    private KilnCli() {}

    public static void main(String[] args) {
        int code;
        // evaluation, prediction and other long steps say how far they are (plain lines on stderr)
        dev.kiln.log.Activity.reportTo(System.err::println);
        try {
            code = run(args, System.out);
        } catch (UsageException | IllegalArgumentException e) {
            System.err.println("kiln: " + e.getMessage());
            code = 2;
        } catch (IOException e) {
            System.err.println("kiln: " + IoErrors.describe(e));
            code = 2;
        }
        System.out.flush();
        System.exit(code);
    }

    static CommandLine commandLine(PrintStream out) {
        CommandLine cl = new CommandLine(new KilnCli());
        for (Class<?> c : COMMANDS) cl.addSubcommand(c);
        cl.addSubcommand(new CommandLine.HelpCommand());
        cl.setOut(new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExpandAtFiles(false); // "@user great phone" is a TEXT, not an argument file
        return cl;
    }

    /** Runs one command line; results to {@code out}; user errors are thrown (the tests catch them). */
    public static int run(String[] argv, PrintStream out) throws IOException {
        CommandLine cl = commandLine(out);
        ParseResult parsed;
        try {
            parsed = cl.parseArgs(argv);
        } catch (ParameterException e) {
            throw new UsageException(describe(e, argv));
        }
        if (CommandLine.printHelpIfRequested(parsed)) {
            cl.getOut().flush();
            return 0;
        }
        ParseResult leaf = parsed;
        while (leaf.subcommand() != null) leaf = leaf.subcommand();
        if (!(leaf.commandSpec().userObject() instanceof KilnCommand cmd)) {
            cl.usage(cl.getOut());
            cl.getOut().flush();
            return 2; // no command given
        }
        if (cmd.threads != null) {
            if (cmd.threads < 1) throw cmd.usage("--threads " + cmd.threads + ": expected a whole number of at least 1");
            // train records it in the run's config (training.threads); other commands set it now
            if (!(cmd instanceof RunCommands.Train)) dev.kiln.util.Threads.set(cmd.threads);
        }
        try {
            return cmd.run(out);
        } finally {
            out.flush();
        }
    }

    /** One line for a command-line mistake, with a did-you-mean where one is near. */
    static String describe(ParameterException e, String[] argv) {
        CommandLine at = e.getCommandLine();
        String cmd = at.getCommandSpec().parent() == null ? "" : at.getCommandName() + ": ";
        String help = at.getCommandSpec().parent() == null ? "kiln --help" : "kiln " + at.getCommandName() + " --help";
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            List<String> unmatched = u.getUnmatched();
            String first = unmatched.stream().filter(s -> s.startsWith("-")).findFirst().orElse(unmatched.get(0));
            if (at.getCommandSpec().parent() == null && !first.startsWith("-")) {
                List<String> names = new ArrayList<>(at.getSubcommands().keySet());
                return "unknown command '" + first + "'" + Suggest.didYouMean(Suggest.similar(first, names))
                        + "; kiln --help lists the commands";
            }
            if (first.startsWith("-")) return cmd + unknownOption(at, first, argv) + " (" + help + ")";
            return cmd + "unexpected argument '" + first + "' (" + help + ")";
        }
        if (e instanceof CommandLine.MissingParameterException m && !m.getMissing().isEmpty()) {
            List<String> what = new ArrayList<>();
            for (CommandLine.Model.ArgSpec a : m.getMissing()) {
                what.add(a.isOption() ? ((CommandLine.Model.OptionSpec) a).longestName() + " " + a.paramLabel() : a.paramLabel());
            }
            return cmd + "missing " + String.join(", ", what) + " (" + help + ")";
        }
        return cmd + e.getMessage() + " (" + help + ")";
    }

    /**
     * {@code unknown option '--ouput' (did you mean "--output"?)}; an option the command lacks whose name is a
     * config key (HF's {@code --num_train_epochs}, {@code --learning-rate}, {@code --epochs}) points at
     * {@code --set key=VALUE}.
     */
    static String unknownOption(CommandLine at, String typed, String[] argv) {
        String name = typed.contains("=") ? typed.substring(0, typed.indexOf('=')) : typed;
        List<String> options = new ArrayList<>(at.getCommandSpec().optionsMap().keySet());
        options.removeIf(o -> !o.startsWith("--"));
        List<String> near = Suggest.similar(name, options);
        String bare = name.replaceFirst("^-+", "");
        if (near.isEmpty() || !near.get(0).replaceFirst("^-+", "").equalsIgnoreCase(bare)) {
            List<String> keys = at.getCommandSpec().optionsMap().containsKey("--set") ? Suggest.configKey(bare, RunConfig.knownPaths()) : List.of();
            if (!keys.isEmpty() && (near.isEmpty() || keys.get(0).endsWith(bare.replace('-', '_')))) {
                String value = typed.contains("=") ? typed.substring(typed.indexOf('=') + 1) : valueAfter(argv, typed);
                return "unknown option '" + name + "'; config keys are set with --set " + keys.get(0) + "=" + value;
            }
        }
        return "unknown option '" + name + "'" + Suggest.didYouMean(near);
    }

    private static String valueAfter(String[] argv, String option) {
        for (int i = 0; i + 1 < argv.length; i++) {
            if (argv[i].equals(option) && !argv[i + 1].startsWith("--")) return argv[i + 1];
        }
        return "VALUE";
    }
}
