#!/usr/bin/env bash
# The sap-bert-mini-2 pre-training campaign (issue 12): one schedule of 10,000 steps, run in the
# background over many sessions. The same command starts it and continues it: with the full
# checkpoint (models/sap-bert-mini-2/checkpoint/, not committed) it resumes exactly; on a new
# machine it continues from the committed snapshot (fp16 weights + pretrain-state.json) by the
# restart rule (fresh AdamW moments, learning rate re-warmed over 200 steps).
# Run from the repository root: nohup experiments/pretrain-mini2/run.sh > runs/pretrain-mini2.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/../.."
D="${SAP_SHARED_DIR:-../shared}/data"
exec nice -n 19 node dist/src/cli/main.js pretrain --preset sap-bert-mini --tokenizer "$D/tokenizers/bert-base-uncased" \
  --data "$D/datasets/imdb/train.jsonl.gz" --data "$D/datasets/imdb/test.jsonl.gz" --data "$D/corpora/wikitext-2" \
  --data "$D/corpora/brown" --data "$D/corpora/sotu" --glove-init "$D/embeddings/glove.6B.100d.bert-base-uncased.safetensors" \
  --out models/sap-bert-mini-2 --steps 10000 --batch-size 32 --accumulate 4 --seq-len 128 --lr 1e-3 --warmup 500 \
  --checkpoint-every 100 --eval-every 250 --heldout-blocks 512 --seed 42 --precision bf16 --resume
