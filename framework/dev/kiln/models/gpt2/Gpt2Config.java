package dev.kiln.models.gpt2;

import dev.kiln.models.Json;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** HF {@code GPT2Config}: the fields of config.json that shape the network. */
public final class Gpt2Config {
    public int vocabSize = 50257;
    public int nPositions = 1024;
    public int nEmbd = 768;
    public int nLayer = 12;
    public int nHead = 12;
    /** Inner MLP width; HF's null means 4 * n_embd. */
    public Integer nInner;
    public String activationFunction = "gelu_new";
    public float residPdrop = 0.1f;
    public float embdPdrop = 0.1f;
    public float attnPdrop = 0.1f;
    public float layerNormEpsilon = 1e-5f;
    public float initializerRange = 0.02f;
    public int bosTokenId = 50256;
    public int eosTokenId = 50256;
    /** Attention scores divided by sqrt(head size) (HF's default); false leaves them unscaled. */
    public boolean scaleAttnWeights = true;
    /** Scores of layer i (0-based) further divided by i + 1 (Mistral/Stanford CRFM GPT-2s). */
    public boolean scaleAttnByInverseLayerIdx;
    /**
     * HF computes attention scores in fp32 with the scaling folded into the matmul. The same
     * numbers in our fp32 model; kept so the flag round-trips through config.json.
     */
    public boolean reorderAndUpcastAttn;

    public static Gpt2Config fromJson(JsonObject o) {
        Gpt2Config c = new Gpt2Config();
        c.vocabSize = Json.getInt(o, "vocab_size", c.vocabSize);
        c.nPositions = Json.getInt(o, "n_positions", c.nPositions);
        c.nEmbd = Json.getInt(o, "n_embd", c.nEmbd);
        c.nLayer = Json.getInt(o, "n_layer", c.nLayer);
        c.nHead = Json.getInt(o, "n_head", c.nHead);
        if (o.has("n_inner") && !o.get("n_inner").isJsonNull()) c.nInner = Json.getInt(o, "n_inner", 0);
        c.activationFunction = Json.getString(o, "activation_function", c.activationFunction);
        c.residPdrop = Json.getFloat(o, "resid_pdrop", c.residPdrop);
        c.embdPdrop = Json.getFloat(o, "embd_pdrop", c.embdPdrop);
        c.attnPdrop = Json.getFloat(o, "attn_pdrop", c.attnPdrop);
        c.layerNormEpsilon = Json.getFloat(o, "layer_norm_epsilon", c.layerNormEpsilon);
        c.initializerRange = Json.getFloat(o, "initializer_range", c.initializerRange);
        c.bosTokenId = Json.getInt(o, "bos_token_id", c.bosTokenId);
        c.eosTokenId = Json.getInt(o, "eos_token_id", c.eosTokenId);
        c.scaleAttnWeights = Json.getBoolean(o, "scale_attn_weights", c.scaleAttnWeights);
        c.scaleAttnByInverseLayerIdx = Json.getBoolean(o, "scale_attn_by_inverse_layer_idx", false);
        c.reorderAndUpcastAttn = Json.getBoolean(o, "reorder_and_upcast_attn", false);
        // HF variants our decoder does not implement: refused, so no other model runs in their place
        Json.only(o, "add_cross_attention", false, "cross-attention to an encoder is not implemented");
        Json.only(o, "tie_word_embeddings", true, "the LM head is tied to transformer.wte; an untied lm_head.weight would be ignored");
        c.validate();
        return c;
    }

    public static Gpt2Config load(Path configJson) throws IOException {
        return fromJson(JsonParser.parseString(Files.readString(configJson)).getAsJsonObject());
    }

    /**
     * Throws a one-line error naming the config.json field for any value the model cannot honour
     * (also called for configs built in code, before a model is made from them).
     */
    public void validate() {
        Json.atLeastOne("vocab_size", vocabSize);
        Json.atLeastOne("n_positions", nPositions);
        Json.atLeastOne("n_embd", nEmbd);
        Json.atLeastOne("n_layer", nLayer);
        Json.atLeastOne("n_head", nHead);
        if (nInner != null) Json.atLeastOne("n_inner", nInner);
        if (nEmbd % nHead != 0) {
            throw Json.error("n_embd", nEmbd + " is not a multiple of n_head " + nHead
                    + "; each head gets n_embd / n_head dimensions");
        }
        Json.oneOf("activation_function", activationFunction, List.of("gelu_new", "gelu", "relu"));
        Json.probability("resid_pdrop", residPdrop);
        Json.probability("embd_pdrop", embdPdrop);
        Json.probability("attn_pdrop", attnPdrop);
        Json.positive("layer_norm_epsilon", layerNormEpsilon);
        if (!(initializerRange >= 0) || Float.isInfinite(initializerRange)) {
            throw Json.error("initializer_range", "is " + initializerRange + "; it must be a number >= 0");
        }
    }

    /** The factor applied to layer {@code layer}'s attention scores (HF GPT2Attention). */
    public float attentionScale(int layer) {
        float s = scaleAttnWeights ? (float) (1 / Math.sqrt(headDim())) : 1f;
        return scaleAttnByInverseLayerIdx ? s / (layer + 1) : s;
    }

    public int innerSize() {
        return nInner == null ? 4 * nEmbd : nInner;
    }

    public int headDim() {
        return nEmbd / nHead;
    }

    /** config.json as HF Transformers writes it for GPT2LMHeadModel. */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add("GPT2LMHeadModel");
        o.add("architectures", arch);
        o.addProperty("model_type", "gpt2");
        o.addProperty("vocab_size", vocabSize);
        o.addProperty("n_positions", nPositions);
        o.addProperty("n_ctx", nPositions);
        o.addProperty("n_embd", nEmbd);
        o.addProperty("n_layer", nLayer);
        o.addProperty("n_head", nHead);
        if (nInner != null) o.addProperty("n_inner", nInner);
        o.addProperty("activation_function", activationFunction);
        o.addProperty("resid_pdrop", residPdrop);
        o.addProperty("embd_pdrop", embdPdrop);
        o.addProperty("attn_pdrop", attnPdrop);
        o.addProperty("layer_norm_epsilon", layerNormEpsilon);
        o.addProperty("initializer_range", initializerRange);
        o.addProperty("bos_token_id", bosTokenId);
        o.addProperty("eos_token_id", eosTokenId);
        o.addProperty("scale_attn_weights", scaleAttnWeights);
        o.addProperty("scale_attn_by_inverse_layer_idx", scaleAttnByInverseLayerIdx);
        o.addProperty("reorder_and_upcast_attn", reorderAndUpcastAttn);
        o.addProperty("tie_word_embeddings", true);
        o.addProperty("torch_dtype", "float32");
        return o;
    }

    public void save(Path configJson) throws IOException {
        dev.kiln.util.AtomicFiles.writeJson(configJson, toJson());
    }
}
