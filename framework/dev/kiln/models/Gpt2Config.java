package dev.kiln.models;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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
    public boolean scaleAttnWeights = true;

    public static Gpt2Config fromJson(JsonObject o) {
        Gpt2Config c = new Gpt2Config();
        c.vocabSize = Json.getInt(o, "vocab_size", c.vocabSize);
        c.nPositions = Json.getInt(o, "n_positions", c.nPositions);
        c.nEmbd = Json.getInt(o, "n_embd", c.nEmbd);
        c.nLayer = Json.getInt(o, "n_layer", c.nLayer);
        c.nHead = Json.getInt(o, "n_head", c.nHead);
        if (o.has("n_inner") && !o.get("n_inner").isJsonNull()) c.nInner = o.get("n_inner").getAsInt();
        c.activationFunction = Json.getString(o, "activation_function", c.activationFunction);
        c.residPdrop = Json.getFloat(o, "resid_pdrop", c.residPdrop);
        c.embdPdrop = Json.getFloat(o, "embd_pdrop", c.embdPdrop);
        c.attnPdrop = Json.getFloat(o, "attn_pdrop", c.attnPdrop);
        c.layerNormEpsilon = Json.getFloat(o, "layer_norm_epsilon", c.layerNormEpsilon);
        c.initializerRange = Json.getFloat(o, "initializer_range", c.initializerRange);
        c.bosTokenId = Json.getInt(o, "bos_token_id", c.bosTokenId);
        c.eosTokenId = Json.getInt(o, "eos_token_id", c.eosTokenId);
        if (o.has("scale_attn_weights")) c.scaleAttnWeights = o.get("scale_attn_weights").getAsBoolean();
        c.validate();
        return c;
    }

    public static Gpt2Config load(Path configJson) throws IOException {
        return fromJson(JsonParser.parseString(Files.readString(configJson)).getAsJsonObject());
    }

    public void validate() {
        if (nEmbd % nHead != 0) {
            throw new IllegalArgumentException("config.json: n_embd " + nEmbd + " is not a multiple of n_head " + nHead);
        }
        if (!activationFunction.equals("gelu_new") && !activationFunction.equals("gelu")
                && !activationFunction.equals("relu")) {
            throw new IllegalArgumentException("config.json: activation_function '" + activationFunction
                    + "' is not supported (gelu_new, gelu, relu)");
        }
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
        o.addProperty("tie_word_embeddings", true);
        o.addProperty("torch_dtype", "float32");
        return o;
    }

    public void save(Path configJson) throws IOException {
        Json.writeAtomic(configJson, toJson());
    }
}
