package dev.kiln.tasks.summarization;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.Kiln;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TinyModels;
import dev.kiln.cli.KilnCli;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --batch-size} for the summarization tasks' predict and evaluate: how many articles share a forward pass
 * (extractive) or a greedy decoding batch (bert2bert), sorted by length; the summaries, their order and the ROUGE
 * numbers are the same at 1 and at N, and evaluate reports examples/s. Tiny 2-step runs of a 1-layer BERT on ten
 * BBC articles of different lengths (skipped without ../shared).
 */
@ExtendWith(OneThreadWhenBusy.class)
class SummarizationBatchSizeTest {
    @TempDir
    static Path tmp;
    static Path data;
    static Path extractive;
    static Path bert2bert;

    @BeforeAll
    static void train() throws IOException {
        data = BbcSubset.write(tmp.resolve("bbc.jsonl"), 10);
        Path bert = TinyModels.bert(tmp.resolve("bert"), 1, 32, 5);
        extractive = train("ext", bert, "summarize-extractive", ", \"top_k\": 2", 96, 2);
        // greedy, so articles really share decoding batches (beam search runs one at a time); 2 steps: a tiny model
        // trained longer writes one summary for every article, which would not show rows mixed up
        bert2bert = train("b2b", bert, "summarize-bert2bert", BERT2BERT_KEYS, 64, 2);
    }

    /** Greedy decoding of 3 to 12 tokens. */
    public static final String BERT2BERT_KEYS = ", \"max_summary_tokens\": 12, "
            + "\"generation\": {\"num_beams\": 1, \"min_new_tokens\": 3, \"max_new_tokens\": 12, \"no_repeat_ngram_size\": 0}";

    static Path train(String name, Path bert, String task, String taskKeys, int maxLength, int steps) throws IOException {
        Path cfg = Files.writeString(tmp.resolve(name + ".json"), """
                {"model": {"name": "%s", "device": "cpu"},
                 "task": {"type": "%s" %s},
                 "data": {"train": "%s", "title_field": "title", "max_length": %d},
                 "training": {"max_steps": %d, "batch_size": 4, "eval_each_epoch": false}, "optimizer": {"lr": 1e-3},
                 "logging": {"tensorboard": false, "plot": false, "progress": "off"}, "output": {"dir": "%s"}}
                """.formatted(bert, task, taskKeys, data, maxLength, steps, tmp.resolve(name)));
        return Kiln.train(cfg).dir();
    }

    static String cli(String... args) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertEquals(0, KilnCli.run(args, new PrintStream(buf, true, StandardCharsets.UTF_8)));
        return buf.toString(StandardCharsets.UTF_8).trim();
    }

    static List<String> predict(Path run, String input, String batchSize) throws IOException {
        InputStream old = System.in;
        System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
        try {
            return cli("predict", run.toString(), "--device", "cpu", "--batch-size", batchSize).lines().toList();
        } finally {
            System.setIn(old);
        }
    }

    /** The data file's rows with ids, as predict input lines (the title line is removed as evaluate removes it). */
    static String input() throws IOException {
        List<String> out = new ArrayList<>();
        for (String l : Files.readAllLines(data)) {
            JsonObject o = JsonParser.parseString(l).getAsJsonObject();
            o.remove("summary");
            out.add(o.toString());
        }
        return String.join("\n", out) + "\n";
    }

    /** The evaluate output at batch size 1, without examples_per_s, after checking it equals batch size 4's. */
    JsonObject samePredictionsAndMetricsAtAnyBatchSize(Path run) throws IOException {
        String in = input();
        List<String> one = predict(run, in, "1");
        List<String> many = predict(run, in, "4");
        assertEquals(10, one.size());
        assertEquals(one, many);
        // input order: each answer carries its own line's id
        List<String> ids = new ArrayList<>();
        for (String l : Files.readAllLines(data)) ids.add(JsonParser.parseString(l).getAsJsonObject().get("id").getAsString());
        for (int i = 0; i < one.size(); i++) {
            assertEquals(ids.get(i), JsonParser.parseString(one.get(i)).getAsJsonObject().get("id").getAsString());
        }
        List<String> summaries = one.stream().map(l -> JsonParser.parseString(l).getAsJsonObject().get("summary").getAsString()).toList();
        assertNotEquals(1, summaries.stream().distinct().count(), "every article got the same summary: nothing to tell apart " + summaries);

        JsonObject e1 = JsonParser.parseString(cli("evaluate", run.toString(), "--data", data.toString(), "--device", "cpu",
                "--batch-size", "1")).getAsJsonObject();
        JsonObject e4 = JsonParser.parseString(cli("evaluate", run.toString(), "--data", data.toString(), "--device", "cpu",
                "--batch-size", "4")).getAsJsonObject();
        assertTrue(e1.has("rouge1") && e1.get("examples_per_s").getAsDouble() > 0, e1.toString());
        e1.remove("examples_per_s");
        e4.remove("examples_per_s");
        assertEquals(e1, e4);
        return e1;
    }

    @Test
    void extractivePredictAndEvaluateAreTheSameAtBatchOneAndFour() throws IOException {
        JsonObject e = samePredictionsAndMetricsAtAnyBatchSize(extractive);
        assertTrue(e.get("rouge1").getAsDouble() > 0 && e.get("lead2_rouge1").getAsDouble() > 0, e.toString());
    }

    @Test
    void bert2bertPredictAndEvaluateAreTheSameAtBatchOneAndFour() throws IOException {
        samePredictionsAndMetricsAtAnyBatchSize(bert2bert);
    }

    /**
     * summary.json's FLOP count leaves lookup tables out: the extractive scorer's N is every parameter but the word,
     * position and type tables (1-layer BERT, d 32, MiniLM's 30,522-token vocabulary, 128 positions, 2 types); the
     * encoder-decoder's batches state their FLOPs, so its MFU is theirs and flops_per_example is reported.
     */
    @Test
    void runSummariesCountNoLookupTables() throws IOException {
        long tables = (30522 + 128 + 2) * 32L;
        JsonObject ext = JsonParser.parseString(Files.readString(extractive.resolve("summary.json"))).getAsJsonObject();
        assertEquals(ext.get("parameters").getAsLong() - tables, ext.get("flop_parameters").getAsLong());
        assertTrue(!ext.has("flops_per_example"), ext.toString());
        JsonObject b2b = JsonParser.parseString(Files.readString(bert2bert.resolve("summary.json"))).getAsJsonObject();
        // both sides' tables out, the decoder's word table back in: the tied LM head multiplies by it
        assertEquals(b2b.get("parameters").getAsLong() - 2 * tables + 30522 * 32L, b2b.get("flop_parameters").getAsLong());
        assertTrue(b2b.get("flops_per_example").getAsDouble() > 0, b2b.toString());
    }
}

