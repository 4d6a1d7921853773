// sap's side of `sap bench finetune`, in a process of its own (so its peak RSS is its own, as the
// Python side's is): the in-process split fine-tuning step of `sap finetune` — the customer's frozen
// bottom and d_χ noise (CSPRNG), then the vendor's LoRA top, loss, clipping and AdamW — on batches
// the parent sends. The protocol mirrors bench/hf_peft_finetune.py: a set-up line, then one line per
// round ({"steps", "warmup"} -> {"seconds", "loss", "maxrss_kb"}).
import { createInterface } from "node:readline";
import { loadClassifier } from "../models/index.js";
import { createPrivatizer, noiseSource } from "../privacy/index.js";
import { Customer, Vendor, fineTuneOptimizer, preparePeft } from "../split/index.js";
import { Rng, engineInfo, getPrecision, setPrecision, setThreads, tidy, type Precision } from "../tensor/index.js";
import type { EncoderBatch } from "../models/index.js";

export interface FinetuneWorkerSetup {
  model: string;
  split: number;
  rank: number;
  alpha: number;
  dropout: number;
  eta: number;
  lr: number;
  weight_decay: number;
  precision: Precision;
  threads: number;
  seed: number;
  labels: string[];
  batches: { ids: number[][]; mask: number[][]; labels: number[] }[];
}

export interface FinetuneWorkerReady {
  trainable: number;
  threads: number;
  backend: string;
  precision: string;
}

export interface FinetuneRoundReply {
  seconds: number;
  /** Of which the customer's part: the frozen bottom and the noise. */
  bottom_seconds: number;
  loss: number;
  maxrss_kb: number;
}

function toBatch(b: FinetuneWorkerSetup["batches"][number]): { batch: EncoderBatch; labels: Int32Array } {
  const B = b.ids.length;
  const T = b.ids[0]!.length;
  return {
    batch: { batchSize: B, seqLen: T, inputIds: Int32Array.from(b.ids.flat()), attentionMask: Int32Array.from(b.mask.flat()) },
    labels: Int32Array.from(b.labels),
  };
}

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const reply = (o: object): void => void process.stdout.write(JSON.stringify(o) + "\n");
  const first = await lines.next();
  if (first.done) return;
  const setup = JSON.parse(first.value) as FinetuneWorkerSetup;
  try {
    setThreads(setup.threads);
    setPrecision(setup.precision);
  } catch (e) {
    reply({ error: (e as Error).message });
    return;
  }
  const { model } = loadClassifier(setup.model, { labels: setup.labels, seed: setup.seed });
  const rng = new Rng(setup.seed);
  const peft = preparePeft(
    model,
    setup.split,
    { name: "lora", params: { rank: setup.rank, alpha: setup.alpha, dropout: setup.dropout } },
    rng,
  );
  const trainable = peft.trainable();
  const optimizer = fineTuneOptimizer(
    trainable.map(([, t]) => t),
    { lr: setup.lr, weightDecay: setup.weight_decay },
  );
  // The noise of a real run: a CSPRNG (node:crypto), not a seeded stream.
  const customer = new Customer({
    model,
    split: setup.split,
    privatizer: createPrivatizer("dchi", { eta: setup.eta }),
    noise: noiseSource(),
  });
  const vendor = new Vendor({ model, split: setup.split, peft, optimizer, clip: 1 });
  const batches = setup.batches.map(toBatch);
  let next = 0;
  let loss = Number.NaN;
  let bottomSeconds = 0;
  // Fresh noise every step, as the Python side does: both run the bottom and the mechanism per step.
  const step = (): void => {
    const { batch, labels } = batches[next]!;
    next = (next + 1) % batches.length;
    loss = tidy(() => {
      const t0 = performance.now();
      const wire = customer.encode(batch, labels);
      bottomSeconds += (performance.now() - t0) / 1000;
      return vendor.trainStep(wire, setup.lr);
    }).loss;
  };
  const info = engineInfo();
  reply({
    trainable: trainable.reduce((s, [, t]) => s + t.size, 0),
    threads: info.threads,
    backend: info.backend,
    precision: getPrecision(),
  } satisfies FinetuneWorkerReady);
  for (let line = await lines.next(); !line.done; line = await lines.next()) {
    if (!line.value.trim()) continue;
    const req = JSON.parse(line.value) as { steps: number; warmup: number };
    for (let i = 0; i < req.warmup; i++) step();
    bottomSeconds = 0;
    const t0 = performance.now();
    for (let i = 0; i < req.steps; i++) step();
    const seconds = (performance.now() - t0) / 1000;
    reply({
      seconds,
      bottom_seconds: bottomSeconds,
      loss,
      maxrss_kb: process.resourceUsage().maxRSS,
    } satisfies FinetuneRoundReply);
  }
}

main().catch((e: Error) => {
  process.stdout.write(JSON.stringify({ error: e.message }) + "\n");
  process.exitCode = 1;
});
