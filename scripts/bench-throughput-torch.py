#!/usr/bin/env python3
"""PyTorch eager side of scripts/bench-throughput: one BERT training step as HF's BertModel computes it
(post-LayerNorm encoder, erf GELU, dropout 0.1 on embeddings, attention probabilities and sub-layer outputs),
mean pooling into a 2-way head, cross-entropy, clip to norm 1, AdamW. Written for the benchmark (no transformers
dependency); random weights, random token ids, full batches (no padding). Prints one JSON line: the step times
and this process's fp32 matmul peak.

usage: bench-throughput-torch.py --hidden 384 --layers 6 --heads 12 --intermediate 1536 --batch 32 --seq 64
                                 --steps 3 --warmup 1 --threads 1
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, d, heads, inter, p):
        super().__init__()
        self.h, self.dk = heads, d // heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attn_out, self.ln1 = nn.Linear(d, d), nn.LayerNorm(d, eps=1e-12)
        self.inter, self.out, self.ln2 = nn.Linear(d, inter), nn.Linear(inter, d), nn.LayerNorm(d, eps=1e-12)
        self.p = p

    def forward(self, x, bias):
        b, t, d = x.shape
        split = lambda y: y.view(b, t, self.h, self.dk).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.dk) + bias
        probs = F.dropout(scores.softmax(-1), self.p, self.training)
        ctx = (probs @ v).transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + F.dropout(self.attn_out(ctx), self.p, self.training))
        return self.ln2(x + F.dropout(self.out(F.gelu(self.inter(x))), self.p, self.training))


class Bert(nn.Module):
    def __init__(self, vocab, d, layers, heads, inter, positions=512, p=0.1):
        super().__init__()
        self.word, self.pos, self.types = nn.Embedding(vocab, d), nn.Embedding(positions, d), nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(Layer(d, heads, inter, p) for _ in range(layers))
        self.head = nn.Linear(d, 2)
        self.p = p

    def forward(self, ids, mask):
        t = ids.shape[1]
        x = self.word(ids) + self.pos(torch.arange(t))[None] + self.types(torch.zeros_like(ids))
        x = F.dropout(self.ln(x), self.p, self.training)
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, bias)
        m = mask[..., None].float()
        return self.head((x * m).sum(1) / m.sum(1).clamp(min=1e-9))


def matmul_peak(n=1024, reps=8):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best


def main():
    ap = argparse.ArgumentParser()
    for k, v in dict(hidden=384, layers=6, heads=12, intermediate=1536, batch=32, seq=64, steps=3, warmup=1,
                     threads=1, vocab=30522, seed=0).items():
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = Bert(a.vocab, a.hidden, a.layers, a.heads, a.intermediate)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "word" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "word" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=5e-5)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq))
    mask = torch.ones_like(ids)
    y = torch.randint(0, 2, (a.batch,))
    times = []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(ids, mask), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if s >= a.warmup:
            times.append(time.perf_counter() - t0)
    print(json.dumps({"step_seconds": times, "peak_flops": matmul_peak(), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
