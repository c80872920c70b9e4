#!/usr/bin/env bash
# CLI checks of tq on GGUF files llama.cpp made (tests/model/fixtures/gguf/, see
# scripts/reference/make-llama-fixtures; usage: $0 PATH/TO/tq): `tq ppl --llama-perplexity`
# reproduces llama-perplexity's figure within 0.1% (issue 23), plain `tq ppl` scores differently,
# and `tq tokenize` reads a GGUF's tokenizer and cuts the fixture prompt as llama.cpp did.
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" || exit 1
fx=$root/tests/model/fixtures/gguf

# field FILE.json PYTHON-EXPRESSION-ON-j
field() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# The ppl of a JSON last line like {"ppl":1.2,"nll":0.3,"tokens":31}, and its token count.
json_ppl() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["ppl"], j["tokens"])' "$1"; }
# within A B REL: |A - B| <= REL * |B|
within() { python3 -c 'import sys; a, b, r = map(float, sys.argv[1:]); sys.exit(0 if abs(a - b) <= r * abs(b) else 1)' "$1" "$2" "$3"; }

for stem in qwen2_tied-q8_0 qwen3_untied-q4_0 qwen3_untied-f16; do
  ref=$fx/$stem.json
  want=$(field "$ref" 'j["perplexity"]["ppl"]')
  scored=$(field "$ref" 'j["perplexity"]["scored_tokens"]')
  ok "$tq" ppl "$fx/$stem.gguf" --text-file "$fx/ppl.txt" --window 128 --llama-perplexity
  grep -q '^Final estimate: PPL = ' "$work/out" || fail "$stem: no llama-perplexity style final line"
  read -r got n <<<"$(json_ppl "$(tail -n 1 "$work/out")")"
  [ "$n" = "$scored" ] || fail "$stem: $n tokens scored, llama-perplexity scored $scored"
  within "$got" "$want" 1e-3 || fail "$stem: tq ppl --llama-perplexity $got, llama-perplexity $want (more than 0.1% apart)"
  # Scoring every position of each window is a different figure.
  ok "$tq" ppl "$fx/$stem.gguf" --text-file "$fx/ppl.txt" --window 128
  read -r plain _ <<<"$(json_ppl "$(tail -n 1 "$work/out")")"
  within "$plain" "$want" 1e-3 && fail "$stem: plain tq ppl ($plain) is as close to llama-perplexity ($want) as --llama-perplexity"
done

# llama-perplexity needs two windows' worth of tokens; so does the flag.
head -c 300 "$fx/ppl.txt" >"$work/short.txt"
bad "$tq" ppl "$fx/qwen2_tied-q8_0.gguf" --text-file "$work/short.txt" --window 128 --llama-perplexity
grep -q "at least 2 x window tokens" "$work/out" || fail "short text: $(cat "$work/out")"

# The tokenizer from GGUF metadata: the fixture prompt's ids as llama.cpp's tokenizer gave them.
ref=$fx/qwen2_tied-f16.json
ok "$tq" tokenize "$fx/qwen2_tied-f16.gguf" --text "$(field "$ref" 'j["logits"]["text"]')" --no-special
[ "$(tr -d ' \n' <"$work/out")" = "$(field "$ref" 'json.dumps(j["logits"]["ids"], separators=(",", ":"))')" ] ||
  fail "tq tokenize on the GGUF: $(cat "$work/out")"

[ "$fails" = 0 ] && echo "all llama.cpp GGUF CLI checks passed"
exit "$fails"
