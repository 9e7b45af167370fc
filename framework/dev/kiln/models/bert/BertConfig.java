package dev.kiln.models.bert;

import dev.kiln.models.Json;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** HF {@code BertConfig}: the fields of config.json that shape the network. */
public final class BertConfig {
    public int vocabSize = 30522;
    public int hiddenSize = 768;
    public int numHiddenLayers = 12;
    public int numAttentionHeads = 12;
    public int intermediateSize = 3072;
    public String hiddenAct = "gelu";
    public float hiddenDropoutProb = 0.1f;
    public float attentionProbsDropoutProb = 0.1f;
    public int maxPositionEmbeddings = 512;
    public int typeVocabSize = 2;
    public float layerNormEps = 1e-12f;
    public int padTokenId = 0;
    public float initializerRange = 0.02f;
    /** Tokenizer hint carried in config.json by some exporters; also set by our importers. */
    public Boolean doLowerCase;

    public static BertConfig fromJson(JsonObject o) {
        BertConfig c = new BertConfig();
        c.vocabSize = Json.getInt(o, "vocab_size", c.vocabSize);
        c.hiddenSize = Json.getInt(o, "hidden_size", c.hiddenSize);
        c.numHiddenLayers = Json.getInt(o, "num_hidden_layers", c.numHiddenLayers);
        c.numAttentionHeads = Json.getInt(o, "num_attention_heads", c.numAttentionHeads);
        c.intermediateSize = Json.getInt(o, "intermediate_size", c.intermediateSize);
        c.hiddenAct = Json.getString(o, "hidden_act", c.hiddenAct);
        c.hiddenDropoutProb = Json.getFloat(o, "hidden_dropout_prob", c.hiddenDropoutProb);
        c.attentionProbsDropoutProb = Json.getFloat(o, "attention_probs_dropout_prob", c.attentionProbsDropoutProb);
        c.maxPositionEmbeddings = Json.getInt(o, "max_position_embeddings", c.maxPositionEmbeddings);
        c.typeVocabSize = Json.getInt(o, "type_vocab_size", c.typeVocabSize);
        c.layerNormEps = Json.getFloat(o, "layer_norm_eps", c.layerNormEps);
        c.padTokenId = Json.getInt(o, "pad_token_id", c.padTokenId);
        c.initializerRange = Json.getFloat(o, "initializer_range", c.initializerRange);
        if (o.has("do_lower_case") && !o.get("do_lower_case").isJsonNull()) c.doLowerCase = Json.getBoolean(o, "do_lower_case", true);
        // HF variants our encoder does not implement: refused, so no other model runs in their place
        Json.oneOf("position_embedding_type", Json.getString(o, "position_embedding_type", "absolute"), List.of("absolute"));
        Json.only(o, "is_decoder", false, "Kiln's BERT is a bidirectional encoder; use a GPT-2 model for causal LM");
        Json.only(o, "add_cross_attention", false, "encoder-decoder BERT is not implemented");
        c.validate();
        return c;
    }

    public static BertConfig load(Path configJson) throws IOException {
        return fromJson(JsonParser.parseString(Files.readString(configJson)).getAsJsonObject());
    }

    /**
     * Throws a one-line error naming the config.json field for any value the model cannot honour
     * (also called for configs built in code, before a model is made from them).
     */
    public void validate() {
        Json.atLeastOne("vocab_size", vocabSize);
        Json.atLeastOne("hidden_size", hiddenSize);
        Json.atLeastOne("num_hidden_layers", numHiddenLayers);
        Json.atLeastOne("num_attention_heads", numAttentionHeads);
        Json.atLeastOne("intermediate_size", intermediateSize);
        Json.atLeastOne("max_position_embeddings", maxPositionEmbeddings);
        Json.atLeastOne("type_vocab_size", typeVocabSize);
        if (hiddenSize % numAttentionHeads != 0) {
            throw Json.error("hidden_size", hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads
                    + "; each head gets hidden_size / num_attention_heads dimensions");
        }
        Json.oneOf("hidden_act", hiddenAct, List.of("gelu", "gelu_new", "relu"));
        Json.probability("hidden_dropout_prob", hiddenDropoutProb);
        Json.probability("attention_probs_dropout_prob", attentionProbsDropoutProb);
        Json.positive("layer_norm_eps", layerNormEps);
        if (!(initializerRange >= 0) || Float.isInfinite(initializerRange)) {
            throw Json.error("initializer_range", "is " + initializerRange + "; it must be a number >= 0");
        }
    }

    /** config.json as HF Transformers writes it for BertForPreTraining. */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        com.google.gson.JsonArray arch = new com.google.gson.JsonArray();
        arch.add("BertForPreTraining");
        o.add("architectures", arch);
        o.addProperty("model_type", "bert");
        o.addProperty("vocab_size", vocabSize);
        o.addProperty("hidden_size", hiddenSize);
        o.addProperty("num_hidden_layers", numHiddenLayers);
        o.addProperty("num_attention_heads", numAttentionHeads);
        o.addProperty("intermediate_size", intermediateSize);
        o.addProperty("hidden_act", hiddenAct);
        o.addProperty("hidden_dropout_prob", hiddenDropoutProb);
        o.addProperty("attention_probs_dropout_prob", attentionProbsDropoutProb);
        o.addProperty("max_position_embeddings", maxPositionEmbeddings);
        o.addProperty("type_vocab_size", typeVocabSize);
        o.addProperty("layer_norm_eps", layerNormEps);
        o.addProperty("pad_token_id", padTokenId);
        o.addProperty("initializer_range", initializerRange);
        o.addProperty("position_embedding_type", "absolute");
        if (doLowerCase != null) o.addProperty("do_lower_case", doLowerCase);
        o.addProperty("torch_dtype", "float32");
        return o;
    }

    public void save(Path configJson) throws IOException {
        dev.kiln.util.AtomicFiles.writeJson(configJson, toJson());
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }
}
