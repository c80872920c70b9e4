#!/usr/bin/env bash
# Device run: trains a few configurations of the default model one after another and keeps,
# in $OUT/m, the one with the lowest validation loss (validation = held-out of the training
# texts, never models/corpus/heldout.txt). Needs .cache/corpus/train.txt and
# .cache/qwen2.5-tokenizer/tokenizer.json (carried); see models/README.md.
set -u
export PYTHONUNBUFFERED=1
best=1e9
run() {
  name=$1; shift
  echo "=== config $name: $*"
  python3 scripts/train/train_default_model.py --tokenizer .cache/qwen2.5-tokenizer \
    --train .cache/corpus/train.txt --heldout models/corpus/heldout.txt --out /tmp/run_$name \
    --split-parts "$@" 2>&1 | grep -v -i warn
  v=$(python3 -c "import json;print(min(x[1] for x in json.load(open('/tmp/run_$name/training.json'))['val']))" 2>/dev/null || echo 1e9)
  if python3 -c "import sys;sys.exit(0 if $v < $best else 1)"; then
    best=$v; rm -rf "$OUT/m"; mkdir -p "$OUT/m"; cp /tmp/run_$name/* "$OUT/m/"; echo "$name" > "$OUT/m/CONFIG"
    echo "=== kept $name (val $v)"
  fi
}
run a --steps 1000 --embed-dropout 0.1 --resid-dropout 0.1 --minutes 1.2
run b --steps 1400 --embed-dropout 0.1 --resid-dropout 0.15 --minutes 1.5
