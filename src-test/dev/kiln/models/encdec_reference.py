#!/usr/bin/env python3
"""Independent float64 forward of an HF EncoderDecoderModel (BERT encoder + BertLMHeadModel decoder) in numpy,
written from HF's modeling_bert.py / modeling_encoder_decoder.py semantics, for EncoderDecoderModelTest.

usage: encdec_reference.py MODEL_DIR INPUT_JSON OUTPUT_JSON
INPUT_JSON: {"src": [[ids]], "src_mask": [[0/1]], "tgt": [[ids]]}; OUTPUT_JSON: {"logits": [B][T][V]}
"""
import json, math, struct, sys
import numpy as np

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).astype(np.float64)
    return out

erf = np.vectorize(math.erf)

def gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))

def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b

def linear(W, p, x):
    return x @ W[p + ".weight"].T + W[p + ".bias"]

def attention(W, p, x, kv, mask, heads):
    """BertSelfAttention (query from x, key/value from kv) + BertSelfOutput (post-LN residual on x)."""
    B, T, H = x.shape
    S = kv.shape[1]
    d = H // heads
    def split(y, n):
        return y.reshape(B, n, heads, d).transpose(0, 2, 1, 3)
    q = split(linear(W, p + ".self.query", x), T)
    k = split(linear(W, p + ".self.key", kv), S)
    v = split(linear(W, p + ".self.value", kv), S)
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + mask
    s = s - s.max(-1, keepdims=True)
    pr = np.exp(s)
    pr = pr / pr.sum(-1, keepdims=True)
    ctx = (pr @ v).transpose(0, 2, 1, 3).reshape(B, T, H)
    return layer_norm(linear(W, p + ".output.dense", ctx) + x, W[p + ".output.LayerNorm.weight"],
                      W[p + ".output.LayerNorm.bias"], EPS)

def embeddings(W, p, ids):
    T = ids.shape[1]
    e = W[p + ".word_embeddings.weight"][ids] + W[p + ".position_embeddings.weight"][np.arange(T)][None] \
        + W[p + ".token_type_embeddings.weight"][np.zeros_like(ids)]
    return layer_norm(e, W[p + ".LayerNorm.weight"], W[p + ".LayerNorm.bias"], EPS)

def ffn(W, p, a, act):
    h = linear(W, p + ".intermediate.dense", a)
    h = gelu(h) if act == "gelu" else np.maximum(h, 0)
    return layer_norm(linear(W, p + ".output.dense", h) + a, W[p + ".output.LayerNorm.weight"],
                      W[p + ".output.LayerNorm.bias"], EPS)

def main():
    global EPS
    model_dir, inp, outp = sys.argv[1:4]
    cfg = json.load(open(model_dir + "/config.json"))
    assert cfg["model_type"] == "encoder-decoder"
    W = read_safetensors(model_dir + "/model.safetensors")
    ec, dc = cfg["encoder"], cfg["decoder"]
    EPS = ec["layer_norm_eps"]
    tied = cfg.get("tie_encoder_decoder", False)
    x = json.load(open(inp))
    src = np.array(x["src"]); src_mask = np.array(x["src_mask"], dtype=np.float64); tgt = np.array(x["tgt"])
    # encoder: BertModel, extended attention mask (1 - mask) * large negative
    enc_mask = ((1.0 - src_mask) * -10000.0)[:, None, None, :]
    h = embeddings(W, "encoder.embeddings", src)
    for i in range(ec["num_hidden_layers"]):
        p = "encoder.encoder.layer.%d" % i
        h = ffn(W, p, attention(W, p + ".attention", h, h, enc_mask, ec["num_attention_heads"]), ec["hidden_act"])
    # decoder: BertLMHeadModel with is_decoder (causal) and add_cross_attention; tied: the encoder's BERT weights
    base = "encoder." if tied else "decoder.bert."
    T = tgt.shape[1]
    causal = np.triu(np.full((T, T), -10000.0), 1)[None, None]
    y = embeddings(W, base + "embeddings", tgt)
    for i in range(dc["num_hidden_layers"]):
        p = base + "encoder.layer.%d" % i
        a = attention(W, p + ".attention", y, y, causal, dc["num_attention_heads"])
        c = attention(W, "decoder.bert.encoder.layer.%d.crossattention" % i, a, h, enc_mask, dc["num_attention_heads"])
        y = ffn(W, p, c, dc["hidden_act"])
    t = linear(W, "decoder.cls.predictions.transform.dense", y)
    t = gelu(t) if dc["hidden_act"] == "gelu" else np.maximum(t, 0)
    t = layer_norm(t, W["decoder.cls.predictions.transform.LayerNorm.weight"],
                   W["decoder.cls.predictions.transform.LayerNorm.bias"], EPS)
    logits = t @ W[base + "embeddings.word_embeddings.weight"].T + W["decoder.cls.predictions.bias"]
    json.dump({"logits": logits.tolist()}, open(outp, "w"))

if __name__ == "__main__":
    main()
