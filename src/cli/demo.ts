// `npm run demo`: Split-and-Privatize on SST-2 with the shipped small BERT, in a few minutes:
// fine-tune the top with LoRA once without privacy and once with d_χ + CTI noise on what the
// customer sends, then print both accuracies side by side.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadTask } from "../data/index.js";
import { readConfig } from "../models/checkpoint.js";
import { finetune, type FinetuneResult } from "../train/finetune.js";
import { terminalProgress } from "./render.js";

export interface DemoOptions {
  modelDir?: string;
  dataDir?: string;
  maxTrain: number;
  epochs: number;
  eta: number;
  outDir: string;
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const modelDir =
    opts.modelDir ?? ["models/sap-bert-mini", "models/sap-bert-tiny"].find((d) => existsSync(join(d, "model.safetensors")));
  if (!modelDir) throw new Error("no shipped model found under models/ (sap-bert-mini or sap-bert-tiny)");
  const layers = readConfig(modelDir).numLayers;
  const split = Math.min(2, layers - 1);
  const dataset = loadTask("sst2", { dataDir: opts.dataDir, maxTrain: opts.maxTrain, seed: 42 });
  process.stdout.write(
    `SAP demo: ${modelDir} (${layers} layers) on SST-2 (${dataset.train.length} training sentences, ${dataset.dev.length} dev), ` +
      `split after layer ${split}, LoRA on the vendor's top\n`,
  );
  const runs: Array<[string, { name: string; params: Record<string, number> }]> = [
    ["no privacy", { name: "none", params: {} }],
    [`SAP: d_χ + CTI, η₀ = ${opts.eta}`, { name: "cti", params: { eta: opts.eta } }],
  ];
  const results: Array<[string, FinetuneResult]> = [];
  for (const [label, privatizer] of runs) {
    process.stdout.write(`\n== ${label}\n`);
    const res = await finetune({
      modelDir,
      dataset,
      split,
      privatizer,
      peft: { name: "lora", params: { rank: 8, alpha: 16, dropout: 0.1 } },
      epochs: opts.epochs,
      batchSize: 32,
      lr: 1e-3,
      warmupRatio: 0.06,
      weightDecay: 0.01,
      clip: 1,
      maxSeqLen: 64,
      seed: 42,
      outDir: join(opts.outDir, privatizer.name),
      resume: false,
      checkpointEvery: 1_000_000,
      onProgress: terminalProgress(),
    });
    results.push([label, res]);
  }
  const base = results[0]![1].best_dev_accuracy;
  process.stdout.write(`\n| run | SST-2 dev accuracy | change | train s/epoch |\n|---|---|---|---|\n`);
  for (const [label, r] of results)
    process.stdout.write(
      `| ${label} | ${(100 * r.best_dev_accuracy).toFixed(2)}% | ${r === results[0]![1] ? "—" : `${(100 * (r.best_dev_accuracy - base)).toFixed(2)} pts`} | ${r.seconds_per_epoch.toFixed(1)} |\n`,
    );
  process.stdout.write(`\nAdapters, metrics.json and report.md under ${opts.outDir}/\n`);
}
