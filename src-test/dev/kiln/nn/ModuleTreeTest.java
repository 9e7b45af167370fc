package dev.kiln.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.TestSupport;
import dev.kiln.io.HfFolder;
import dev.kiln.models.Backbone;
import dev.kiln.models.BertConfig;
import dev.kiln.models.BertModel;
import dev.kiln.models.Gpt2Config;
import dev.kiln.models.Gpt2Model;
import dev.kiln.train.Freeze;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The module tree: paths are the HF keys, and the walks give the same decay, freeze and MFU sets as the
 * name rules Kiln used before the tree (kept below as test-local oracles); projections wrap in place.
 */
class ModuleTreeTest {

    // ---- the pre-tree name rules, as oracles ---------------------------------------------------------------

    static boolean oldNoDecay(String name) {
        if (name.equals("bias") || name.endsWith(".bias")) return true;
        for (String seg : name.split("\\.")) if (seg.equals("LayerNorm") || seg.startsWith("ln_")) return true;
        return false;
    }

    static final Pattern OLD_LAYER = Pattern.compile("(?:^|\\.)(?:encoder\\.layer|h)\\.(\\d+)\\.");

    static boolean oldEmbedding(String name) {
        if (name.contains("embeddings.")) return true;
        for (String seg : name.split("\\.")) if (seg.equals("wte") || seg.equals("wpe")) return true;
        return false;
    }

    static boolean oldFrozen(String strategy, String name) {
        if (strategy.equals("none")) return false;
        if (strategy.equals("embeddings")) return oldEmbedding(name);
        if (strategy.equals("all-but-head")) return name.startsWith("bert.") || name.startsWith("transformer.");
        int n = Integer.parseInt(strategy.substring("bottom:".length()));
        if (oldEmbedding(name)) return true;
        Matcher m = OLD_LAYER.matcher(name);
        return m.find() && Integer.parseInt(m.group(1)) < n;
    }

    static long oldClassificationFlops(Parameters p) {
        long n = 0;
        for (Map.Entry<String, NDArray> e : p.all().entrySet()) {
            String k = e.getKey();
            boolean table = k.endsWith("_embeddings.weight") || k.endsWith(".wte.weight") || k.endsWith(".wpe.weight");
            if (!table) n += e.getValue().size();
        }
        return n;
    }

    // ---- models ------------------------------------------------------------------------------------------

    static BertModel tinyBert(NDManager m, BertModel.Heads heads) {
        BertConfig c = new BertConfig();
        c.numHiddenLayers = 3;
        c.hiddenSize = 16;
        c.numAttentionHeads = 4;
        c.intermediateSize = 32;
        c.vocabSize = 50;
        c.maxPositionEmbeddings = 32;
        return new BertModel(c, new Parameters(m, 7, 0.02f), heads);
    }

    static Gpt2Model tinyGpt2(NDManager m) {
        Gpt2Config c = new Gpt2Config();
        c.nLayer = 3;
        c.nEmbd = 16;
        c.nHead = 4;
        c.vocabSize = 50;
        c.nPositions = 32;
        return new Gpt2Model(c, new Parameters(m, 7, 0.02f));
    }

    /** Every walk against its oracle, on {@code model} as a task sees it. */
    static void checkAgainstOracles(Backbone model) {
        Parameters p = model.params();
        Module root = model.root();
        assertEquals(List.copyOf(p.all().keySet()), root.parameterKeys(), "tree order = store order");
        assertEquals(p.count(), root.parameterCount());

        Module.DecayGroups g = root.decayGroups();
        Set<String> oldNo = new TreeSet<>();
        for (String k : p.all().keySet()) if (oldNoDecay(k)) oldNo.add(k);
        assertEquals(oldNo, new TreeSet<>(g.noDecay()));
        assertEquals(p.all().size(), g.decay().size() + g.noDecay().size());

        List<String> strategies = new ArrayList<>(List.of("none", "embeddings", "all-but-head"));
        for (int n = 0; n <= model.numLayers(); n++) strategies.add("bottom:" + n);
        for (String s : strategies) {
            Set<String> expected = new LinkedHashSet<>();
            for (String k : p.all().keySet()) if (oldFrozen(s, k)) expected.add(k);
            assertEquals(expected, Freeze.frozen(s, model), s);
        }

        assertEquals(oldClassificationFlops(p), root.matmulParameterCount());
    }

    @Test
    void pathsAreCheckpointKeys() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = tinyBert(m, BertModel.Heads.all());
            Map<String, Module> mods = b.namedModules();
            assertTrue(mods.get("bert.encoder.layer.2.attention.self.query") instanceof Linear);
            assertTrue(mods.get("bert.embeddings.word_embeddings") instanceof Embedding);
            assertTrue(mods.get("cls.predictions.transform.LayerNorm") instanceof LayerNorm);
            assertEquals("", b.path());
            assertEquals("bert.encoder.layer.1", b.layers.get(1).path());
            assertTrue(b.params.has(((Linear) b.get("bert.encoder.layer.0.intermediate.dense")).weight));
            assertEquals("bert.encoder.layer.0.attention.self.query.weight",
                    ((Linear) b.get("bert.encoder.layer.0.attention.self.query")).weight);
            // the tied MLM decoder is the word table itself, not a second module
            assertEquals(1, mods.values().stream().filter(x -> x instanceof Embedding e && e.num == 50 && e.path().contains("word")).count());

            Gpt2Model g = tinyGpt2(m);
            assertTrue(g.get("transformer.h.0.attn.c_attn") instanceof Conv1D);
            assertEquals("transformer.h.2.mlp.c_proj.weight", ((Conv1D) g.get("transformer.h.2.mlp.c_proj")).weight);
            assertThrows(IllegalArgumentException.class, () -> g.get("transformer.h.9"));
        }
    }

    @Test
    void walksMatchTheOldNameRulesBert() {
        try (NDManager m = NDManager.newBaseManager()) {
            checkAgainstOracles(tinyBert(m, BertModel.Heads.all()));
            BertModel fineTune = tinyBert(m, BertModel.Heads.encoderOnly());
            new Linear(fineTune, "classifier", 16, 3, true);
            checkAgainstOracles(fineTune);
            BertModel pooled = tinyBert(m, new BertModel.Heads());
            new Linear(pooled, "qa_outputs", 16, 2, true);
            checkAgainstOracles(pooled);
        }
    }

    @Test
    void walksMatchTheOldNameRulesGpt2() {
        try (NDManager m = NDManager.newBaseManager()) {
            checkAgainstOracles(tinyGpt2(m));
            Gpt2Model g = tinyGpt2(m);
            new Linear(g, "score", 16, 3, false);
            checkAgainstOracles(g);
        }
    }

    @Test
    void walksMatchTheOldNameRulesMiniLm() throws IOException {
        Path dir = Path.of(System.getProperty("user.home"), ".kiln", "models", "all-MiniLM-L6-v2");
        Assumptions.assumeTrue(Files.isDirectory(dir), "skipped: " + dir + " absent");
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = HfFolder.loadBert(dir, m, BertModel.Heads.forFineTuning());
            new Linear(b, "classifier", b.config.hiddenSize, 2, true);
            checkAgainstOracles(b);
        }
    }

    // ---- wrapping ----------------------------------------------------------------------------------------

    /** A wrapper that changes nothing but is really in the path. */
    static int calls;

    static Projection identity(ProjectionModule target) {
        Projection inner = target.current();
        return x -> {
            calls++;
            return inner.forward(x);
        };
    }

    @Test
    void identityWrapOfAttentionLeavesBertOutputs() throws IOException {
        Path dir = Path.of(System.getProperty("user.home"), ".kiln", "models", "all-MiniLM-L6-v2");
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = Files.isDirectory(dir) ? HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly())
                    : tinyBert(m, BertModel.Heads.encoderOnly());
            NDArray ids = m.create(new long[] {1, 5, 42, 7, 9, 3}).reshape(2, 3);
            NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 0}).reshape(2, 3);
            float[] before = b.forward(ids, null, mask, false).lastHiddenState.toFloatArray();
            List<String> hit = b.wrap("bert.encoder.layer.*.attention.self.*", ModuleTreeTest::identity);
            assertEquals(3 * b.layers.size(), hit.size());
            assertTrue(hit.contains("bert.encoder.layer.0.attention.self.value"), hit.toString());
            calls = 0;
            float[] after = b.forward(ids, null, mask, false).lastHiddenState.toFloatArray();
            assertEquals(3 * b.layers.size(), calls);
            assertArrayEquals(before, after);
            assertTrue(((ProjectionModule) b.get("bert.encoder.layer.0.attention.self.key")).isWrapped());
            assertFalse(((ProjectionModule) b.get("bert.encoder.layer.0.attention.output.dense")).isWrapped());
        }
    }

    @Test
    void identityWrapOfAttentionLeavesGpt2Outputs() throws IOException {
        Path dir = TestSupport.shared("fixtures/gpt2-tiny");
        try (NDManager m = NDManager.newBaseManager()) {
            Gpt2Model g = HfFolder.loadGpt2(dir, m);
            NDArray ids = m.create(new long[] {1, 5, 42, 7, 999, 3}).reshape(1, 6);
            float[] before = g.forwardLogits(ids, null).toFloatArray();
            List<String> hit = g.wrap("**.attn.*", ModuleTreeTest::identity);
            assertEquals(2 * g.h.size(), hit.size());
            calls = 0;
            float[] after = g.forwardLogits(ids, null).toFloatArray();
            assertEquals(2 * g.h.size(), calls);
            assertArrayEquals(before, after);
        }
    }

    @Test
    void wrapperParametersGetTreePaths() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = tinyBert(m, BertModel.Heads.encoderOnly());
            NDArray ids = m.create(new long[] {1, 5, 42, 7}).reshape(1, 4);
            float[] before = b.forward(ids, null, null, false).lastHiddenState.toFloatArray();
            // a LoRA-shaped adapter: base(x) + B(A(x)) with B zero, its weights under the wrapped module's path
            b.wrap("**.self.{query,value}", target -> {
                Projection base = target.current();
                Linear a = new Linear(target, "lora_A", target.inFeatures(), 2, false);
                Linear up = new Linear(target, "lora_B", 2, target.outFeatures(), false);
                target.store().get(up.weight).muli(0);
                return x -> base.forward(x).add(up.forward(a.forward(x)));
            });
            assertArrayEquals(before, b.forward(ids, null, null, false).lastHiddenState.toFloatArray());
            String key = "bert.encoder.layer.1.attention.self.query.lora_A.weight";
            assertTrue(b.params.has(key));
            assertTrue(b.params.stateDict().containsKey("bert.encoder.layer.2.attention.self.value.lora_B.weight"));
            assertTrue(b.namedParameters().containsKey(key));
            assertTrue(b.decayGroups().decay().contains(key));
            assertTrue(Freeze.frozen("all-but-head", b).contains(key));
            assertTrue(b.projections().containsKey("bert.encoder.layer.1.attention.self.query.lora_A"));
            assertEquals(b.params.count(), b.parameterCount());
        }
    }

    @Test
    void patternMatchingNothingListsProjections() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel b = tinyBert(m, BertModel.Heads.all());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> b.wrap("**.attn.c_attn", ModuleTreeTest::identity));
            String msg = e.getMessage();
            assertFalse(msg.contains("\n"), msg);
            assertTrue(msg.contains("'**.attn.c_attn'"), msg);
            assertTrue(msg.contains("bert.encoder.layer.*.attention.self.query (×3)"), msg);
            assertTrue(msg.contains("cls.seq_relationship"), msg);
            // a pattern that names a module that is not a projection matches nothing either
            assertThrows(IllegalArgumentException.class, () -> b.wrap("bert.embeddings.*", ModuleTreeTest::identity));
        }
    }

    @Test
    void globs() {
        assertTrue(Module.glob("bert.encoder.layer.*.attention.self.query").matcher("bert.encoder.layer.11.attention.self.query").matches());
        assertFalse(Module.glob("bert.*.query").matcher("bert.encoder.layer.0.attention.self.query").matches());
        assertTrue(Module.glob("**.query").matcher("bert.encoder.layer.0.attention.self.query").matches());
        assertTrue(Module.glob("**.c_attn").matcher("c_attn").matches());
        assertTrue(Module.glob("**.self.{query,value}").matcher("a.self.value").matches());
        assertFalse(Module.glob("**.self.{query,value}").matcher("a.self.key").matches());
        assertTrue(Module.glob("transformer.h.?.attn.c_proj").matcher("transformer.h.3.attn.c_proj").matches());
        assertFalse(Module.glob("transformer.h.?.attn.c_proj").matcher("transformer.h.10.attn.c_proj").matches());
        assertThrows(IllegalArgumentException.class, () -> Module.glob("{a,b"));
    }
}
