#!/usr/bin/env bash
# CLI checks of GGUF files: `tq export-gguf` writes one, and the runtime commands read it as they
# read the model it came from (usage: $0 PATH/TO/tq). The f32 fixture's logits must be
# bit-identical through GGUF, and so must q8's, q5_0's, q4_1's and q5_1's (ggml's blocks byte for
# byte); what GGUF cannot hold is refused by name and leaves no file.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" || exit 1
tiny=$root/tests/model/fixtures/qwen2_tied_gqa
# Q8_0 rows are whole blocks of 32: this fixture's widths (96, 320) are multiples of it.
tiny32=$root/tests/model/fixtures/qwen2_untied_mqa
ids=3,14,15,92,65,35,89,79

# bad PATTERN CMD...: must fail with a message matching PATTERN.
bad_msg() {
  local pattern=$1
  shift
  bad "$@"
  grep -Eq "$pattern" "$work/out" || fail "message does not match '$pattern': $* -> $(cat "$work/out")"
}

ok "$tq" export-gguf "$tiny" "$work/tiny.gguf"
ok "$tq" logits "$tiny" --ids "$ids" --out "$work/folder.f32"
ok "$tq" logits "$work/tiny.gguf" --ids "$ids" --out "$work/gguf.f32"
cmp -s "$work/folder.f32" "$work/gguf.f32" || fail "f32 logits differ between the folder and its GGUF"

ok "$tq" quantize "$tiny32" "$work/q8.mv2" --codec q8
ok "$tq" export-gguf "$work/q8.mv2" "$work/q8.gguf"
ok "$tq" logits "$work/q8.mv2" --ids "$ids" --out "$work/q8-mv2.f32"
ok "$tq" logits "$work/q8.gguf" --ids "$ids" --out "$work/q8-gguf.f32"
cmp -s "$work/q8-mv2.f32" "$work/q8-gguf.f32" || fail "q8 logits differ between the MV2 file and its GGUF"
ok "$tq" run "$work/q8.gguf" --ids "$ids" -n 8 --temp 0 --print-ids
[ -n "$(tail -n 1 "$work/out")" ] || fail "run on the GGUF generated nothing"

# llama.cpp's 32-blocks with a fifth bit or a min (Q5_0, Q4_1, Q5_1) go to GGUF and back as they
# are; `tq quantize model.gguf` without --codec keeps the file's quantized tensors byte for byte,
# with --codec it re-quantizes them.
ok "$tq" quantize "$tiny32" "$work/mix.mv2" --codec q5_0 --override 'model.layers.*.mlp.*=q4_1' --override '*.o_proj.*=q5_1'
ok "$tq" export-gguf "$work/mix.mv2" "$work/mix.gguf"
ok "$tq" quantize "$work/mix.gguf" "$work/mix-back.mv2"
grep -q "imported (GGUF Q5_1, kept as stored)" "$work/out" || fail "quantize of a GGUF did not keep its Q5_1 tensors"
ok "$tq" logits "$work/mix.mv2" --ids "$ids" --out "$work/mix-mv2.f32"
ok "$tq" logits "$work/mix.gguf" --ids "$ids" --out "$work/mix-gguf.f32"
ok "$tq" logits "$work/mix-back.mv2" --ids "$ids" --out "$work/mix-back.f32"
cmp -s "$work/mix-mv2.f32" "$work/mix-gguf.f32" || fail "q5_0/q4_1/q5_1 logits differ between the MV2 file and its GGUF"
cmp -s "$work/mix-mv2.f32" "$work/mix-back.f32" || fail "logits changed through tq quantize of the GGUF (kept tensors)"
ok "$tq" quantize "$work/mix.gguf" "$work/mix-q8.mv2" --codec q8
grep -Eq "down_proj.weight +96x320 +q8 " "$work/out" || fail "quantize --codec q8 of a GGUF did not re-quantize"

ok "$tq" quantize "$tiny" "$work/q8-200.mv2" --codec q8
bad_msg "ne\\[0\\] = 200 is not a multiple of the Q8_0 block size" "$tq" export-gguf "$work/q8-200.mv2" "$work/q8-200.gguf"
ok "$tq" quantize "$tiny" "$work/tq4.mv2" --codec tq4_1s
bad_msg "tq4_1s, which has no GGUF type" "$tq" export-gguf "$work/tq4.mv2" "$work/tq4.gguf"
[ -e "$work/tq4.gguf" ] && fail "a refused export left $work/tq4.gguf"
# A pruned vocabulary (vocab_remap.json) becomes the GGUF's own tokenizer: the same ids, the same logits.
ok "$tq" export-gguf "$root/models/default-float" "$work/pruned.gguf"
text="Once upon a time, the quick brown fox was proposing <|im_end|> a plan."
ok "$tq" tokenize "$root/models/default-float" --text "$text"
tail -n 1 "$work/out" >"$work/ids-folder"
ok "$tq" tokenize "$work/pruned.gguf" --text "$text"
tail -n 1 "$work/out" >"$work/ids-gguf"
cmp -s "$work/ids-folder" "$work/ids-gguf" || fail "the pruned vocabulary tokenizes differently from its GGUF: $(cat "$work/ids-folder") vs $(cat "$work/ids-gguf")"
ok "$tq" logits "$root/models/default-float" --ids "$ids" --out "$work/pruned-folder.f32"
ok "$tq" logits "$work/pruned.gguf" --ids "$ids" --out "$work/pruned-gguf.f32"
cmp -s "$work/pruned-folder.f32" "$work/pruned-gguf.f32" || fail "logits differ between the pruned-vocabulary model and its GGUF"
printf 'GGUF\003\000\000\000' >"$work/short.gguf"
bad_msg "GGUF" "$tq" run "$work/short.gguf" --ids 1,2 -n 1

[ "$fails" = 0 ] && echo "all GGUF CLI checks passed"
exit "$fails"
