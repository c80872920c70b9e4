#!/usr/bin/env bash
# CLI checks for the runtime commands (run, logits, ppl, tokenize) against each other: usage
# $0 PATH/TO/tq. Models: the embedded default model (models/tqlib-default.mv2, with tokenizer)
# and a tiny random Hugging Face folder from tests/model/fixtures (no tokenizer: ids only).
# Needs python3 (standard library only) to read the float32 logits files.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" || exit 1
model=$root/models/tqlib-default.mv2
tiny=$root/tests/model/fixtures/qwen2_tied_gqa
# ok CMD...: must exit 0; stdout in $work/out, stderr in $work/err.
ok() { "$@" >"$work/out" 2>"$work/err" || { fail "expected success: $*"; cat "$work/err"; }; }
# bad PATTERN CMD...: must exit 1 or 2 (an error, not a signal or crash) with a message on
# stderr matching PATTERN (extended regex, case-insensitive).
bad() {
  local pattern=$1
  shift
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" != 1 ] && [ "$rc" != 2 ]; then
    fail "expected exit 1 or 2, got $rc: $*"
    cat "$work/err"
  elif ! grep -Eqi -- "$pattern" "$work/err"; then
    fail "message does not match '$pattern': $*"
    cat "$work/err"
  fi
}
last_line() { tail -n 1 "$work/out"; }

# argmax of the last row of a T x V float32 LE logits file: python3 argmax.py FILE V
cat >"$work/argmax.py" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
V = int(sys.argv[2])
row = struct.unpack("<%df" % V, data[len(data) - 4 * V:])
print(max(range(V), key=lambda i: (row[i], -i)))
EOF
# exp(mean NLL) over windows: python3 ppl.py W V IDS_CSV LOGITS_FILE... (one file per window,
# each the logits of that window's ids run from an empty cache; positions 1..W-1 scored).
cat >"$work/ppl.py" <<'EOF'
import math, struct, sys
W, V = int(sys.argv[1]), int(sys.argv[2])
ids = [int(x) for x in sys.argv[3].split(",")]
nll, n = 0.0, 0
for w, path in enumerate(sys.argv[4:]):
    data = open(path, "rb").read()
    assert len(data) == 4 * W * V, (path, len(data))
    for t in range(W - 1):
        row = struct.unpack_from("<%df" % V, data, 4 * t * V)
        m = max(row)
        lse = m + math.log(sum(math.exp(x - m) for x in row))
        nll += lse - row[ids[w * W + t + 1]]
        n += 1
mean = nll / n
print("%.9g %.9g %d" % (math.exp(mean), mean, n))
EOF
# The numbers of a JSON last line like {"ppl":1.2,"nll":0.3,"tokens":31}: "1.2 0.3 31"
json_ppl() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["ppl"], j["nll"], j["tokens"])' "$1"; }
close() { python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if abs(a-b) <= 1e-4*max(1.0,abs(b)) else 1)' "$1" "$2"; }

# --- greedy run: deterministic for any thread count, first token = argmax of tq logits ------
ok "$tq" tokenize "$model" --text "The old man looked at the sea and said"
prompt=$(last_line | tr -d '[] ')
[ -n "$prompt" ] || fail "tokenize printed no ids"
for m in "$model" "$tiny"; do
  case $m in "$tiny") p=3,14,15,92,65,35,89,79 ;; *) p=$prompt ;; esac
  T=$(echo "$p" | tr ',' '\n' | grep -c .)
  for kv in 16 4; do
    ok "$tq" run "$m" --ids "$p" -n 12 --temp 0 --print-ids --kv-bits "$kv"
    first_run=$(last_line)
    ok "$tq" run "$m" --ids "$p" -n 12 --temp 0 --print-ids --kv-bits "$kv" -t 2
    [ "$(last_line)" = "$first_run" ] || fail "greedy run differs between runs / thread counts ($m, kv $kv): $first_run vs $(last_line)"
    [ -n "$first_run" ] || fail "greedy run generated nothing ($m)"
    ok "$tq" logits "$m" --ids "$p" --out "$work/l.f32" --kv-bits "$kv"
    size=$(stat -c %s "$work/l.f32")
    Vm=$((size / (4 * T)))
    [ $((Vm * 4 * T)) = "$size" ] && [ "$Vm" -gt 300 ] || fail "logits file of $size bytes is not $T rows ($m)"
    want=$(python3 "$work/argmax.py" "$work/l.f32" "$Vm")
    [ "${first_run%%,*}" = "$want" ] || fail "first greedy token ${first_run%%,*} != argmax of tq logits $want ($m, kv $kv)"
  done
done
# streamed text for a text prompt is the detokenized greedy ids
ok "$tq" run "$model" --prompt "The old man" -n 8 --temp 0
[ -s "$work/out" ] || fail "run --prompt printed no text"

# --stop: the text ends where the stop string starts (the greedy text goes ", the American and ...")
ok "$tq" run "$model" --prompt "The history of the city" -n 24 --temp 0
full=$(cat "$work/out")
ok "$tq" run "$model" --prompt "The history of the city" -n 24 --temp 0 --stop " American"
[ "$(cat "$work/out")" = "${full%% American*}" ] || fail "run --stop ' American': got '$(cat "$work/out")' from '$full'"

# --- chat: two turns from stdin, the second only runs its own tokens ---------------------------
ok "$tq" chat "$model" --temp 0 -n 8 <<<$'Hello there\nWhat is the city?'
read -r new1 cached1 new2 cached2 <<<"$(sed -n 's/.*\[\([0-9]*\) new tokens, \([0-9]*\) from the cache.*/\1 \2/p' "$work/err" | tr '\n' ' ')"
[ "${cached1:-x}" = 0 ] && [ "${cached2:-0}" -ge "${new1:-0}" ] && [ "${new2:-99}" -lt "$cached2" ] ||
  fail "chat: the second turn should reuse the first from the cache: $(cat "$work/err")"

# --- sampling: the same seed repeats, another seed differs ------------------------------------
sample() { ok "$tq" run "$tiny" --ids 1,2,3 -n 24 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --seed "$1" --print-ids; last_line; }
s1=$(sample 42)
s2=$(sample 42)
s3=$(sample 43)
[ "$s1" = "$s2" ] || fail "seed 42 does not repeat: $s1 vs $s2"
# 24 tokens from a near-uniform distribution over 384: equal sequences would mean the seed is ignored
[ "$s1" != "$s3" ] || fail "seeds 42 and 43 gave the same 24 tokens"

# --- ppl = exp(mean NLL) of tq logits over the same windows -----------------------------------
ids=$(python3 -c 'print(",".join(str((i * 37 + 11) % 384) for i in range(70)))')
python3 -c 'import struct,sys; ids=[int(x) for x in sys.argv[1].split(",")]; open(sys.argv[2],"wb").write(struct.pack("<%dI" % len(ids), *ids))' "$ids" "$work/ids.bin"
W=32
for kv in 16 3; do
  ok "$tq" ppl "$tiny" --ids-file "$work/ids.bin" --window $W --kv-bits $kv
  read -r got_ppl got_nll got_n <<<"$(json_ppl "$(last_line)")"
  files=()
  for w in 0 1; do  # 70 ids: two windows of 32, the trailing 6 dropped
    win=$(echo "$ids" | cut -d, -f$((w * W + 1))-$((w * W + W)))
    ok "$tq" logits "$tiny" --ids "$win" --out "$work/w$w.f32" --kv-bits $kv
    files+=("$work/w$w.f32")
  done
  read -r want_ppl want_nll want_n <<<"$(python3 "$work/ppl.py" $W 384 "$ids" "${files[@]}")"
  [ "$got_n" = "$want_n" ] && [ "$got_n" = $((2 * (W - 1))) ] || fail "ppl scored $got_n tokens, expected $want_n"
  close "$got_nll" "$want_nll" || fail "ppl nll $got_nll != $want_nll from tq logits (kv $kv)"
  close "$got_ppl" "$want_ppl" || fail "ppl $got_ppl != $want_ppl from tq logits (kv $kv)"
  python3 -c 'import math,sys; v=float(sys.argv[1]); sys.exit(0 if math.isfinite(v) and v > 1 else 1)' "$got_ppl" ||
    fail "ppl $got_ppl is not a finite number > 1"
done
ok "$tq" ppl "$model" --text-file "$root/README.md" --window 64
python3 -c 'import json,math,sys; j=json.loads(sys.argv[1]); sys.exit(0 if math.isfinite(j["ppl"]) and j["tokens"] > 0 else 1)' "$(last_line)" ||
  fail "ppl on text: $(last_line)"

# --- bad inputs: exit 1 or 2 with a message, never a crash -------------------------------------
head -c 100000 "$model" >"$work/trunc.mv2"
bad "missing|no such|cannot|not found|open" "$tq" run "$work/missing.mv2" --ids 1,2 -n 2
bad "trunc|corrupt|short|exceed|outside|size" "$tq" run "$work/trunc.mv2" --ids 1,2 -n 2
bad "trunc|corrupt|short|exceed|outside|size" "$tq" logits "$work/trunc.mv2" --ids 1,2 --out "$work/x.f32"
bad "unknown option --bogus" "$tq" run "$model" --ids 1,2 --bogus
bad "not a valid number" "$tq" run "$model" --ids 1,2 -n abc
bad "kv-bits.*7" "$tq" run "$model" --ids 1,2 -n 2 --kv-bits 7
bad "kv-bits.*7" "$tq" bench "$model" --kv-bits 7
bad "kv-bits.*7" "$tq" ppl "$tiny" --ids-file "$work/ids.bin" --window 32 --kv-bits 7
bad "kv-bits.*7" "$tq" logits "$tiny" --ids 1,2 --out "$work/x.f32" --kv-bits 7
bad "kv-bits" "$tq" run "$model" --ids 1,2 -n 2 --kv-bits four
bad "vocabulary" "$tq" run "$tiny" --ids 1,384 -n 2
bad "ids" "$tq" logits "$tiny" --ids 1,-2 --out "$work/x.f32"
bad "window" "$tq" ppl "$tiny" --ids-file "$work/ids.bin" --window 1
bad "fewer tokens" "$tq" ppl "$tiny" --ids-file "$work/ids.bin" --window 71
bad "prompt|ids" "$tq" run "$model"
bad "tokenizer" "$tq" run "$tiny" --prompt "hello"

[ "$fails" = 0 ] && echo "all model CLI checks passed"
exit "$fails"
