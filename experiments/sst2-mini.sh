#!/usr/bin/env bash
# SST-2 experiments on the shipped sap-bert-mini (issue 3 quality bar, issue 4 table).
# Usage: bash experiments/sst2-mini.sh OUT_DIR [MAX_TRAIN]   (from the repository root)
set -euo pipefail
OUT=${1:-runs/sst2-mini}
MAX=${2:-20000}
M=models/sap-bert-mini
mkdir -p "$OUT"
run() { # name, extra args...
  local name=$1; shift
  if [ -f "$OUT/$name/metrics.json" ]; then echo "skip $name"; return; fi
  node dist/src/cli/main.js finetune --model "$M" --task sst2 --max-seq-len 64 --batch-size 32 --seed 42 --noise-seed 7 \
    --out "$OUT/$name" --json --quiet "$@" | tail -1 > "$OUT/$name.json"
  echo "$name: $(python3 -c "import json;d=json.load(open('$OUT/$name.json'));print(round(100*d['best_dev_accuracy'],2), d['seconds_per_epoch'])")"
}
# Issue 4: split k = 2, LoRA, SST-2 subset of $MAX training sentences, 2 epochs.
C="--split 2 --peft lora --lr 1e-3 --epochs 2 --max-train $MAX"
run none $C --privatizer none
run dchi-10 $C --privatizer dchi --eta 10
run dchi-25 $C --privatizer dchi --eta 25
run dchi-50 $C --privatizer dchi --eta 50
run cti-25 $C --privatizer cti --eta 25
run cti-10 $C --privatizer cti --eta 10
# Issue 3: plain full fine-tuning on all of SST-2 train, pretrained vs random initialisation.
F="--split 0 --privatizer none --peft full --train-bottom full --lr 1e-4 --epochs 1"
run full-pretrained $F
run full-random $F --random-init --lr 3e-4
