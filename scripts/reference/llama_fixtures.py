#!/usr/bin/env python3
"""Inputs and bookkeeping for scripts/reference/make-llama-fixtures (the llama.cpp-made GGUF
fixtures of tests/model/fixtures/gguf/). Needs numpy only; the `types` and `check` commands also
need llama.cpp's gguf-py on PYTHONPATH (the shell script sets it).

  llama_fixtures.py checkpoints OUT_DIR
      OUT_DIR/qwen2_tied/ and OUT_DIR/qwen3_untied/: seeded random-weight Hugging Face checkpoints
      (config.json, model.safetensors in float32, tokenizer.json, tokenizer_config.json) whose
      row widths are multiples of 256, so that llama-quantize uses K-quants for every tensor:
        qwen2_tied    hidden 256, 4 heads of 64, 2 KV heads (GQA), q/k/v biases, SwiGLU 256,
                      2 layers, tied output
        qwen3_untied  hidden 256, 4 heads of 64, 1 KV head (MQA), q/k RMSNorm, SwiGLU 256,
                      2 layers, untied output
      Both have the same 512-token byte-level BPE vocabulary (GPT-2 byte alphabet, 253 merges
      learned from models/corpus/heldout.txt with Qwen2's pre-tokenizer split, and
      <|endoftext|> <|im_start|> <|im_end|>).
  llama_fixtures.py default-model REPO OUT_DIR
      OUT_DIR: models/default-float as a checkpoint GGUF can express: the compact vocabulary
      (vocab_remap.json) turned into a tokenizer of its own (the kept Qwen2.5 tokens under their
      model ids; the Qwen2.5 merges whose two parts and result are all kept, in Qwen2.5's order),
      the same config and weights (model.safetensors linked).
  llama_fixtures.py types FILE.gguf
      Prints {"tensor": "GGML_TYPE", ...} as JSON (gguf-py's reader).
  llama_fixtures.py check FILE.gguf
      Reads FILE with gguf-py and checks what llama.cpp needs of a Qwen file (architecture,
      tokenizer keys, tensor names); prints a one-line summary.
  llama_fixtures.py describe FILE.gguf --text TEXT --ids 1,2,3 --logits NAME --made-by CMD --llama-cpp COMMIT
                    --ppl "P +/- E" --ppl-tokens N --ppl-command CMD
      Prints the fixture's JSON (tests/model/fixtures/gguf/<file>.json): size, sha256, per-tensor
      ggml types and shapes, how it was made, the ids and logits file, llama-perplexity's figure.
  llama_fixtures.py default-describe (--file F.gguf --ppl "P +/- E")... --text TEXT --ids ... --logits NAME
                    --llama-cpp COMMIT --ppl-tokens N --ppl-command CMD
      The same for the embedded model's GGUFs (default_model.json).
  llama_fixtures.py dequantized FILE.gguf CHECKPOINT OUT_DIR
      OUT_DIR: a float32 Hugging Face checkpoint of FILE's weights as gguf-py dequantizes them
      (config and tokenizer files from CHECKPOINT). tq runs it with float32 weights and float
      activations: the file's weights without any activation quantization, which separates the
      two sources of difference between tqlib's and llama.cpp's logits (docs/gguf.md).
  llama_fixtures.py check-default-ppl default_model.json FILE.gguf TQ_PPL_JSON_LINE
      Compares `tq ppl --llama-perplexity`'s last line with llama-perplexity's figure for FILE
      (exit status 1 beyond 0.1%).
  llama_fixtures.py compare-logits LLAMA.f32 TQ.f32 VOCAB MAX_SIGMA RMS_SIGMA
      max and rms of the difference in units of the standard deviation of LLAMA's logits, and the
      top-1 agreement (exit status 1 beyond either bound).
  llama_fixtures.py field FILE.json EXPRESSION
      Prints EXPRESSION evaluated on the file's JSON as j (lists comma-separated).
  llama_fixtures.py dequant-index FILE.jsonl
      dequant/dequant.json from the lines tq-ggml-dequant's wrapper appended.
"""
import json
import os
import re
import struct
import sys
from collections import Counter

import numpy as np

VOCAB = 512
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Qwen2's pre-tokenizer split (tokenizer.json "Split" regex) for ASCII text: \p{L} -> [A-Za-z],
# \p{N} -> [0-9]. models/corpus/heldout.txt is ASCII, so this is the exact split there; it is only
# used to learn the merges (tqlib and llama.cpp tokenize with their own implementations).
SPLIT = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (the alphabet of byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def learn_bpe(text, n_merges):
    """Plain BPE on pre-tokenized words: repeatedly merge the most frequent adjacent pair (ties:
    the pair that sorts first), as Hugging Face tokenizers' BpeTrainer does."""
    b2u = bytes_to_unicode()
    words = Counter("".join(b2u[b] for b in w.encode("utf-8")) for w in SPLIT.findall(text))
    seqs = {w: list(w) for w in words}
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in words.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                pairs[a, b] += c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        joined = best[0] + best[1]
        for w in words:
            s = seqs[w]
            if len(s) < 2:
                continue
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == best[0] and s[i + 1] == best[1]:
                    out.append(joined)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    return merges


QWEN2_SPLIT_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                     "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


def tokenizer_json(vocab, merges, added):
    """A Hugging Face tokenizer.json of Qwen2's shape (NFC, the Qwen2 split, byte-level BPE)."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for t, i in added],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }


def write_safetensors(path, tensors):
    """safetensors: u64 LE header length, JSON header (8-byte aligned with spaces), raw LE data."""
    header, offset, blobs = {}, 0, []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


VARIANTS = [
    # name, model_type, extra config, seed
    ("qwen2_tied", "qwen2", dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
                                 rope_theta=1000000.0), 23),
    ("qwen3_untied", "qwen3", dict(num_attention_heads=4, num_key_value_heads=1, head_dim=64,
                                   tie_word_embeddings=False, rope_theta=1000000.0), 24),
]


def checkpoint(out_dir, name, model_type, extra, seed, tok, merges_count):
    hidden, inter, layers = 256, 256, 2
    cfg = {
        "architectures": ["Qwen2ForCausalLM" if model_type == "qwen2" else "Qwen3ForCausalLM"],
        "model_type": model_type, "hidden_act": "silu", "hidden_size": hidden, "intermediate_size": inter,
        "num_hidden_layers": layers, "max_position_embeddings": 512, "rms_norm_eps": 1e-6,
        "vocab_size": VOCAB, "bos_token_id": VOCAB - 3, "eos_token_id": VOCAB - 3, "torch_dtype": "float32",
        **extra,
    }
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", hidden // heads)
    rng = np.random.default_rng(seed)
    # Weights large enough that the logits are not flat (standard deviation about 1.6 over the
    # vocabulary), so that perplexity depends on which tokens are scored, and small enough that a
    # random model is not confidently wrong (0.2 instead of 0.1 for the embeddings gives logits of
    # spread 3.3 and perplexities near 10^5 on 512 tokens, where the activation quantization's
    # noise moves perplexity by 0.2%). Norm weights and biases random too, so that a wrong norm or
    # a missing bias shows.
    def lin(rows, cols):
        return rng.standard_normal((rows, cols)) * (1.0 / np.sqrt(cols))
    t = {"model.embed_tokens.weight": rng.standard_normal((VOCAB, hidden)) * 0.1}
    for i in range(layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = 1.0 + 0.2 * rng.standard_normal(hidden)
        t[p + "post_attention_layernorm.weight"] = 1.0 + 0.2 * rng.standard_normal(hidden)
        t[p + "self_attn.q_proj.weight"] = lin(heads * hd, hidden)
        t[p + "self_attn.k_proj.weight"] = lin(kv * hd, hidden)
        t[p + "self_attn.v_proj.weight"] = lin(kv * hd, hidden)
        t[p + "self_attn.o_proj.weight"] = lin(hidden, heads * hd)
        if model_type == "qwen2":
            t[p + "self_attn.q_proj.bias"] = 0.3 * rng.standard_normal(heads * hd)
            t[p + "self_attn.k_proj.bias"] = 0.3 * rng.standard_normal(kv * hd)
            t[p + "self_attn.v_proj.bias"] = 0.3 * rng.standard_normal(kv * hd)
        else:
            t[p + "self_attn.q_norm.weight"] = 1.0 + 0.2 * rng.standard_normal(hd)
            t[p + "self_attn.k_norm.weight"] = 1.0 + 0.2 * rng.standard_normal(hd)
        t[p + "mlp.gate_proj.weight"] = lin(inter, hidden)
        t[p + "mlp.up_proj.weight"] = lin(inter, hidden)
        t[p + "mlp.down_proj.weight"] = lin(hidden, inter)
    t["model.norm.weight"] = 1.0 + 0.2 * rng.standard_normal(hidden)
    if not cfg["tie_word_embeddings"]:
        t["lm_head.weight"] = rng.standard_normal((VOCAB, hidden)) * 0.1
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), t)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": False, "eos_token": SPECIALS[0], "model_max_length": 512}, f)


def checkpoints(repo, out_dir):
    with open(os.path.join(repo, "models/corpus/heldout.txt"), encoding="utf-8") as f:
        text = f.read()
    n_merges = VOCAB - 256 - len(SPECIALS)
    merges = learn_bpe(text, n_merges)
    assert len(merges) == n_merges
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    for a, b in merges:
        assert a + b not in vocab, (a, b)
        vocab[a + b] = len(vocab)
    added = [(s, len(vocab) + i) for i, s in enumerate(SPECIALS)]
    tok = tokenizer_json(vocab, merges, added)
    for name, model_type, extra, seed in VARIANTS:
        checkpoint(out_dir, name, model_type, extra, seed, tok, n_merges)


def default_model(repo, out_dir):
    src = os.path.join(repo, "models/default-float")
    with open(os.path.join(src, "vocab_remap.json")) as f:
        m2o = json.load(f)["model_to_original"]
    with open(os.path.join(repo, "models/qwen2.5-tokenizer/tokenizer.json"), encoding="utf-8") as f:
        q = json.load(f)
    id_to_token = {i: t for t, i in q["model"]["vocab"].items()}
    special = {t["id"]: t["content"] for t in q["added_tokens"]}
    o2m = {o: m for m, o in enumerate(m2o)}
    vocab, added = {}, []
    for m, o in enumerate(m2o):
        if o in special:
            added.append((special[o], m))
        else:
            vocab[id_to_token[o]] = m
    merges = []
    for mg in q["model"]["merges"]:
        a, b = mg if isinstance(mg, list) else mg.split(" ")
        if a in vocab and b in vocab and a + b in vocab:
            merges.append((a, b))
    os.makedirs(out_dir, exist_ok=True)
    tok = tokenizer_json(vocab, merges, added)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(repo, "models/qwen2.5-tokenizer/tokenizer_config.json")) as f:
        tc = json.load(f)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": False, "chat_template": tc.get("chat_template"), "eos_token": "<|endoftext|>"}, f)
    link = os.path.join(out_dir, "model.safetensors")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.abspath(os.path.join(src, "model.safetensors")), link)
    print(f"{len(vocab)} tokens, {len(added)} special, {len(merges)} merges", file=sys.stderr)


def types(path):
    import gguf
    r = gguf.GGUFReader(path)
    print(json.dumps({t.name: t.tensor_type.name for t in r.tensors}))


def check(path):
    import gguf
    r = gguf.GGUFReader(path)
    def s(key):
        f = r.fields[key]
        return bytes(f.parts[f.data[0]]).decode()
    arch = s("general.architecture")
    assert arch in ("qwen2", "qwen3"), arch
    assert s("tokenizer.ggml.model") == "gpt2" and s("tokenizer.ggml.pre") == "qwen2"
    n_tok = len(r.fields["tokenizer.ggml.tokens"].data)
    names = {t.name for t in r.tensors}
    assert "token_embd.weight" in names and "output_norm.weight" in names
    emb = next(t for t in r.tensors if t.name == "token_embd.weight")
    assert int(emb.shape[1]) == n_tok, (emb.shape, n_tok)
    kinds = Counter(t.tensor_type.name for t in r.tensors)
    print(f"{os.path.basename(path)}: {arch}, {n_tok} tokens, {len(r.tensors)} tensors {dict(kinds)}")


PPL_CTX = 128
LLAMA_CPP = {"source": "npm package node-llama-cpp 3.22.1, llama/gitRelease.bundle (llama.cpp release tag v0.5.0 of node-llama-cpp's binaries)",
             "build": "scripts/reference/build-llama-cpp: CPU, Release, GGML_NATIVE=OFF (SSE4.2 AVX AVX2 FMA F16C BMI2), static"}


def options(argv, repeated=()):
    out = {k: [] for k in repeated}
    i = 0
    while i < len(argv):
        key = argv[i][2:].replace("-", "_")
        if key in out and isinstance(out[key], list):
            out[key].append(argv[i + 1])
        else:
            out[key] = argv[i + 1]
        i += 2
    return out


def file_info(path):
    import hashlib
    import gguf
    r = gguf.GGUFReader(path)
    f = r.fields["general.architecture"]
    arch = bytes(f.parts[f.data[0]]).decode()
    tensors = {t.name: {"type": t.tensor_type.name, "shape": [int(x) for x in reversed(t.shape)]} for t in r.tensors}
    counts = Counter(t["type"] for t in tensors.values())
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    return {"file": os.path.basename(path), "bytes": os.path.getsize(path), "sha256": digest, "architecture": arch,
            "vocab": len(r.fields["tokenizer.ggml.tokens"].data), "type_counts": dict(sorted(counts.items())),
            "tensors": tensors}


def ppl_entry(figure, tokens, command):
    p, e = figure.split("+/-")
    tokens = int(tokens)
    chunks = tokens // PPL_CTX
    return {"command": command, "text": "ppl.txt", "text_tokens": tokens, "n_ctx": PPL_CTX, "chunks": chunks,
            "scored_tokens": chunks * (PPL_CTX - PPL_CTX // 2 - 1), "ppl": float(p), "plus_minus": float(e)}


def describe(argv):
    o = options(argv[1:])
    d = file_info(argv[0])
    d = {**{k: d[k] for k in ("file", "bytes", "sha256", "architecture", "vocab")}, "made_by": o["made_by"],
         "llama_cpp": {**LLAMA_CPP, "commit": o["llama_cpp"]},
         "logits": {"text": o["text"], "ids": [int(x) for x in o["ids"].split(",")], "file": o["logits"],
                    "layout": "T x vocab float32 little-endian, row t = logits after ids[0..t]",
                    "command": "tq-llama-logits FILE IDS OUT 2 (one batch from an empty cache, f16 KV cache, llama.cpp's default context)"},
         "perplexity": ppl_entry(o["ppl"], o["ppl_tokens"], o["ppl_command"]),
         "type_counts": d["type_counts"], "tensors": d["tensors"]}
    print(json.dumps(d, indent=1))


def default_describe(argv):
    o = options(argv, repeated=("file", "ppl"))
    files = []
    for path, figure in zip(o["file"], o["ppl"]):
        d = file_info(path)
        d["perplexity"] = ppl_entry(figure, o["ppl_tokens"], o["ppl_command"].replace("FILE", d["file"]))
        files.append(d)
    out = {"model": "models/default-float as GGUF (scripts/reference/make-llama-fixtures; not committed, the script writes them)",
           "llama_cpp": {**LLAMA_CPP, "commit": o["llama_cpp"]},
           "logits": {"file_of": "default-q4_k_m.gguf", "text": o["text"], "ids": [int(x) for x in o["ids"].split(",")],
                      "file": o["logits"],
                      "layout": "T x vocab float32 little-endian, row t = logits after ids[0..t]"},
           "files": files}
    print(json.dumps(out, indent=1))


GGUF_TO_HF = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head",
              "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
              "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm",
              "attn_k_norm": "self_attn.k_norm", "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj",
              "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def dequantized(path, ckpt, out_dir):
    import shutil
    import gguf
    from gguf import quants
    r = gguf.GGUFReader(path)
    tensors = {}
    for t in r.tensors:
        parts = t.name.split(".")
        if parts[0] == "blk":
            name = f"model.layers.{parts[1]}.{GGUF_TO_HF[parts[2]]}.{parts[3]}"
        else:
            name = f"{GGUF_TO_HF[parts[0]]}.{parts[1]}"
        shape = [int(x) for x in reversed(t.shape)]
        tensors[name] = quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(ckpt, f), out_dir)


def check_default_ppl(ref_path, name, line):
    ref = next(f for f in json.load(open(ref_path))["files"] if f["file"] == name)["perplexity"]
    if not line.startswith("{"):
        print(f"{name}: tq ppl gave no figure: FAIL")
        sys.exit(1)
    got = json.loads(line)
    rel = got["ppl"] / ref["ppl"] - 1
    ok = abs(rel) <= 1e-3 and got["tokens"] == ref["scored_tokens"]
    print(f"{name}: tq ppl {got['ppl']:.4f} ({got['tokens']} tokens), llama-perplexity {ref['ppl']:.4f} "
          f"({ref['scored_tokens']}): {rel * 100:+.4f}% {'ok' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


def compare_logits(a_path, b_path, vocab, max_sigma, rms_sigma):
    a = np.fromfile(a_path, "<f4").reshape(-1, int(vocab)).astype(np.float64)
    b = np.fromfile(b_path, "<f4").reshape(-1, int(vocab)).astype(np.float64)
    sigma = a.std()
    d = np.abs(a - b)
    mx, rms = d.max() / sigma, np.sqrt((d ** 2).mean()) / sigma
    ok = mx <= float(max_sigma) and rms <= float(rms_sigma)
    print(f"logits: sigma {sigma:.4f}, max |tq - llama.cpp| {mx:.4f} sigma (bound {max_sigma}), rms {rms:.4f} sigma "
          f"(bound {rms_sigma}), top-1 agreement {(a.argmax(1) == b.argmax(1)).mean():.3f}: {'ok' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


def field(path, expr):
    j = json.load(open(path))
    v = eval(expr, {"j": j})
    print(",".join(map(str, v)) if isinstance(v, list) else v)


def dequant_index(path):
    with open(path) as f:
        entries = [json.loads(line) for line in f if line.strip()]
    print(json.dumps({"comment": "ggml's own dequantization (ggml_get_type_traits(type)->to_float) of the first rows of "
                                 "one tensor per type: NAME.raw holds the rows' bytes as stored, NAME.f32 rows x ne0 "
                                 "float32 LE; made by scripts/reference/make-llama-fixtures",
                      "tensors": entries}, indent=1))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "checkpoints" and len(sys.argv) == 4:
        checkpoints(sys.argv[2], sys.argv[3])
    elif cmd == "default-model" and len(sys.argv) == 4:
        default_model(sys.argv[2], sys.argv[3])
    elif cmd == "types" and len(sys.argv) == 3:
        types(sys.argv[2])
    elif cmd == "check" and len(sys.argv) == 3:
        check(sys.argv[2])
    elif cmd == "describe" and len(sys.argv) > 3:
        describe(sys.argv[2:])
    elif cmd == "default-describe":
        default_describe(sys.argv[2:])
    elif cmd == "dequantized" and len(sys.argv) == 5:
        dequantized(*sys.argv[2:])
    elif cmd == "check-default-ppl" and len(sys.argv) == 5:
        check_default_ppl(*sys.argv[2:])
    elif cmd == "compare-logits" and len(sys.argv) == 7:
        compare_logits(*sys.argv[2:])
    elif cmd == "field" and len(sys.argv) == 4:
        field(*sys.argv[2:])
    elif cmd == "dequant-index" and len(sys.argv) == 3:
        dequant_index(sys.argv[2])
    else:
        sys.exit(__doc__)
