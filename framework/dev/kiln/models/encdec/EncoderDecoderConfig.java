package dev.kiln.models.encdec;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.kiln.models.Json;
import dev.kiln.models.bert.BertConfig;

import java.util.List;

/**
 * HF {@code EncoderDecoderConfig} with BERT on both sides (Rothe et al. 2020's bert2bert): config.json has
 * {@code model_type} "encoder-decoder", the {@code encoder} and {@code decoder} sub-configs (the decoder's with
 * {@code is_decoder} and {@code add_cross_attention}), and the ids that teacher forcing and generation need.
 */
public final class EncoderDecoderConfig {
    public static final String MODEL_TYPE = "encoder-decoder";

    public BertConfig encoder;
    public BertConfig decoder;
    /** The first decoder input (BERT's [CLS] in Rothe et al. and HF's bert2bert recipe). */
    public int decoderStartTokenId;
    /** Padding of encoder and decoder inputs. */
    public int padTokenId;
    /** Where a summary ends ([SEP]). */
    public int eosTokenId;
    /** bert2bert-share: the decoder's BERT weights are the encoder's (only cross-attention and the LM head are its own). */
    public boolean tieEncoderDecoder;

    /** Dropout keys that, given at the top level (a run's dropout override), apply to both sides. */
    private static final List<String> DROPOUT_KEYS = List.of("hidden_dropout_prob", "attention_probs_dropout_prob");

    public static EncoderDecoderConfig fromJson(JsonObject o) {
        EncoderDecoderConfig c = new EncoderDecoderConfig();
        c.encoder = side(o, "encoder", false);
        c.decoder = side(o, "decoder", true);
        c.decoderStartTokenId = required(o, "decoder_start_token_id");
        c.padTokenId = required(o, "pad_token_id");
        c.eosTokenId = required(o, "eos_token_id");
        c.tieEncoderDecoder = Json.getBoolean(o, "tie_encoder_decoder", false);
        c.validate();
        return c;
    }

    private static int required(JsonObject o, String field) {
        if (!o.has(field) || o.get(field).isJsonNull()) {
            throw Json.error(field, "is missing; an encoder-decoder needs it for teacher forcing and generation "
                    + "(BERT: decoder_start_token_id = [CLS], eos_token_id = [SEP], pad_token_id = [PAD])");
        }
        return Json.getInt(o, field, 0);
    }

    private static BertConfig side(JsonObject o, String name, boolean decoder) {
        JsonElement e = o.get(name);
        if (e == null || !e.isJsonObject()) throw Json.error(name, "is missing: an encoder-decoder config.json holds the "
                + "encoder and decoder configs as objects");
        JsonObject s = e.getAsJsonObject().deepCopy();
        String type = Json.getString(s, "model_type", "bert");
        if (!"bert".equals(type)) {
            throw Json.error(name + ".model_type", "'" + type + "' is not supported; Kiln's encoder-decoder is BERT to BERT");
        }
        try {
            if (decoder) {
                Json.only(s, "is_decoder", true, "the decoder attends causally");
                Json.only(s, "add_cross_attention", true, "the decoder attends to the encoder");
                Json.only(s, "tie_word_embeddings", true, "the LM head is the decoder's word embeddings");
            } else {
                Json.only(s, "is_decoder", false, "the encoder is bidirectional");
                Json.only(s, "add_cross_attention", false, "the encoder has no cross-attention");
            }
        } catch (IllegalArgumentException x) {
            throw new IllegalArgumentException(x.getMessage().replace("config.json: ", "config.json: " + name + "."), x);
        }
        // BertConfig refuses the decoder flags (a plain BERT is an encoder); they are checked above
        s.remove("is_decoder");
        s.remove("add_cross_attention");
        for (String k : DROPOUT_KEYS) if (o.has(k)) s.add(k, o.get(k));
        try {
            return BertConfig.fromJson(s);
        } catch (IllegalArgumentException x) {
            throw new IllegalArgumentException(x.getMessage().replace("config.json: ", "config.json: " + name + "."), x);
        }
    }

    public void validate() {
        encoder.validate();
        decoder.validate();
        if (encoder.hiddenSize != decoder.hiddenSize) {
            // HF then adds an enc_to_dec_proj layer, which Kiln does not implement
            throw Json.error("decoder.hidden_size", decoder.hiddenSize + " differs from encoder.hidden_size " + encoder.hiddenSize
                    + "; Kiln's cross-attention needs equal sizes");
        }
        for (String f : new String[] {"decoder_start_token_id", "pad_token_id", "eos_token_id"}) {
            int v = f.startsWith("decoder") ? decoderStartTokenId : f.startsWith("pad") ? padTokenId : eosTokenId;
            if (v < 0 || v >= decoder.vocabSize) throw Json.error(f, v + " is outside the decoder's vocabulary of " + decoder.vocabSize);
        }
        if (tieEncoderDecoder && !encoder.toJson().equals(decoder.toJson())) {
            throw Json.error("tie_encoder_decoder", "is true but the encoder and decoder configs differ; shared weights need one shape");
        }
    }

    /** config.json as HF writes it for {@code EncoderDecoderModel}. */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add("EncoderDecoderModel");
        o.add("architectures", arch);
        o.addProperty("model_type", MODEL_TYPE);
        o.addProperty("is_encoder_decoder", true);
        JsonObject enc = encoder.toJson();
        enc.remove("architectures");
        enc.addProperty("is_decoder", false);
        enc.addProperty("add_cross_attention", false);
        JsonObject dec = decoder.toJson();
        dec.remove("architectures");
        dec.addProperty("is_decoder", true);
        dec.addProperty("add_cross_attention", true);
        o.add("encoder", enc);
        o.add("decoder", dec);
        o.addProperty("decoder_start_token_id", decoderStartTokenId);
        o.addProperty("pad_token_id", padTokenId);
        o.addProperty("eos_token_id", eosTokenId);
        o.addProperty("tie_encoder_decoder", tieEncoderDecoder);
        o.addProperty("vocab_size", decoder.vocabSize);
        o.addProperty("torch_dtype", "float32");
        return o;
    }
}
