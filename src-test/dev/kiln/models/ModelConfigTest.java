package dev.kiln.models;

import dev.kiln.models.bert.BertModel;
import dev.kiln.models.bert.BertConfig;
import dev.kiln.models.gpt2.Gpt2Model;
import dev.kiln.models.gpt2.Gpt2Config;
import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kiln.TestSupport;
import dev.kiln.io.HfFolder;
import dev.kiln.nn.HostTensor;
import dev.kiln.io.SafeTensors;
import dev.kiln.nn.Parameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * config.json values the models cannot honour are one-line errors naming the file and the field;
 * GPT-2's attention-scaling flags behave as in HF.
 */
class ModelConfigTest {
    static final long[] IDS = {1, 5, 42, 7, 999, 3, 0, 17};

    @TempDir
    Path tmp;

    private int n;

    /** A copy of {@code src} (config.json + model.safetensors) with config field {@code field} set to the JSON {@code value}. */
    private Path withConfig(Path src, String field, String value) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("m" + n++));
        JsonObject c = JsonParser.parseString(Files.readString(src.resolve("config.json"))).getAsJsonObject();
        c.add(field, JsonParser.parseString(value));
        Files.writeString(dir.resolve("config.json"), new GsonBuilder().setPrettyPrinting().create().toJson(c));
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        return dir;
    }

    private static void assertFieldError(Path dir, String field, String expectedPart, Executable load) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, load::run, field);
        String msg = e.getMessage();
        System.out.println(msg);
        assertFalse(msg.contains("\n"), "one line: " + msg);
        assertTrue(msg.startsWith(dir.resolve("config.json") + ": " + field + " "), msg);
        assertTrue(msg.contains(expectedPart), msg);
    }

    interface Executable {
        void run() throws IOException;
    }

    @Test
    void badGpt2ConfigValuesNameTheField() throws IOException {
        Path src = TestSupport.shared("fixtures/gpt2-tiny");
        String[][] cases = {
            {"n_layer", "-1", "must be at least 1"},
            {"n_layer", "0", "must be at least 1"},
            {"n_head", "0", "must be at least 1"},
            {"n_embd", "-64", "must be at least 1"},
            {"vocab_size", "0", "must be at least 1"},
            {"n_positions", "0", "must be at least 1"},
            {"n_inner", "0", "must be at least 1"},
            {"n_embd", "66", "is not a multiple of n_head 4"},
            {"activation_function", "\"swish\"", "(gelu_new, gelu, relu)"},
            {"attn_pdrop", "-0.1", "in [0, 1)"},
            {"resid_pdrop", "1.5", "in [0, 1)"},
            {"layer_norm_epsilon", "0", "positive"},
            {"add_cross_attention", "true", "supports only false"},
            {"tie_word_embeddings", "false", "supports only true"},
            {"n_layer", "\"two\"", "expected an integer"},
            {"n_layer", "2.5", "expected an integer"},
            {"scale_attn_weights", "\"no\"", "expected true or false"},
        };
        try (NDManager m = NDManager.newBaseManager()) {
            for (String[] c : cases) {
                Path dir = withConfig(src, c[0], c[1]);
                assertFieldError(dir, c[0], c[2], () -> HfFolder.loadGpt2(dir, m));
            }
        }
        // the CLI: a usage error (exit code 2) with the same line
        Path dir = withConfig(src, "n_layer", "-1");
        dev.kiln.cli.KilnCli.UsageException e = assertThrows(dev.kiln.cli.KilnCli.UsageException.class, () -> dev.kiln.cli.KilnCli.run(
                new String[] {"score", dir.toString(), "--ids", "1,5,42,7", "--device", "cpu"}, new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains(dir.resolve("config.json") + ": n_layer is -1; it must be at least 1"), e.getMessage());
    }

    @Test
    void badBertConfigValuesNameTheField() throws IOException {
        BertConfig bc = new BertConfig();
        bc.vocabSize = 100;
        bc.numHiddenLayers = 1;
        bc.hiddenSize = 32;
        bc.numAttentionHeads = 4;
        bc.intermediateSize = 64;
        bc.maxPositionEmbeddings = 32;
        Path src = tmp.resolve("bert");
        try (NDManager m = NDManager.newBaseManager()) {
            HfFolder.save(new BertModel(bc, new Parameters(m, 1, 0.02f), BertModel.Heads.encoderOnly()), src, null);
        }
        String[][] cases = {
            {"num_hidden_layers", "-1", "must be at least 1"},
            {"num_attention_heads", "0", "must be at least 1"},
            {"hidden_size", "0", "must be at least 1"},
            {"vocab_size", "-5", "must be at least 1"},
            {"max_position_embeddings", "0", "must be at least 1"},
            {"intermediate_size", "0", "must be at least 1"},
            {"type_vocab_size", "0", "must be at least 1"},
            {"hidden_size", "30", "is not a multiple of num_attention_heads 4"},
            {"hidden_act", "\"silu\"", "(gelu, gelu_new, relu)"},
            {"position_embedding_type", "\"relative_key\"", "(absolute)"},
            {"is_decoder", "true", "supports only false"},
            {"add_cross_attention", "true", "supports only false"},
            {"hidden_dropout_prob", "-0.1", "in [0, 1)"},
            {"attention_probs_dropout_prob", "1.0", "in [0, 1)"},
            {"layer_norm_eps", "-1e-12", "positive"},
        };
        try (NDManager m = NDManager.newBaseManager()) {
            for (String[] c : cases) {
                Path dir = withConfig(src, c[0], c[1]);
                assertFieldError(dir, c[0], c[2], () -> HfFolder.loadBert(dir, m, BertModel.Heads.encoderOnly()));
            }
        }
    }

    /** Logits of the fixture's weights with {@code config} fields set, and q columns of c_attn scaled per layer. */
    private float[] logits(Path src, Map<String, String> config, float[] qScalePerLayer, NDManager m) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("s" + n++));
        JsonObject c = JsonParser.parseString(Files.readString(src.resolve("config.json"))).getAsJsonObject();
        for (Map.Entry<String, String> e : config.entrySet()) c.add(e.getKey(), JsonParser.parseString(e.getValue()));
        Files.writeString(dir.resolve("config.json"), c.toString());
        int embd = c.get("n_embd").getAsInt();
        LinkedHashMap<String, HostTensor> t = new LinkedHashMap<>(SafeTensors.readCheckpoint(src));
        for (int layer = 0; qScalePerLayer != null && layer < qScalePerLayer.length; layer++) {
            for (String part : new String[] {"weight", "bias"}) {
                String key = "transformer.h." + layer + ".attn.c_attn." + part;
                HostTensor w = t.get(key);
                float[] f = w.toFloats();
                long cols = 3L * embd; // Conv1D: (in, 3 * embd); the bias is (3 * embd); q is the first embd columns
                for (int i = 0; i < f.length; i++) if (i % cols < embd) f[i] *= qScalePerLayer[layer];
                t.put(key, HostTensor.ofFloats(w.shape(), f));
            }
        }
        SafeTensors.write(dir.resolve("model.safetensors"), t, null);
        Gpt2Model g = HfFolder.loadGpt2(dir, m);
        return g.forwardLogits(m.create(IDS).reshape(1, IDS.length), null).toFloatArray();
    }

    /**
     * HF: scale_attn_weights=false leaves q·kᵀ unscaled; scale_attn_by_inverse_layer_idx divides layer i's
     * scores by i + 1. Both equal the default model (scores / √d, checked against HF in Gpt2ModelTest) with
     * the query projection multiplied by √d (resp. 1 / (i + 1)).
     */
    @Test
    void attentionScalingFlagsMatchHf() throws IOException {
        Path src = TestSupport.shared("fixtures/gpt2-tiny");
        float sqrtD = (float) Math.sqrt(64 / 4);
        try (NDManager m = NDManager.newBaseManager()) {
            float[] base = logits(src, Map.of(), null, m);
            float[] unscaled = logits(src, Map.of("scale_attn_weights", "false"), null, m);
            float[] unscaledRef = logits(src, Map.of(), new float[] {sqrtD, sqrtD}, m);
            float[] inverse = logits(src, Map.of("scale_attn_by_inverse_layer_idx", "true"), null, m);
            float[] inverseRef = logits(src, Map.of(), new float[] {1f, 0.5f}, m);
            float[] both = logits(src, Map.of("scale_attn_weights", "false", "scale_attn_by_inverse_layer_idx", "true",
                    "reorder_and_upcast_attn", "true"), null, m);
            float[] bothRef = logits(src, Map.of(), new float[] {sqrtD, sqrtD / 2}, m);
            assertTrue(TestSupport.maxAbsDiff(base, unscaled) > 1e-3, "the flag must change the model");
            assertTrue(TestSupport.maxAbsDiff(base, inverse) > 1e-4, "the flag must change the model");
            assertTrue(TestSupport.maxAbsDiff(unscaled, unscaledRef) < 1e-5, "scale_attn_weights=false: " + TestSupport.maxAbsDiff(unscaled, unscaledRef));
            assertTrue(TestSupport.maxAbsDiff(inverse, inverseRef) < 1e-5, "inverse layer idx: " + TestSupport.maxAbsDiff(inverse, inverseRef));
            assertTrue(TestSupport.maxAbsDiff(both, bothRef) < 1e-5, "both: " + TestSupport.maxAbsDiff(both, bothRef));
        }
        // the flags survive a save
        Gpt2Config c = Gpt2Config.fromJson(JsonParser.parseString("{\"scale_attn_weights\": false, "
                + "\"scale_attn_by_inverse_layer_idx\": true, \"reorder_and_upcast_attn\": true}").getAsJsonObject());
        Gpt2Config back = Gpt2Config.fromJson(c.toJson());
        assertFalse(back.scaleAttnWeights);
        assertTrue(back.scaleAttnByInverseLayerIdx);
        assertTrue(back.reorderAndUpcastAttn);
        assertEquals(1 / 8f, new Gpt2Config().attentionScale(3), 0f); // 1 / sqrt(768 / 12)
        assertEquals(1 / 2f, back.attentionScale(1), 0f);
    }
}
