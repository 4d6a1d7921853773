#!/bin/bash
cd /work/main
for mode in once fresh; do
  extra=""; [ $mode = fresh ] && extra="--fresh-noise"
  node dist/src/cli/main.js eval privacy --model models/sap-bert-mini --task sst2 --split 2 \
    --privatizers none,cti --etas 5,10,25 --attacks nn-l2,optim,epoch-average --attack-param epoch-average.copies=2 \
    --max-train 2000 --max-eval 64 --epochs 2 --seeds 1 --canaries 0 --out experiments/privatize-once/$mode $extra --json > experiments/privatize-once/$mode.json 2> experiments/privatize-once/$mode.log
done
echo done > /dev/null
