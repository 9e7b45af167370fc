#!/usr/bin/env python3
"""The PyTorch/HF side of scripts/gpu-check: all-MiniLM-L6-v2 (the zoo folder Kiln trains from) as an HF
BertForSequenceClassification, trained on the same SST-2 sentences, batch and max_length as gpu-check's one-device
row, AdamW; fp16 autocast with a GradScaler on CUDA (Kiln: fp16-mixed), fp32 on CPU. Prints one JSON line:
median seconds per step after 2 warm-up steps and real (unpadded) tokens per second.

usage: gpu-check-hf.py MODEL_DIR SST2_FILE --device cuda:0 --steps 30 --batch 32 --max-length 64
"""
import argparse, json, statistics, sys, time

import torch
from transformers import AutoTokenizer, BertForSequenceClassification

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("sst2")
p.add_argument("--device", default="cuda:0")
p.add_argument("--steps", type=int, default=30)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--max-length", type=int, default=64)
a = p.parse_args()

dev = torch.device(a.device)
cuda = dev.type == "cuda"
tok = AutoTokenizer.from_pretrained(a.model)
model = BertForSequenceClassification.from_pretrained(a.model, num_labels=2).to(dev)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
scaler = torch.amp.GradScaler("cuda") if cuda else None
lines = [l.rstrip("\n") for l in open(a.sst2, encoding="utf-8") if l.strip()]
rows = [(int(l[0]), l[2:]) for l in lines]
secs, toks = [], []
for s in range(a.steps):
    chunk = rows[(s * a.batch) % len(rows):][: a.batch]
    enc = tok([t for _, t in chunk], padding=True, truncation=True, max_length=a.max_length, return_tensors="pt").to(dev)
    y = torch.tensor([l for l, _ in chunk], device=dev)
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with torch.autocast("cuda", dtype=torch.float16, enabled=cuda):
        loss = model(**enc, labels=y).loss
    if scaler:
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    opt.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
    secs.append(time.perf_counter() - t0)
    toks.append(int(enc["attention_mask"].sum()))
med = statistics.median(secs[2:] if len(secs) > 2 else secs)
tps = statistics.mean(toks[2:] if len(toks) > 2 else toks) / med
print(json.dumps({"device": str(dev), "torch": torch.__version__, "step_seconds": med, "tokens_per_second": tps,
                  "precision": "fp16 autocast" if cuda else "fp32", "final_loss": float(loss)}))
