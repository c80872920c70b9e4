#!/usr/bin/env python3
"""Checks that `tq tokenize` encodes text into the default model's compact vocabulary exactly as
the training script did (python3 stdlib only).

  scripts/train/check_compact_tokenization.py [--tq build/tq] [--model models/default-float]
      [--tokenizer-json PATH] [--text models/corpus/heldout.txt]

Reference encoder: Qwen2.5's pre-tokenizer split (here with Python's `re`, where \\p{L} is
[^\\W\\d_] and \\p{N} is \\d: exact for ASCII text such as the Brown Corpus), byte-level mapping,
then BPE that applies only merges whose two parts and result are kept (model_to_original in
vocab_remap.json), lowest rank first, leftmost first. That is what the training script's pruned
`tokenizers` tokenizer does. The text is compared in ~50 KB pieces cut after a newline followed
by a letter. Needs tokenizer.json (default: models/qwen2.5-tokenizer/tokenizer.json, else
.cache/qwen2.5-tokenizer/tokenizer.json). Exit status 1 on the first difference.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_default_model import bytes_to_unicode  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tq", default=os.path.join(ROOT, "build", "tq"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default-float"))
    ap.add_argument("--tokenizer-json")
    ap.add_argument("--text", default=os.path.join(ROOT, "models", "corpus", "heldout.txt"))
    a = ap.parse_args()
    tj = a.tokenizer_json or next((p for p in (os.path.join(ROOT, "models", "qwen2.5-tokenizer", "tokenizer.json"),
                                               os.path.join(ROOT, ".cache", "qwen2.5-tokenizer", "tokenizer.json"))
                                   if os.path.exists(p)), None)
    if not tj:
        sys.exit("check_compact_tokenization: no tokenizer.json (give --tokenizer-json)")
    J = json.load(open(tj, encoding="utf-8"))
    vocab = J["model"]["vocab"]
    merges = [m.split(" ", 1) if isinstance(m, str) else m for m in J["model"]["merges"]]
    remap = json.load(open(os.path.join(a.model, "vocab_remap.json")))["model_to_original"]
    id2t = {i: t for t, i in vocab.items()}
    kept = {id2t[i] for i in remap if i in id2t}
    compact = {q: c for c, q in enumerate(remap)}
    rank = {}
    for r, (x, y) in enumerate(merges):
        if x in kept and y in kept and x + y in kept and (x, y) not in rank:
            rank[(x, y)] = r
    b2u = bytes_to_unicode()
    L = r"[^\W\d_]"
    pat = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|(?:[^\r\n\w]|_)?" + L +
                     r"+|\d| ?(?:[^\s\w]|_)+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

    def bpe(word):
        w = list(word)
        while len(w) > 1:
            best = None
            for i in range(len(w) - 1):
                r = rank.get((w[i], w[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            w[i:i + 2] = [w[i] + w[i + 1]]
        return w

    def encode(text):
        out = []
        for m in pat.finditer(text):
            s = "".join(b2u[b] for b in m.group(0).encode("utf-8"))
            out += [compact[vocab[t]] for t in bpe(s)]
        return out

    text = open(a.text, encoding="utf-8").read()
    cuts = [0]
    for m in re.finditer(r"\n(?=[A-Za-z])", text):
        if m.end() - cuts[-1] > 50000:
            cuts.append(m.end())
    cuts.append(len(text))
    total = bad = 0
    for x, y in zip(cuts, cuts[1:]):
        ref = encode(text[x:y])
        total += len(ref)
        p = subprocess.run([a.tq, "tokenize", a.model, "--text", text[x:y]], capture_output=True, text=True)
        if p.returncode:
            sys.exit(f"tq tokenize failed: {p.stderr.strip()}")
        got = json.loads(p.stdout.strip().splitlines()[-1])
        if got != ref:
            bad += 1
            k = next((i for i in range(min(len(got), len(ref))) if got[i] != ref[i]), min(len(got), len(ref)))
            show = lambda ids: [id2t.get(remap[i], remap[i]) for i in ids]  # noqa: E731
            print(f"piece at byte {x}: first difference at token {k}: reference {show(ref[k:k + 4])}, tq {show(got[k:k + 4])}"
                  f" ({len(ref)} vs {len(got)} tokens)")
    print(f"reference: {total} tokens; {bad} of {len(cuts) - 1} pieces differ")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
