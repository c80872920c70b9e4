#!/usr/bin/env bash
# CLI checks for the MV2 commands: usage $0 PATH/TO/tq. Needs a model file made by the library;
# builds one from a safetensors-free path: keygen, sign, verify, diff/patch over fuzz corpus seeds.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" || exit 1
cp "$root/fuzz/corpus/fuzz_mv2/v31_packed.mv2" "$work/m.mv2"
ok "$tq" info "$work/m.mv2"
ok "$tq" tensors "$work/m.mv2"
grep -q "model.norm.weight f32 \[8\]" "$work/out" || fail "tensors listing"
ok "$tq" tensor "$work/m.mv2" model.norm.weight
ok "$tq" extract "$work/m.mv2" "$work/x" --raw
[ -f "$work/x/config.json" ] && [ -f "$work/x/tokenizer.json" ] && [ -f "$work/x/tensors.json" ] || fail "extract"
ok "$tq" keygen "$work/k"
bad "$tq" keygen "$work/k"
ok "$tq" keygen "$work/other"
bad "$tq" info "$work/m.mv2" --verify --pubkey "$work/k.pub"
ok "$tq" sign "$work/m.mv2" --key "$work/k.key" --out "$work/s.mv2"
ok "$tq" info "$work/s.mv2" --verify --pubkey "$work/k.pub"
bad "$tq" info "$work/s.mv2" --verify --pubkey "$work/other.pub"
ok "$tq" sign "$work/m.mv2" --key "$work/k.key"
ok "$tq" info "$work/m.mv2" --verify --pubkey "$work/k.pub"
cp "$root/fuzz/corpus/fuzz_mv2/v31_zstd_signed.mv2" "$work/n.mv2"
ok "$tq" diff "$work/m.mv2" "$work/n.mv2" "$work/p.mv2"
ok "$tq" patch "$work/m.mv2" "$work/p.mv2" "$work/r.mv2"
bad "$tq" patch "$work/n.mv2" "$work/p.mv2" "$work/r2.mv2"
grep -q "wrong base" "$work/out" || fail "wrong-base message"
[ ! -e "$work/r2.mv2" ] || fail "output left after failure"
head -c 100 "$work/m.mv2" >"$work/t.mv2"
bad "$tq" info "$work/t.mv2"
bad "$tq" tensors "$work/missing.mv2"
# Hugging Face input goes through the library's safetensors reader: the tiny fixture as one file,
# the same tensors split into a sharded folder (model.safetensors.index.json) and a lone
# .safetensors path must give identical logits; damaged indexes and shards are clear errors.
tiny="$root/tests/model/fixtures/qwen2_tied_gqa"
if command -v python3 >/dev/null && [ -d "$tiny" ]; then
  mkdir -p "$work/sharded"
  cp "$tiny/config.json" "$work/sharded/"
  python3 - "$tiny/model.safetensors" "$work/sharded" <<'PY'
import json, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
b = open(src, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h.pop("__metadata__", None)
data = b[8 + n:]
names = sorted(h)
weight_map = {}
for i, part in enumerate([names[: len(names) // 2], names[len(names) // 2:]]):
    shard = "model-%05d-of-00002.safetensors" % (i + 1)
    header, blob = {}, b""
    for k in part:
        s, e = h[k]["data_offsets"]
        header[k] = dict(h[k], data_offsets=[len(blob), len(blob) + e - s])
        blob += data[s:e]
        weight_map[k] = shard
    t = json.dumps(header).encode()
    t += b" " * ((8 - len(t) % 8) % 8)
    open(os.path.join(dst, shard), "wb").write(struct.pack("<Q", len(t)) + t + blob)
json.dump({"metadata": {}, "weight_map": weight_map}, open(os.path.join(dst, "model.safetensors.index.json"), "w"))
PY
  ok "$tq" logits "$tiny" --ids 1,2,3 --out "$work/single.f32"
  ok "$tq" logits "$work/sharded" --ids 1,2,3 --out "$work/sharded.f32"
  ok "$tq" logits "$tiny/model.safetensors" --ids 1,2,3 --out "$work/file.f32"
  cmp -s "$work/single.f32" "$work/sharded.f32" && cmp -s "$work/single.f32" "$work/file.f32" ||
    fail "sharded / single-file safetensors logits differ"
  ok "$tq" tensors "$work/sharded"
  grep -q "model.norm.weight" "$work/out" || fail "sharded tensors listing"
  cp -r "$work/sharded" "$work/escape"
  sed -i 's#model-00002-of-00002#../model-00002-of-00002#' "$work/escape/model.safetensors.index.json"
  bad "$tq" logits "$work/escape" --ids 1,2 --out "$work/x.f32"
  grep -q "plain file name" "$work/out" || { fail "shard path escape message"; cat "$work/out"; }
  cp -r "$work/sharded" "$work/trunc"
  head -c 200 "$work/sharded/model-00002-of-00002.safetensors" >"$work/trunc/model-00002-of-00002.safetensors"
  bad "$tq" logits "$work/trunc" --ids 1,2 --out "$work/x.f32"
  grep -q "model-00002-of-00002.safetensors" "$work/out" || { fail "truncated shard message"; cat "$work/out"; }
fi
[ "$fails" = 0 ] && echo "all MV2 CLI checks passed"
exit "$fails"
