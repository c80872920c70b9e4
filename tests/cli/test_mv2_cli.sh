#!/usr/bin/env bash
# CLI checks for the MV2 commands: usage $0 PATH/TO/tq. Needs a model file made by the library;
# builds one from a safetensors-free path: keygen, sign, verify, diff/patch over fuzz corpus seeds.
set -u
tq=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
ok() { "$@" >"$work/out" 2>&1 || { echo "FAIL (expected success): $*"; cat "$work/out"; fails=$((fails + 1)); }; }
bad() { if "$@" >"$work/out" 2>&1; then echo "FAIL (expected failure): $*"; fails=$((fails + 1)); elif [ ! -s "$work/out" ]; then echo "FAIL (no message): $*"; fails=$((fails + 1)); fi; }
cp "$root/fuzz/corpus/fuzz_mv2/plain.mv2" "$work/m.mv2"
ok "$tq" info "$work/m.mv2"
ok "$tq" tensors "$work/m.mv2"
grep -q "model.norm.weight f32 \[8\]" "$work/out" || { echo "FAIL: tensors listing"; fails=$((fails + 1)); }
ok "$tq" tensor "$work/m.mv2" model.norm.weight
ok "$tq" extract "$work/m.mv2" "$work/x" --raw
[ -f "$work/x/config.json" ] && [ -f "$work/x/tokenizer.json" ] && [ -f "$work/x/tensors.json" ] || { echo "FAIL: extract"; fails=$((fails + 1)); }
ok "$tq" keygen "$work/k"
bad "$tq" keygen "$work/k"
ok "$tq" keygen "$work/other"
bad "$tq" info "$work/m.mv2" --verify --pubkey "$work/k.pub"
ok "$tq" sign "$work/m.mv2" --key "$work/k.key" --out "$work/s.mv2"
ok "$tq" info "$work/s.mv2" --verify --pubkey "$work/k.pub"
bad "$tq" info "$work/s.mv2" --verify --pubkey "$work/other.pub"
ok "$tq" sign "$work/m.mv2" --key "$work/k.key"
ok "$tq" info "$work/m.mv2" --verify --pubkey "$work/k.pub"
cp "$root/fuzz/corpus/fuzz_mv2/zstd_signed.mv2" "$work/n.mv2"
ok "$tq" diff "$work/m.mv2" "$work/n.mv2" "$work/p.mv2"
ok "$tq" patch "$work/m.mv2" "$work/p.mv2" "$work/r.mv2"
bad "$tq" patch "$work/n.mv2" "$work/p.mv2" "$work/r2.mv2"
grep -q "wrong base" "$work/out" || { echo "FAIL: wrong-base message"; fails=$((fails + 1)); }
[ ! -e "$work/r2.mv2" ] || { echo "FAIL: output left after failure"; fails=$((fails + 1)); }
head -c 100 "$work/m.mv2" >"$work/t.mv2"
bad "$tq" info "$work/t.mv2"
bad "$tq" tensors "$work/missing.mv2"
[ "$fails" = 0 ] && echo "all MV2 CLI checks passed"
exit "$fails"
