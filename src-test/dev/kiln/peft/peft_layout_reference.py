#!/usr/bin/env python3
"""Reads a Kiln PEFT folder the way HF PEFT (huggingface/peft, checked at commit 5d602fd) would, with PEFT's rules
re-implemented in numpy (no `peft` package needed), for PeftRunTest:

- adapter_config.json: every field is a field of PeftConfig / LoraConfig / AdaLoraConfig; peft_type LORA or ADALORA;
  AdaLoRA's schedule is one PEFT accepts (AdaLoraConfig.__post_init__: total_step > 0, tinit < total_step - tfinal).
- target modules: the base model's Linear / Conv1D modules selected by PEFT's check_target_module_exists (a list:
  key == name or key ends with "." + name; a string: re.fullmatch), never one of modules_to_save.
- keys: what get_peft_model_state_dict writes after _remove_adapter_name_from_key: "base_model.model." + module +
  ".lora_A.weight" / ".lora_B.weight" (LoRA, nn.Linear children) or ".lora_A" / ".lora_E" / ".lora_B" (AdaLoRA,
  ParameterDict entries; ranknum is not saved), the modules_to_save parameters as "base_model.model." + module +
  "." + param (ModulesToSaveWrapper.adapter_state_dict), and nothing else (bias "none").
- shapes: LoRA A (r, in), B (out, r); AdaLoRA A (k, in), E (k, 1), B (out, k) with k = kept triplets of
  rank_pattern (resize_state_dict_by_rank_pattern), else init_r; in/out from the base weight (Conv1D: (in, out),
  fan_in_fan_out).
- with MERGED_DIR: the merged weights equal base + get_delta_weight (LoRA: transpose(B @ A, fan_in_fan_out) *
  lora_alpha / r; AdaLoRA: transpose(B @ (A * E)) * lora_alpha / (init_r + 1e-5), PEFT keeping ranknum = init_r
  after resize_modules_by_rank_pattern), in float64, for every target module.

usage: peft_layout_reference.py ADAPTER_DIR [MERGED_DIR]; prints one JSON line, exits 1 with the reason on failure.
"""
import json, os, re, struct, sys
import numpy as np

PEFT_CONFIG_FIELDS = {"task_type", "peft_type", "auto_mapping", "peft_version", "base_model_name_or_path", "revision",
                      "inference_mode", "modules_to_save"}
LORA_FIELDS = {"r", "target_modules", "exclude_modules", "lora_alpha", "lora_dropout", "fan_in_fan_out", "bias",
               "use_rslora", "modules_to_save", "init_lora_weights", "layers_to_transform", "layers_pattern",
               "rank_pattern", "alpha_pattern", "megatron_config", "megatron_core", "trainable_token_indices",
               "loftq_config", "eva_config", "corda_config", "use_dora", "layer_replication", "runtime_config",
               "lora_bias", "target_parameters"}
ADALORA_FIELDS = {"target_r", "init_r", "tinit", "tfinal", "deltaT", "beta1", "beta2", "orth_reg_weight", "total_step",
                  "rank_pattern"}
CONV1D = {"c_attn", "c_proj", "c_fc"}  # GPT-2's transformers.pytorch_utils.Conv1D modules


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(1)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        dt = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}[v["dtype"]]
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype=dt).reshape(v["shape"]).astype(np.float64)
    return out


def read_model(folder):
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    index = os.path.join(folder, "model.safetensors.index.json")
    out = {}
    for f in sorted(set(json.load(open(index))["weight_map"].values())):
        out.update(read_safetensors(os.path.join(folder, f)))
    return out


def hf_key(key, prefix):
    """The key in the task model (BertForSequenceClassification: 'bert.' + BertModel's key; GPT-2: 'transformer.')."""
    return key if key.startswith(prefix + ".") else prefix + "." + key


def main():
    adapter = sys.argv[1]
    merged_dir = sys.argv[2] if len(sys.argv) > 2 else None
    cfg = json.load(open(os.path.join(adapter, "adapter_config.json")))
    ptype = cfg.get("peft_type")
    if ptype not in ("LORA", "ADALORA"):
        fail(f"peft_type {ptype!r} is not one HF PEFT loads here")
    known = PEFT_CONFIG_FIELDS | LORA_FIELDS | (ADALORA_FIELDS if ptype == "ADALORA" else set())
    unknown = sorted(set(cfg) - known)
    if unknown:
        fail(f"adapter_config.json fields that {ptype} configs do not have: {unknown}")
    if ptype == "ADALORA":
        if not cfg.get("total_step") or cfg["total_step"] <= 0 or cfg["tinit"] >= cfg["total_step"] - cfg["tfinal"]:
            fail("AdaLoraConfig would refuse this schedule")
    base_dir = cfg["base_model_name_or_path"]
    base_cfg = json.load(open(os.path.join(base_dir, "config.json")))
    prefix = {"bert": "bert", "gpt2": "transformer"}[base_cfg["model_type"]]
    base = {hf_key(k, prefix): v for k, v in read_model(base_dir).items()}
    linear = {k[:-len(".weight")]: v for k, v in base.items() if k.endswith(".weight") and v.ndim == 2
              and not re.search(r"(embeddings|wte|wpe)", k)}
    mts = cfg.get("modules_to_save") or []
    targets = cfg["target_modules"]

    def is_target(key):
        if any(re.match(rf"(^|.*\.){m}($|\..*)", key) for m in mts):
            return False
        if isinstance(targets, str):
            return re.fullmatch(targets, key) is not None
        return key in targets or any(key.endswith("." + t) for t in targets)

    chosen = [m for m in linear if is_target(m)]
    if not chosen:
        fail(f"target_modules {targets} select no module of the base model")
    saved = read_safetensors(os.path.join(adapter, "adapter_model.safetensors"))
    expected = {}
    rank_pattern = cfg.get("rank_pattern") or {}
    for m in chosen:
        w = linear[m]
        conv = m.rsplit(".", 1)[-1] in CONV1D
        if conv != bool(cfg["fan_in_fan_out"]) and ptype == "LORA":
            fail(f"fan_in_fan_out {cfg['fan_in_fan_out']} but {m} is {'a Conv1D' if conv else 'a Linear'}")
        fan_in, fan_out = (w.shape[0], w.shape[1]) if conv else (w.shape[1], w.shape[0])
        p = "base_model.model." + m
        if ptype == "LORA":
            r = cfg["r"]
            expected[p + ".lora_A.weight"] = (r, fan_in)
            expected[p + ".lora_B.weight"] = (fan_out, r)
        else:
            k = sum(rank_pattern[m + ".lora_E"]) if rank_pattern else cfg["init_r"]
            if rank_pattern and len(rank_pattern[m + ".lora_E"]) != cfg["init_r"]:
                fail(f"rank_pattern of {m} has {len(rank_pattern[m + '.lora_E'])} entries, init_r is {cfg['init_r']}")
            expected[p + ".lora_A"] = (k, fan_in)
            expected[p + ".lora_E"] = (k, 1)
            expected[p + ".lora_B"] = (fan_out, k)
    for k, shape in expected.items():
        if k not in saved:
            fail(f"PEFT expects {k}; the file has {sorted(saved)[:6]}...")
        if tuple(saved[k].shape) != shape:
            fail(f"{k}: PEFT creates {shape}, the file has {tuple(saved[k].shape)}")
    extra = [k for k in saved if k not in expected]
    heads = [k for k in extra if any(re.match(rf"base_model\.model\.(.*\.)?{m}\.[^.]+$", k) for m in mts)]
    stray = sorted(set(extra) - set(heads))
    if stray:
        fail(f"keys PEFT would not load (bias 'none', not in modules_to_save {mts}): {stray[:6]}")
    for m in mts:
        if not any(re.match(rf"base_model\.model\.(.*\.)?{m}\.", k) for k in heads):
            fail(f"modules_to_save names {m!r} but no tensor of it is saved")

    worst = None
    if merged_dir:
        merged = {hf_key(k, prefix): v for k, v in read_model(merged_dir).items()}
        worst = 0.0
        for m in chosen:
            p = "base_model.model." + m
            conv = m.rsplit(".", 1)[-1] in CONV1D
            if ptype == "LORA":
                delta = saved[p + ".lora_B.weight"] @ saved[p + ".lora_A.weight"] * cfg["lora_alpha"] / cfg["r"]
            else:
                delta = saved[p + ".lora_B"] @ (saved[p + ".lora_A"] * saved[p + ".lora_E"]) * cfg["lora_alpha"] / (cfg["init_r"] + 1e-5)
            if conv:
                delta = delta.T
            want = linear[m] + delta
            got = merged[m + ".weight"]
            scale = max(1.0, float(np.abs(want).max()))
            worst = max(worst, float(np.abs(got - want).max()) / scale)
    print(json.dumps({"ok": True, "peft_type": ptype, "targets": len(chosen), "keys": len(saved),
                      "heads": len(heads), "merged_worst_rel": worst}))


main()
