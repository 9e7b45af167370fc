package dev.kiln.models.classic;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.kiln.TestSupport;
import dev.kiln.TinyModels;
import dev.kiln.config.ConfigException;
import dev.kiln.config.RunConfig;
import dev.kiln.nn.Module;
import dev.kiln.nn.Parameters;
import dev.kiln.tasks.classification.ClassificationHead;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;
import dev.kiln.text.WordVocab;
import dev.kiln.train.Freeze;
import dev.kiln.train.Tasks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The classic models without training: vocabulary, padding invariance, zoo embeddings and config errors. */
class ClassicModelsTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void registerTasks() {
        Tasks.all();
    }

    private static final List<String> TEXTS = List.of("A fine film, a FINE cast.", "The film is dull; the cast is not!",
            "Café crème and a café.", "fine fine fine");

    @Test
    void wordVocabularyIsLowerCasedPunctuationSplitAndDeterministic() throws IOException {
        List<String> words = WordVocab.build(TEXTS, 1, 1000);
        // by count (fine 5, a 3), ties alphabetically (".", "cafe", "cast", "film", "is", "the" twice each)
        assertEquals(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "fine", "a", ".", "cafe", "cast", "film", "is", "the"), words.subList(0, 12));
        assertTrue(words.contains("cafe") && words.contains("creme") && words.contains(";"), words.toString());
        assertEquals(words, WordVocab.build(TEXTS, 1, 1000));
        assertEquals(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "fine", "a"), WordVocab.build(TEXTS, 1, 6));
        List<String> frequent = WordVocab.build(TEXTS, 2, 1000);
        assertFalse(frequent.contains("dull"), frequent.toString());

        try (Tokenizer tok = WordVocab.save(words, dir.resolve("vocab"));
             Tokenizer reopened = Tokenizer.load(dir.resolve("vocab"))) {
            // whole words only: "films" is not "film" + "##s", it is [UNK]; cased and accented forms find their word
            long[] ids = tok.encode("Fine films, CAFÉ", false).ids();
            assertArrayEquals(new long[] {words.indexOf("fine"), 1, words.indexOf(","), words.indexOf("cafe")}, ids);
            assertArrayEquals(ids, reopened.encode("Fine films, CAFÉ", false).ids());
            assertEquals(2, (int) tok.clsId());
            assertEquals(0, (int) tok.padId());
        }
    }

    /** A sentence alone and in a batch with longer ones: the same logits and per-token states (1e-5). */
    @Test
    void paddingNeverChangesASentencesOutputs() throws IOException {
        List<String> batch = List.of("fine film", "the film is dull ; the cast is not a fine cast at all",
                "a fine , fine cast and the film");
        for (String name : ClassicModels.names()) {
            for (int layers : name.equals("textcnn") ? new int[] {1} : new int[] {1, 2}) {
                ClassicOptions o = new ClassicOptions();
                o.embeddingDim = 16;
                o.hiddenSize = 8;
                if (!name.equals("textcnn")) o.numLayers = layers;
                else o.hiddenSize = null;
                try (NDManager m = NDManager.newBaseManager()) {
                    ClassicModels.Built b = ClassicModels.create(name, o, null, 0.0, 7, TEXTS, m);
                    try (Tokenizer tok = b.tokenizer()) {
                        ClassificationHead head = new ClassificationHead(b.backbone(), 3, ClassificationHead.defaultPooling(b.backbone()));
                        List<Sequences.Input> in = new ArrayList<>();
                        for (String s : batch) in.add(Sequences.build(tok, tok.encode(s, false).ids(), null, 64));
                        Sequences.Padded all = Sequences.pad(in, Sequences.padId(tok));
                        for (int i = 0; i < batch.size(); i++) {
                            Sequences.Padded one = Sequences.pad(List.of(in.get(i)), Sequences.padId(tok));
                            int len = in.get(i).length();
                            try (NDManager s = m.newSubManager()) {
                                float[] alone = head.logits(s.create(one.ids()), s.create(one.typeIds()), s.create(one.mask()), false).toFloatArray();
                                NDArray inBatch = head.logits(s.create(all.ids()), s.create(all.typeIds()), s.create(all.mask()), false);
                                float[] row = inBatch.get(i).toFloatArray();
                                assertEquals(0f, dev.kiln.TestSupport.maxAbsDiff(alone, row), 1e-5f, name + " L" + layers + " logits, sentence " + i);
                                float[] statesAlone = b.backbone().hiddenStates(s.create(one.ids()), null, s.create(one.mask()), false).toFloatArray();
                                float[] statesBatch = b.backbone().hiddenStates(s.create(all.ids()), null, s.create(all.mask()), false)
                                        .get(new NDIndex(i + ", 0:" + len + ", :")).toFloatArray();
                                assertEquals(0f, dev.kiln.TestSupport.maxAbsDiff(statesAlone, statesBatch), 1e-5f, name + " L" + layers + " states, sentence " + i);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void zooEmbeddingsFillTheTableFromMiniLm() throws IOException {
        Path miniLm = TinyModels.miniLmFolder();
        ZooEmbeddings.Table table = ZooEmbeddings.read(miniLm);
        assertEquals(384, table.dim());
        ClassicOptions o = new ClassicOptions();
        o.embeddings = miniLm.toString();
        o.numFilters = 4;
        try (NDManager m = NDManager.newBaseManager(); Tokenizer zoo = Tokenizer.load(miniLm)) {
            // word vocabulary: a word MiniLM knows gets its row; "unfunniest" (several wordpieces) their mean
            List<String> texts = List.of("the film is fine", "the unfunniest film");
            ClassicModels.Built b = ClassicModels.create("textcnn", o, null, null, 1, texts, m);
            try (Tokenizer tok = b.tokenizer()) {
                assertEquals(384, b.backbone().embeddingDim());
                float[] t = b.backbone().params().get(ClassicBackbone.EMBEDDINGS).toFloatArray();
                int film = tok.tokenToId("film");
                assertArrayEquals(table.row(zoo.tokenToId("film")), slice(t, film, 384));
                long[] pieces = zoo.encode("unfunniest", false).ids();
                assertTrue(pieces.length > 1, "unfunniest is several wordpieces");
                float[] mean = new float[384];
                for (long p : pieces) for (int k = 0; k < 384; k++) mean[k] += table.row((int) p)[k] / pieces.length;
                assertEquals(0f, dev.kiln.TestSupport.maxAbsDiff(mean, slice(t, tok.tokenToId("unfunniest"), 384)), 1e-6f);
                assertEquals(1, b.backbone().configJson().getAsJsonObject("embeddings_init").get("wordpiece_mean").getAsInt());
            }
            // the zoo tokenizer: row = id
            ClassicModels.Built z = ClassicModels.create("mlp", o2(miniLm), miniLm.toString(), null, 1, null, m);
            try (Tokenizer tok = z.tokenizer()) {
                assertEquals(30522, z.backbone().vocabSize());
                float[] t = z.backbone().params().get(ClassicBackbone.EMBEDDINGS).toFloatArray();
                assertArrayEquals(table.values(), t);
            }
        }
    }

    private static ClassicOptions o2(Path miniLm) {
        ClassicOptions o = new ClassicOptions();
        o.embeddings = miniLm.toString();
        return o;
    }

    private static float[] slice(float[] table, int row, int dim) {
        float[] out = new float[dim];
        System.arraycopy(table, row * dim, out, 0, dim);
        return out;
    }

    // ---- config ----

    private RunConfig config(String model, String... sets) throws IOException {
        Path train = dir.resolve("train.txt");
        if (!Files.exists(train)) Files.writeString(train, "1 a fine film\n0 a dull film\n");
        String json = """
                {"model": %s, "task": {"type": "classification"},
                 "data": {"train": "train.txt", "format": "label-first"}}
                """.formatted(model);
        return RunConfig.parse(json, "c.json", dir, List.of(sets));
    }

    private String error(String model, String... sets) {
        ConfigException e = assertThrows(ConfigException.class, () -> config(model, sets));
        return e.getMessage();
    }

    @Test
    void classicOptionsAreValidatedInOneLine() throws IOException {
        RunConfig ok = config("{\"name\": \"textcnn\", \"classic\": {\"filter_sizes\": [2, 3], \"num_filters\": 50}}");
        assertArrayEquals(new int[] {2, 3}, ok.model.classic.filterSizes);
        config("{\"name\": \"bilstm\", \"tokenizer\": \"all-MiniLM-L6-v2\", \"classic\": {\"num_layers\": 2}}");

        String m = error("{\"name\": \"bilstm\", \"classic\": {\"num_layers\": 0}}");
        assertEquals("c.json: \"model.classic.num_layers\" must be in [1, 4], got 0", m);
        m = error("{\"name\": \"textcnn\", \"classic\": {\"filter_size\": [3]}}");
        assertTrue(m.contains("unknown key \"model.classic.filter_size\"") && m.contains("did you mean \"model.classic.filter_sizes\""), m);
        m = error("{\"name\": \"mlp\", \"classic\": {\"activation\": \"sigmoid\"}}");
        assertTrue(m.contains("\"model.classic.activation\" must be one of \"relu\", \"tanh\" or \"gelu\""), m);
        m = error("{\"name\": \"textcnn\", \"classic\": {\"hidden_size\": 64}}");
        assertEquals("c.json: \"model.classic.hidden_size\" is not an option of textcnn (its options: embedding_dim, filter_sizes, "
                + "num_filters, vocab_size, min_freq, embeddings)", m);
        m = error("{\"name\": \"bilstm\", \"tokenizer\": \"all-MiniLM-L6-v2\", \"classic\": {\"min_freq\": 2}}");
        assertTrue(m.contains("\"model.classic.min_freq\" sizes the word vocabulary") && !m.contains("\n"), m);
        m = error("{\"name\": \"all-MiniLM-L6-v2\", \"classic\": {\"num_filters\": 10}}");
        assertEquals("c.json: \"model.classic\" is for the classic models (mlp, textcnn, bilstm), but \"model.name\" is \"all-MiniLM-L6-v2\"", m);
        m = error("{\"name\": \"all-MiniLM-L6-v2\", \"tokenizer\": \"bert-base-uncased\"}");
        assertTrue(m.contains("\"model.tokenizer\" is for tasks that build a new model"), m);
    }

    @Test
    void anUnknownModelNameListsTheClassicAndZooModels() throws IOException {
        RunConfig cfg = config("{\"name\": \"textcn\"}");
        try (NDManager m = NDManager.newBaseManager()) {
            ConfigException e = assertThrows(ConfigException.class, () -> Tasks.get("classification").create(cfg, m));
            assertEquals("c.json: \"model.name\" is \"textcn\": not a folder with config.json, a zoo model or a classic model "
                    + "(did you mean \"textcnn\"?); classic models: \"mlp\", \"textcnn\", \"bilstm\"; zoo models: "
                    + "\"bert-base-uncased\", \"all-MiniLM-L6-v2\", \"bge-small-en-v1.5\", \"e5-small-v2\"", e.getMessage());
        }
    }

    @Test
    void parametersAreNamedAsThePapersAndTorchName() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            ClassicOptions o = new ClassicOptions();
            o.numLayers = 2;
            ClassicModels.Built b = ClassicModels.create("bilstm", o, null, null, 1, TEXTS, m);
            b.tokenizer().close();
            Parameters p = b.backbone().params();
            assertEquals(List.of(4L * 150, 300L), List.of(p.get("lstm.weight_ih_l0").getShape().get(0), p.get("lstm.weight_ih_l0").getShape().get(1)));
            assertEquals(2L * 150, p.get("lstm.weight_ih_l1_reverse").getShape().get(1));
            assertEquals(300, b.backbone().hiddenSize());
            ClassicModels.Built c = ClassicModels.create("textcnn", null, null, null, 1, TEXTS, m);
            c.tokenizer().close();
            assertEquals(300, c.backbone().hiddenSize());
            assertEquals(4 * 300L, c.backbone().params().get("convs.1.weight").getShape().get(1));
        }
    }

    /**
     * The module tree: parameter paths are the documented keys; the task head attaches to the root beside the body;
     * training.freeze reads the tree ("embeddings" is the word table: CNN-static; bottom:N adds the lowest N layers;
     * all-but-head the whole body); weight decay is nanoGPT's >= 2 dims rule; MFU's N skips the table.
     */
    @Test
    void theModuleTreeNamesTheTableTheLayersAndTheBody() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            for (String name : ClassicModels.names()) {
                ClassicOptions o = new ClassicOptions();
                o.embeddingDim = 8;
                if (name.equals("textcnn")) o.numFilters = 4;
                else {
                    o.hiddenSize = 6;
                    o.numLayers = 2;
                }
                ClassicModels.Built b = ClassicModels.create(name, o, null, null, 1, TEXTS, m);
                b.tokenizer().close();
                ClassicBackbone bb = b.backbone();
                List<String> bodyKeys = List.copyOf(bb.params().all().keySet());
                assertEquals(ClassicBackbone.EMBEDDINGS, bodyKeys.get(0), name);
                new ClassificationHead(bb, 3, ClassificationHead.defaultPooling(bb));
                assertSame(bb, bb.root());
                List<String> all = new ArrayList<>(bodyKeys);
                all.addAll(List.of("classifier.weight", "classifier.bias"));
                assertEquals(all, bb.root().parameterKeys(), name + ": the head is a child of the root");
                assertEquals(all, List.copyOf(bb.params().all().keySet()), name);
                assertEquals(bodyKeys, bb.body().parameterKeys(), name + ": the body is everything but the head");

                assertEquals(Set.of(ClassicBackbone.EMBEDDINGS), Freeze.frozen("embeddings", bb), name);
                List<String> bottom1 = new ArrayList<>(List.of(ClassicBackbone.EMBEDDINGS));
                switch (name) {
                    case "textcnn" -> bottom1.addAll(List.of("convs.0.weight", "convs.0.bias", "convs.1.weight", "convs.1.bias",
                            "convs.2.weight", "convs.2.bias"));
                    case "mlp" -> bottom1.addAll(List.of("layers.0.weight", "layers.0.bias"));
                    default -> {
                        for (String dir : new String[] {"", "_reverse"}) {
                            for (String k : new String[] {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) bottom1.add("lstm." + k + "_l0" + dir);
                        }
                    }
                }
                assertEquals(bottom1, List.copyOf(Freeze.frozen("bottom:1", bb)), name);
                assertEquals(bb.numLayers(), bb.layerModules().size(), name);
                assertEquals(Set.copyOf(bodyKeys), Freeze.frozen("bottom:" + bb.numLayers(), bb), name + ": every layer");
                assertEquals(bodyKeys, List.copyOf(Freeze.frozen("all-but-head", bb)), name);
                assertTrue(Freeze.trainable("all-but-head", bb).test("classifier.weight"), name);

                Module.DecayGroups g = bb.root().decayGroups();
                for (String k : all) {
                    boolean matrix = bb.params().get(k).getShape().dimension() >= 2;
                    assertEquals(matrix, g.decay().contains(k), name + " " + k);
                    assertEquals(!matrix, g.noDecay().contains(k), name + " " + k);
                }
                assertTrue(g.decay().contains(ClassicBackbone.EMBEDDINGS) && g.noDecay().contains("classifier.bias"), name);
                long table = bb.params().get(ClassicBackbone.EMBEDDINGS).size();
                assertEquals(bb.root().parameterCount() - table, bb.root().matmulParameterCount(), name);
                assertEquals(bb.body().parameterCount() - table, bb.body().matmulParameterCount(), name);
            }
        }
    }

    @Test
    void shippedClassicConfigsLoad() {
        TestSupport.shared("datasets/sst2/stsa.binary.train");
        TestSupport.shared("datasets/conll2003/train.txt");
        for (String name : List.of("sst2-textcnn", "sst2-bilstm", "sst2-mlp", "conll03-bilstm")) {
            RunConfig c = RunConfig.load(Path.of("configs/" + name + ".json"));
            assertTrue(c.model.isClassic(), name);
            assertEquals(name.substring(name.indexOf('-') + 1), c.model.name);
        }
    }
}
