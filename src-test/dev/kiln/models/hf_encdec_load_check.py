#!/usr/bin/env python3
"""What HF's EncoderDecoderModel.from_pretrained would make of a Kiln encoder-decoder folder, without transformers:
the loading rules re-implemented from HF's source (configuration_encoder_decoder.py, modeling_encoder_decoder.py,
modeling_bert.py's BertModel and BertLMHeadModel), applied to config.json and the safetensors header.

- config: EncoderDecoderConfig pops "model_type" from the "encoder" and "decoder" objects (AutoConfig.for_model);
  the decoder must have is_decoder and add_cross_attention (else BertLMHeadModel builds no crossattention);
  decoder_start_token_id and pad_token_id are needed to build decoder inputs from labels (shift_tokens_right);
  different hidden sizes without cross_attention_hidden_size add an enc_to_dec_proj layer.
- modules: encoder = BertModel(add_pooling_layer=True), decoder = BertLMHeadModel = bert (no pooler) + cls.predictions;
  the state-dict keys and shapes follow from the configs.
- tied: BertLMHeadModel._tied_weights_keys (cls.predictions.decoder.weight/bias), and with tie_encoder_decoder every
  decoder.bert module that has an encoder counterpart (_tie_encoder_decoder_weights; crossattention has none).
- result: missing = expected - stored - tied (HF initialises them randomly and warns), unexpected = stored - expected,
  shape mismatches (HF refuses the load).

usage: hf_encdec_load_check.py MODEL_DIR   -> prints one JSON object
"""
import json, struct, sys, os

def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    return {k: v["shape"] for k, v in h.items()}

def bert_module(prefix, c, pooler, cross):
    h, inter = c["hidden_size"], c["intermediate_size"]
    keys = {
        prefix + "embeddings.word_embeddings.weight": [c["vocab_size"], h],
        prefix + "embeddings.position_embeddings.weight": [c["max_position_embeddings"], h],
        prefix + "embeddings.token_type_embeddings.weight": [c.get("type_vocab_size", 2), h],
        prefix + "embeddings.LayerNorm.weight": [h],
        prefix + "embeddings.LayerNorm.bias": [h],
    }
    def attention(p):
        for proj in ("query", "key", "value"):
            keys[p + ".self." + proj + ".weight"] = [h, h]
            keys[p + ".self." + proj + ".bias"] = [h]
        keys[p + ".output.dense.weight"] = [h, h]
        keys[p + ".output.dense.bias"] = [h]
        keys[p + ".output.LayerNorm.weight"] = [h]
        keys[p + ".output.LayerNorm.bias"] = [h]
    for i in range(c["num_hidden_layers"]):
        l = prefix + "encoder.layer.%d." % i
        attention(l + "attention")
        if cross:
            attention(l + "crossattention")
        keys[l + "intermediate.dense.weight"] = [inter, h]
        keys[l + "intermediate.dense.bias"] = [inter]
        keys[l + "output.dense.weight"] = [h, inter]
        keys[l + "output.dense.bias"] = [h]
        keys[l + "output.LayerNorm.weight"] = [h]
        keys[l + "output.LayerNorm.bias"] = [h]
    if pooler:
        keys[prefix + "pooler.dense.weight"] = [h, h]
        keys[prefix + "pooler.dense.bias"] = [h]
    return keys

def main(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    errors = []
    if cfg.get("model_type") != "encoder-decoder":
        errors.append("model_type is %r, not 'encoder-decoder' (AutoModel would not pick EncoderDecoderModel)" % cfg.get("model_type"))
    enc, dec = cfg.get("encoder"), cfg.get("decoder")
    if not isinstance(enc, dict) or not isinstance(dec, dict):
        errors.append("encoder and decoder must both be objects")
        print(json.dumps({"config_errors": errors}))
        return
    for name, side in (("encoder", enc), ("decoder", dec)):
        if "model_type" not in side:
            errors.append(name + ".model_type missing (EncoderDecoderConfig pops it)")
        elif side["model_type"] != "bert":
            errors.append(name + ".model_type is %r; this check knows BERT only" % side["model_type"])
    if not dec.get("is_decoder"):
        errors.append("decoder.is_decoder is not true: BertLMHeadModel would attend bidirectionally")
    if not dec.get("add_cross_attention"):
        errors.append("decoder.add_cross_attention is not true: no crossattention modules would exist")
    for f in ("decoder_start_token_id", "pad_token_id"):
        if cfg.get(f) is None:
            errors.append(f + " missing: shift_tokens_right raises without it")
    projection = enc["hidden_size"] != dec["hidden_size"] and dec.get("cross_attention_hidden_size") is None

    expected = bert_module("encoder.", enc, True, False)
    expected.update(bert_module("decoder.bert.", dec, False, bool(dec.get("add_cross_attention"))))
    h, v = dec["hidden_size"], dec["vocab_size"]
    expected.update({
        "decoder.cls.predictions.bias": [v],
        "decoder.cls.predictions.transform.dense.weight": [h, h],
        "decoder.cls.predictions.transform.dense.bias": [h],
        "decoder.cls.predictions.transform.LayerNorm.weight": [h],
        "decoder.cls.predictions.transform.LayerNorm.bias": [h],
        "decoder.cls.predictions.decoder.weight": [v, h],
        "decoder.cls.predictions.decoder.bias": [v],
    })
    if projection:
        expected["enc_to_dec_proj.weight"] = [dec["hidden_size"], enc["hidden_size"]]
        expected["enc_to_dec_proj.bias"] = [dec["hidden_size"]]
    tied = set()
    if dec.get("tie_word_embeddings", True):
        tied |= {"decoder.cls.predictions.decoder.weight", "decoder.cls.predictions.decoder.bias"}
    if cfg.get("tie_encoder_decoder"):
        for k in expected:
            if k.startswith("decoder.bert.") and "encoder." + k[len("decoder.bert."):] in expected:
                tied.add(k)

    stored = header(os.path.join(d, "model.safetensors"))
    missing = sorted(k for k in expected if k not in stored and k not in tied)
    unexpected = sorted(k for k in stored if k not in expected)
    mismatched = sorted("%s: stored %s, expected %s" % (k, stored[k], expected[k])
                        for k in stored if k in expected and list(stored[k]) != list(expected[k]))
    print(json.dumps({"config_errors": errors, "missing": missing, "unexpected": unexpected, "mismatched": mismatched,
                      "tied": len(tied), "loaded": len([k for k in stored if k in expected]),
                      "enc_to_dec_proj": projection}))

if __name__ == "__main__":
    main(sys.argv[1])
