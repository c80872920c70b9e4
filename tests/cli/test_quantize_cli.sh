#!/usr/bin/env bash
# CLI checks for `tq quantize`: usage $0 PATH/TO/tq. Quantizes the default model's float
# Hugging Face folder (models/default-float) with a few codecs, zstd-compressed and signed, and
# checks that each file verifies with the right public key and is refused with a wrong one or
# after a byte is flipped, that the policy and per-tensor report are printed, and that `tq ppl`
# on the result is finite and within a codec-dependent factor of the float model's.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" || exit 1
float_model="$root/models/default-float"

# A short held-out text (the first ~6 kB: about 1.4 k tokens, 11 windows of 128).
head -c 6000 "$root/models/corpus/heldout.txt" >"$work/text.txt"
ppl_of() {  # prints the perplexity of model $1 on the text, from tq ppl's last (JSON) line
  "$tq" ppl "$1" --text-file "$work/text.txt" --window 128 >"$work/ppl" 2>&1 || { cat "$work/ppl" >&2; return 1; }
  tail -n 1 "$work/ppl" | sed -n 's/^{"ppl":\([0-9.eE+-]*\),.*/\1/p'
}
# ratio_ok A B MAX: A / B is finite and at most MAX (and at least 1/MAX: quantization noise does
# not make a trained model much better)
ratio_ok() { awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { if (a == "" || b == "" || b <= 0) exit 1; r = a / b; exit !(r == r && r <= m && r >= 1 / m) }'; }

float_ppl=$(ppl_of "$float_model") || fail "tq ppl on the float model"
awk -v p="$float_ppl" 'BEGIN { exit !(p > 1 && p < 16384) }' || fail "float perplexity '$float_ppl' out of range"

ok "$tq" keygen "$work/k"
ok "$tq" keygen "$work/other"

# codec, largest allowed perplexity ratio to float on this text
for spec in q8:1.01 tq4_1s:1.05 trit2:1.08 turbo3:1.15; do
  codec=${spec%%:*} max=${spec#*:}
  out="$work/$codec.mv2"
  ok "$tq" quantize "$float_model" "$out" --codec "$codec" --zstd 19 --sign "$work/k.key"
  grep -q "^policy: linear layers -> $codec" "$work/out" || fail "$codec: policy line missing"
  grep -Eq "^model.layers.0.self_attn.q_proj.weight +384x384 +$codec " "$work/out" || fail "$codec: per-tensor line missing"
  grep -q "; signed; zstd" "$work/out" || fail "$codec: summary does not say signed and zstd"
  [ -s "$out" ] || { fail "$codec: no output file"; continue; }
  ok "$tq" info "$out" --verify --pubkey "$work/k.pub"
  bad "$tq" info "$out" --verify --pubkey "$work/other.pub"
  # one flipped byte in the middle of the file breaks the signature
  cp "$out" "$work/t.mv2"
  size=$(stat -c %s "$work/t.mv2")
  printf '\xff' | dd of="$work/t.mv2" bs=1 seek=$((size / 2)) conv=notrunc status=none
  cmp -s "$out" "$work/t.mv2" && printf '\x00' | dd of="$work/t.mv2" bs=1 seek=$((size / 2)) conv=notrunc status=none
  bad "$tq" info "$work/t.mv2" --verify --pubkey "$work/k.pub"
  ok "$tq" tensors "$out"
  grep -Eq "model.layers.0.mlp.down_proj.weight $codec " "$work/out" || fail "$codec: tensor not stored with its codec"
  p=$(ppl_of "$out") || { fail "$codec: tq ppl"; continue; }
  echo "$codec: perplexity $p (float $float_ppl)"
  ratio_ok "$p" "$float_ppl" "$max" || fail "$codec: perplexity $p vs float $float_ppl (allowed ratio $max)"
done

# AQLM by its published configuration name; the file stores the codec as "aqlm"
# (only layer 0's MLP: the data-free AQLM encoder takes about a second per tensor)
ok "$tq" quantize "$float_model" "$work/aqlm.mv2" --codec q8 --override 'model.layers.0.mlp.*=aqlm-2x8' --zstd 3
grep -Eq "^model.layers.0.mlp.up_proj.weight +1024x384 +aqlm-2x8 " "$work/out" || fail "aqlm-2x8: per-tensor line missing"
ok "$tq" tensors "$work/aqlm.mv2"
grep -Eq "model.layers.0.mlp.up_proj.weight aqlm " "$work/out" || fail "aqlm-2x8: not stored as aqlm"

# tq2_0 needs rows of a multiple of 256: refused without --fallback, accepted with it
bad "$tq" quantize "$float_model" "$work/tq2.mv2" --codec tq2_0
grep -q "multiple of 256" "$work/out" || fail "tq2_0: refusal does not say why"
[ ! -e "$work/tq2.mv2" ] || fail "tq2_0: output left after failure"
ok "$tq" quantize "$float_model" "$work/tq2.mv2" --codec tq2_0 --fallback q8
grep -q "used the --fallback codec" "$work/out" || fail "tq2_0: fallback not reported"
grep -Eq "^model.layers.0.mlp.down_proj.weight +384x1024 +tq2_0 " "$work/out" || fail "tq2_0: down_proj should keep tq2_0"

# unknown codec, unsigned file with --verify, unreadable key
bad "$tq" quantize "$float_model" "$work/x.mv2" --codec nope
bad "$tq" info "$work/tq2.mv2" --verify --pubkey "$work/k.pub"
bad "$tq" quantize "$float_model" "$work/x.mv2" --codec q8 --sign "$work/missing.key"

[ "$fails" = 0 ] && echo "all quantize CLI checks passed"
exit "$fails"
