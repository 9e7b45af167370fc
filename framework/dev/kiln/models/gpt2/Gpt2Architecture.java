package dev.kiln.models.gpt2;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.kiln.io.HfFolder;
import dev.kiln.io.SafeTensors;
import dev.kiln.models.Architecture;
import dev.kiln.models.Architectures;
import dev.kiln.models.Backbone;
import dev.kiln.nn.HostTensor;
import dev.kiln.nn.Parameters;
import dev.kiln.text.InputTemplate;
import dev.kiln.text.Sequences;
import dev.kiln.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * GPT-2 (pre-LN decoder): config.json ↔ {@link Gpt2Config}, strict loading, {@code a <eos> b} inputs with no
 * segments and space-prefixed words (byte-level BPE), HF's {@code GPT2*} classes (which need
 * {@code pad_token_id} to find the last real token).
 */
public final class Gpt2Architecture implements Architecture {
    public static final String TYPE = "gpt2";
    public static final Gpt2Architecture INSTANCE = new Gpt2Architecture();

    @Override public String modelType() { return TYPE; }

    @Override public String displayName() { return "GPT-2"; }

    @Override
    public boolean recognizes(JsonObject config) {
        return config.has("n_embd");
    }

    @Override
    public Backbone loadBackbone(Path dir, NDManager manager, Float dropout, HfFolder.Strictness strictness) throws IOException {
        return load(dir, manager, dropout == null ? null : dropoutOverride(dropout), strictness);
    }

    @Override
    public JsonObject dropoutOverride(Number p) {
        JsonObject o = new JsonObject();
        o.addProperty("resid_pdrop", p);
        o.addProperty("embd_pdrop", p);
        o.addProperty("attn_pdrop", p);
        return o;
    }

    /** Loads a GPT-2 (LM head tied to wte); {@code overrides} (nullable) replace config.json fields. */
    public static Gpt2Model load(Path dir, NDManager manager, JsonObject overrides, HfFolder.Strictness strictness)
            throws IOException {
        Gpt2Config config;
        try {
            config = Gpt2Config.fromJson(Architectures.config(dir, INSTANCE, overrides));
        } catch (IllegalArgumentException e) {
            throw HfFolder.configError(dir, e);
        }
        Map<String, HostTensor> tensors = SafeTensors.readCheckpoint(dir);
        Gpt2Model model = new Gpt2Model(config, new Parameters(manager, 42, config.initializerRange));
        model.loadReport = HfFolder.load(dir, model.params, tensors, Gpt2Model::mapCheckpointKey);
        HfFolder.check(dir, model.params, model.loadReport, strictness, Map.of());
        return model;
    }

    /** Writes a HF folder. */
    public static void save(Gpt2Model model, Path dir, Path tokenizerFrom) throws IOException {
        HfFolder.writeFolder(dir, model.config.toJson(), model.params.stateDict(), tokenizerFrom);
    }

    @Override
    public String mapCheckpointKey(String key) {
        return Gpt2Model.mapCheckpointKey(key);
    }

    /** {@code a} and {@code a <eos> b}, all in segment 0 (GPT-2 has no segment embeddings); words after the first get a leading space. */
    @Override
    public InputTemplate template(Tokenizer tok) {
        if (tok.eosId() == null) throw new IllegalArgumentException("GPT-2 needs an end-of-text token; this tokenizer has none");
        long[] none = {};
        return new InputTemplate(none, none, new long[] {tok.eosId()}, none, 0, true);
    }

    @Override public String defaultPooling() { return "last"; }

    @Override
    public String hfClass(HeadKind kind, Backbone backbone, String pooling) {
        switch (kind) {
            case BASE: return "GPT2Model";
            // GPT2ForSequenceClassification scores the last token that is not pad_token_id (right padding)
            case SEQUENCE_CLASSIFICATION: return "last".equals(pooling) ? "GPT2ForSequenceClassification" : null;
            case TOKEN_CLASSIFICATION: return "GPT2ForTokenClassification";
            case QUESTION_ANSWERING: return "GPT2ForQuestionAnswering";
            default: return null;
        }
    }

    @Override
    public String headName(HeadKind kind) {
        switch (kind) {
            case SEQUENCE_CLASSIFICATION: return "score";
            case TOKEN_CLASSIFICATION: return "classifier";
            case QUESTION_ANSWERING: return "qa_outputs";
            default: throw new IllegalArgumentException(kind + " has no head module");
        }
    }

    @Override
    public boolean headBias(HeadKind kind) {
        return kind != HeadKind.SEQUENCE_CLASSIFICATION;
    }

    @Override
    public void addTaskConfig(JsonObject config, Tokenizer tok) {
        config.addProperty("pad_token_id", Sequences.padId(tok));
    }

    @Override
    public java.util.List<String> loraTargets() {
        return java.util.List.of("**.attn.c_attn");
    }

    @Override
    public java.util.List<String> adapterSites(boolean houlsby) {
        return houlsby ? java.util.List.of("**.h.*.attn.c_proj", "**.h.*.mlp.c_proj") : java.util.List.of("**.h.*.mlp.c_proj");
    }
}
