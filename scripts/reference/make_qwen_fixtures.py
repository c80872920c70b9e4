#!/usr/bin/env python3
"""Builds tiny random Qwen2 / Qwen3 checkpoints with transformers and their float64 reference
logits, for tests/model/test_qwen_reference.cpp.

Usage: python3 make_qwen_fixtures.py OUT_DIR
Writes OUT_DIR/<variant>/{config.json, model.safetensors, reference.json, reference.bin}.

reference.json: {"vocab": V, "prompts": [{"ids": [...], "offset": float index into
reference.bin, "greedy": [16 ids]}], ...}. reference.bin holds, per prompt, T x V float32
little-endian logits (row t = logits after ids[0..t]) computed with model.double() (eager
attention) and rounded to float32 only when stored.
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from transformers import Qwen2Config, Qwen2ForCausalLM

try:
    from transformers import Qwen3Config, Qwen3ForCausalLM
except ImportError:  # older transformers
    Qwen3Config = Qwen3ForCausalLM = None

VARIANTS = [
    # name, arch, config kwargs
    ("qwen2_tied_gqa", "qwen2", dict(hidden_size=64, intermediate_size=200, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, vocab_size=384,
                                      rope_theta=1e4, tie_word_embeddings=True)),
    ("qwen2_untied_mqa", "qwen2", dict(hidden_size=96, intermediate_size=320, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=1, vocab_size=500,
                                        rope_theta=1e6, tie_word_embeddings=False)),
    ("qwen2_mha_theta1e6", "qwen2", dict(hidden_size=80, intermediate_size=176, num_hidden_layers=2,
                                          num_attention_heads=5, num_key_value_heads=5, vocab_size=320,
                                          rope_theta=1e6, tie_word_embeddings=True)),
    ("qwen3_qknorm", "qwen3", dict(hidden_size=64, intermediate_size=200, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                                    vocab_size=384, rope_theta=1e6, tie_word_embeddings=True)),
    ("qwen3_untied_mqa", "qwen3", dict(hidden_size=96, intermediate_size=320, num_hidden_layers=2,
                                        num_attention_heads=6, num_key_value_heads=1, head_dim=24,
                                        vocab_size=448, rope_theta=1e4, tie_word_embeddings=False)),
]

PROMPT_LENGTHS = [1, 10, 300]
GREEDY_STEPS = 16


def build(arch, kw, seed):
    common = dict(max_position_embeddings=512, rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2,
                  use_cache=False, attn_implementation="eager")
    if arch == "qwen2":
        cfg = Qwen2Config(**kw, **common)
    else:
        if Qwen3Config is None:
            raise SystemExit("this transformers has no Qwen3")
        cfg = Qwen3Config(**kw, **common)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(cfg) if arch == "qwen2" else Qwen3ForCausalLM(cfg)
    # Large enough weights that logits are far from flat; norm weights and biases random too
    # so a wrong norm or a missing bias shows.
    g = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                if "norm" in name:
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
                else:  # biases
                    p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.12 * torch.randn(p.shape, generator=g))
    model.eval()
    return model


@torch.no_grad()
def logits_of(model, ids):
    return model(torch.tensor([ids], dtype=torch.long)).logits[0]


def main():
    out = sys.argv[1]
    print("torch", torch.__version__, "transformers", transformers.__version__, flush=True)
    for vi, (name, arch, kw) in enumerate(VARIANTS):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        model = build(arch, kw, 1234 + vi)
        model.save_pretrained(d, safe_serialization=True)
        for extra in ("generation_config.json",):
            p = os.path.join(d, extra)
            if os.path.exists(p):
                os.remove(p)
        f32 = model
        m64 = build(arch, kw, 1234 + vi).double()  # same seed -> same weights
        # check the double copy is the same model
        for (n1, p1), (n2, p2) in zip(f32.named_parameters(), m64.named_parameters()):
            assert n1 == n2 and torch.equal(p1.double(), p2), n1
        rng = np.random.default_rng(99 + vi)
        V = kw["vocab_size"]
        prompts = []
        blobs = []
        offset = 0
        for T in PROMPT_LENGTHS:
            ids = [int(x) for x in rng.integers(0, V, size=T)]
            lg = logits_of(m64, ids)
            lg32 = logits_of(f32, ids).double()
            f32_err = float((lg - lg32).abs().max())
            # greedy continuation, full recompute each step (no cache), float64
            seq = list(ids)
            greedy = []
            margins = []
            for _ in range(GREEDY_STEPS):
                last = logits_of(m64, seq)[-1]
                top2 = torch.topk(last, 2).values
                margins.append(float(top2[0] - top2[1]))
                nxt = int(torch.argmax(last))
                greedy.append(nxt)
                seq.append(nxt)
            arr = lg.float().numpy().astype("<f4")
            blobs.append(arr.tobytes())
            prompts.append(dict(ids=ids, offset=offset, greedy=greedy, max_abs_logit=float(lg.abs().max()),
                                logit_std=float(lg.std()), f32_vs_f64_max_err=f32_err,
                                min_greedy_margin=min(margins)))
            offset += arr.size
            print(name, "T", T, "max|logit|", prompts[-1]["max_abs_logit"], "std", prompts[-1]["logit_std"],
                  "f32err", f32_err, "min margin", min(margins), flush=True)
        with open(os.path.join(d, "reference.bin"), "wb") as f:
            for b in blobs:
                f.write(b)
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump(dict(variant=name, arch=arch, vocab=V, torch=torch.__version__,
                           transformers=transformers.__version__, prompts=prompts), f)
    print("done", flush=True)


if __name__ == "__main__":
    main()
