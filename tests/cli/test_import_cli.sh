#!/usr/bin/env bash
# CLI checks for `tq quantize` importing already-quantized checkpoints: usage $0 PATH/TO/tq.
# scripts/make_quantized_checkpoint writes tiny Qwen2 checkpoints in the AQLM layout (2x8 and
# 1x16, the aqlm package's codes/codebooks/scales) and seed 002's BitNet packed layout, each with
# a float twin holding the checkpoint's own dequantized weights and the MV2 blob every imported
# tensor must have. For each: `tq quantize` without --codec imports them (report says
# "imported", rel.err 0), every imported tensor is stored with its codec and exactly the expected
# bytes, the other tensors follow the policy, and the logits of the MV2 file match the float
# twin's (AQLM's float kernels tightly; BitNet's kernels quantize activations to int8, so
# loosely, with top-1 agreement). Hostile inputs (transposed codes, a packed byte of 81) are
# refused with a message naming the tensor and leave no output file.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" || exit 1

python3 "$root/scripts/make_quantized_checkpoint" "$work/ck" || { echo "FAIL: scripts/make_quantized_checkpoint"; exit 1; }

# compare A B MAX_REL MIN_TOP1: logits files (T x 256 float32) agree: max |a - b| <= MAX_REL * max |b|,
# and the share of positions whose argmax agrees is at least MIN_TOP1. Prints the figures.
compare() {
  python3 - "$@" <<'EOF'
import struct, sys
a, b, max_rel, min_top1 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
A = open(a, "rb").read(); B = open(b, "rb").read()
if len(A) != len(B) or len(A) == 0 or len(A) % (4 * 256): sys.exit("sizes %d / %d" % (len(A), len(B)))
x = struct.unpack("<%df" % (len(A) // 4), A); y = struct.unpack("<%df" % (len(B) // 4), B)
scale = max(abs(v) for v in y)
diff = max(abs(p - q) for p, q in zip(x, y))
rows = len(x) // 256
top1 = sum(max(range(256), key=lambda i: x[r * 256 + i]) == max(range(256), key=lambda i: y[r * 256 + i]) for r in range(rows)) / rows
print("  max |diff| %.3g = %.3g of max |logit| %.3g; top-1 agreement %.3f" % (diff, diff / scale, scale, top1))
sys.exit(0 if scale > 0 and diff <= max_rel * scale and top1 >= min_top1 else 1)
EOF
}

ids=3,14,15,92,65,35,89,79,32,38,46,26,43,38,32,79,50,28,84,19,71,69,39,93
# checkpoint, codec, a layer-0 tensor it imports with its shape, max relative logit difference, min top-1 agreement
for spec in aqlm-2x8:aqlm:model.layers.0.mlp.up_proj.weight:256x128:1e-4:1 \
            aqlm-1x16:aqlm:model.layers.0.mlp.down_proj.weight:128x256:1e-4:1 \
            bitnet:bitnet:model.layers.0.mlp.up_proj.weight:256x128:0.03:0.875; do
  IFS=: read -r name codec tensor shape max_rel min_top1 <<<"$spec"
  ck="$work/ck/$name" out="$work/$name.mv2"
  ok "$tq" quantize "$ck" "$out"
  cp "$work/out" "$work/report"
  grep -q "^import: " "$work/report" || fail "$name: no import line"
  grep -Eq "^$tensor +$shape +$codec +[0-9.]+ +0\.000e\+00 imported" "$work/report" || fail "$name: $tensor not reported imported"
  n_expect=$(ls "$work/ck/$name-expect" | wc -l)
  n_imported=$(grep -c " imported (" "$work/report")
  [ "$n_expect" = "$n_imported" ] || fail "$name: $n_imported tensors imported, $n_expect expected"
  grep -q "^imported: $n_expect tensor(s)" "$work/report" || fail "$name: summary does not count the imports"
  # tensors the checkpoint stores as floats follow the policy (norms f16; q/k/v biases f16)
  grep -Eq "^model.norm.weight +128 +f16 " "$work/report" || fail "$name: model.norm.weight not f16"
  grep -Eq "^model.layers.0.self_attn.q_proj.bias +128 +f16 " "$work/report" || fail "$name: q_proj.bias not kept"
  [ -s "$out" ] || { fail "$name: no output file"; continue; }
  ok "$tq" tensors "$out"
  cp "$work/out" "$work/tensors"
  grep -q "codes\|codebooks\|scales" "$work/tensors" && fail "$name: checkpoint-only tensors left in the MV2 file"
  for f in "$work/ck/$name-expect"/*.bin; do
    t=$(basename "$f" .bin)
    grep -q "^$t $codec " "$work/tensors" || fail "$name: $t not stored as $codec"
    "$tq" tensor "$out" "$t" --raw >"$work/blob" 2>&1 || fail "$name: tq tensor $t --raw"
    cmp -s "$work/blob" "$f" || fail "$name: $t bytes differ from the checkpoint's"
  done
  # the embedded config.json no longer claims a quantization the MV2 tensors do not have
  rm -rf "$work/x" && ok "$tq" extract "$out" "$work/x"
  grep -q '"architectures"' "$work/x/config.json" || fail "$name: no config.json extracted"
  grep -q "quantization_config" "$work/x/config.json" && fail "$name: quantization_config left in the embedded config.json"
  ok "$tq" logits "$out" --ids "$ids" --out "$work/imported.f32"
  ok "$tq" logits "$work/ck/$name-float" --ids "$ids" --out "$work/float.f32"
  echo "$name: imported logits vs the float twin:"
  compare "$work/imported.f32" "$work/float.f32" "$max_rel" "$min_top1" || fail "$name: logits differ from the float twin's"
done

# --codec, when given, applies to the checkpoint's float linear weights only (here none), and an
# --override that names an imported layer decodes it and stores it as asked.
ok "$tq" quantize "$work/ck/aqlm-2x8" "$work/o.mv2" --codec q8 --override 'model.layers.0.mlp.down_proj.weight=q8'
grep -Eq "^model.layers.0.mlp.down_proj.weight +128x256 +q8 .*decoded from the imported aqlm layer" "$work/out" ||
  fail "override of an imported layer not applied"
grep -Eq "^model.layers.1.mlp.down_proj.weight +128x256 +aqlm .* imported" "$work/out" || fail "--codec q8 re-quantized an imported layer"
grep -Eq "^lm_head.weight +256x128 +f16 " "$work/out" || fail "lm_head (linear_weights_not_to_quantize) not through the policy"

# a float checkpoint still needs --codec
bad "$tq" quantize "$work/ck/aqlm-2x8-float" "$work/x.mv2"
grep -q -- "--codec" "$work/out" || fail "missing --codec: message does not say so"

# hostile checkpoints: refused, naming the tensor, no output file
bad "$tq" quantize "$work/ck/aqlm-bad-codes" "$work/bad1.mv2"
grep -q "model.layers.0.mlp.up_proj.codes.*config.json needs" "$work/out" || { fail "transposed codes: unclear message"; cat "$work/out"; }
[ ! -e "$work/bad1.mv2" ] || fail "transposed codes: output file written"
bad "$tq" quantize "$work/ck/bitnet-bad-byte" "$work/bad2.mv2"
grep -q "model.layers.0.self_attn.q_proj.weight.*81" "$work/out" || { fail "packed byte 81: unclear message"; cat "$work/out"; }
[ ! -e "$work/bad2.mv2" ] || fail "packed byte 81: output file written"

[ "$fails" = 0 ] && echo "all import CLI checks passed"
exit "$fails"
