// `sap finetune`: Split-and-Privatize fine-tuning in one process. The customer side tokenizes,
// runs the bottom and privatizes; the vendor side tunes the top with a PEFT method. Read top to
// bottom: setup -> (resume) -> epochs of steps -> evaluation -> best adapter -> report.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Dataset, Example } from "../data/index.js";
import type { EncoderBatch } from "../models/bert.js";
import { createModel, loadClassifier } from "../models/checkpoint.js";
import type { SplittableModel } from "../models/model.js";
import { loadTokenizer, type Tokenizer } from "../models/tokenizers/index.js";
import {
  DEFAULT_LORA_TARGETS,
  LoraAdapter,
  bottomParams,
  findLinears,
  getPeft,
  savePeft,
  type PeftInstance,
  type PeftParams,
} from "../peft/index.js";
import { createPrivatizer, ctiSummary, noiseSource, saveCtiTable, CtiPrivatizer, type Privatizer } from "../privacy/index.js";
import { Customer, Vendor, type WireBatch } from "../split/parties.js";
import { AdamW, Rng, linearWarmupDecay, tidy, type Tensor } from "../tensor/index.js";
import { loadTrainerCheckpoint, saveTrainerCheckpoint } from "./checkpoint-state.js";
import { RateMeter, type ProgressListener } from "./progress.js";

export interface MechanismSpec {
  name: string;
  params: Record<string, string | number | boolean>;
}

/** What a fine-tuning run trains on and how: shared by the in-process and networked paths. */
export interface TrainingSpec {
  dataset: Dataset;
  split: number;
  privatizer: MechanismSpec;
  peft: { name: string; params: PeftParams };
  epochs: number;
  batchSize: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  clip: number;
  maxSeqLen: number;
  /** Seed of shuffling, initialisation and dropout. */
  seed: number;
  /** Seed of the privacy noise; undefined = CSPRNG (node:crypto). */
  noiseSeed?: number;
}

export interface FinetuneOptions extends TrainingSpec {
  modelDir: string;
  outDir: string;
  resume: boolean;
  /** Checkpoint every this many steps (and at each epoch end). */
  checkpointEvery: number;
  /** Receives every written wire batch (for --dump-wire). */
  onWire?: (wire: WireBatch, phase: "train" | "eval") => void;
  onProgress?: ProgressListener;
  /** One JSON-serialisable record per epoch and at the end (the CLI writes JSON lines). */
  onMetric?: (record: Record<string, unknown>) => void;
  /** Stop after this many steps in total (used to simulate a crash in tests). */
  stopAfterSteps?: number;
  /** Ignore the checkpoint's weights: the same architecture from random initialisation (a baseline). */
  randomInit?: boolean;
  /**
   * U-shaped variant: the customer also trains its bottom, from the gradient of the cut
   * activations the vendor sends back. "lora": LoRA on the bottom layers' attention; "full": the
   * embeddings and every bottom layer (with --split 0 --peft full: plain full fine-tuning).
   */
  trainBottom?: "lora" | "full";
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  devAccuracy: number;
  seconds: number;
}

export interface FinetuneResult {
  dev_accuracy: number;
  best_dev_accuracy: number;
  best_epoch: number;
  train_seconds: number;
  seconds_per_epoch: number;
  examples_per_second: number;
  epochs: EpochRecord[];
  steps: number;
  completed: boolean;
  trainable_parameters: number;
  settings: Record<string, unknown>;
  cti?: { aboveFloor: number[]; aboveFloorInference: number; maxMultiplier: number };
  outDir: string;
}

interface FinetuneState {
  epoch: number;
  batchInEpoch: number;
  step: number;
  trainSeconds: number;
  examplesSeen: number;
  lossSum: number;
  correct: number;
  count: number;
  epochs: EpochRecord[];
  best: number;
  bestEpoch: number;
}

export interface Encoded {
  ids: Int32Array;
  typeIds: Int32Array;
  label: number;
}

export function encodeExamples(tok: Tokenizer, examples: Example[], maxLen: number): Encoded[] {
  return examples.map((e) => {
    const enc = tok.encode(e.text, e.textPair, { maxLength: maxLen, truncation: true });
    return { ids: Int32Array.from(enc.ids), typeIds: Int32Array.from(enc.typeIds), label: e.label };
  });
}

/** Pads a slice of encoded examples to its longest member. */
export function collate(items: Encoded[], padId: number): { batch: EncoderBatch; labels: Int32Array } {
  const B = items.length;
  const T = Math.max(...items.map((x) => x.ids.length));
  const inputIds = new Int32Array(B * T).fill(padId);
  const attentionMask = new Int32Array(B * T);
  const tokenTypeIds = new Int32Array(B * T);
  items.forEach((x, b) => {
    inputIds.set(x.ids, b * T);
    tokenTypeIds.set(x.typeIds, b * T);
    attentionMask.fill(1, b * T, b * T + x.ids.length);
  });
  return {
    batch: { batchSize: B, seqLen: T, inputIds, attentionMask, tokenTypeIds },
    labels: Int32Array.from(items, (x) => x.label),
  };
}

/** Builds the privatizer, giving mechanisms what they learn from (CTI: the training set). */
export function buildPrivatizer(
  spec: MechanismSpec,
  model: SplittableModel,
  tok: Tokenizer,
  train: Encoded[],
  numLabels: number,
): Privatizer {
  const embeddings = model.wordEmbeddings();
  return createPrivatizer(spec.name, spec.params, {
    trainingSet: {
      inputIds: train.map((x) => x.ids),
      labels: train.map((x) => x.label),
      numLabels,
      vocabSize: model.config.vocabSize,
    },
    vocabEmbeddings: embeddings ? { data: embeddings.data, rows: embeddings.shape[0]!, dim: embeddings.shape[1]! } : undefined,
    specialTokenIds: new Set([tok.clsId, tok.sepId, tok.padId, tok.bosId, tok.eosId].filter((x): x is number => x !== undefined)),
  });
}

/** The customer's trainable bottom parameters for the U-shaped variant. */
export function prepareBottom(model: SplittableModel, split: number, kind: "lora" | "full", rng: Rng): Tensor[] {
  if (kind === "full") {
    const ps = bottomParams(model, split).map(([, t]) => t);
    for (const p of ps) p.requiresGrad = true;
    return ps;
  }
  if (split === 0) throw new Error("a bottom LoRA needs at least one bottom layer (--split >= 1)");
  const targets = DEFAULT_LORA_TARGETS[model.config.modelType]!;
  const out: Tensor[] = [];
  for (const [, lin] of findLinears(model, 0, split, targets)) {
    const a = new LoraAdapter(lin, { rank: 8, alpha: 16, dropout: 0 }, rng);
    lin.attachAdapter("lora", a);
    a.A.requiresGrad = true;
    a.B.requiresGrad = true;
    out.push(a.A, a.B);
  }
  return out;
}

/** Applies a PEFT method to the top and freezes everything else. */
export function preparePeft(
  model: SplittableModel,
  split: number,
  spec: { name: string; params: PeftParams },
  rng: Rng,
): PeftInstance {
  model.requiresGrad(false);
  const inst = getPeft(spec.name).apply(model, split, spec.params, rng);
  for (const [, t] of inst.trainable()) t.requiresGrad = true;
  return inst;
}

export function evaluateAccuracy(
  customer: Customer,
  vendor: Vendor,
  data: Encoded[],
  batchSize: number,
  padId: number,
  onWire?: (w: WireBatch) => void,
): number {
  let correct = 0;
  for (let i = 0; i < data.length; i += batchSize) {
    const { batch, labels } = collate(data.slice(i, i + batchSize), padId);
    tidy(() => {
      const wire = customer.encode(batch);
      onWire?.({ ...wire, labels });
      const logits = vendor.predict(wire);
      const C = logits.length / batch.batchSize;
      for (let b = 0; b < batch.batchSize; b++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (logits[b * C + c]! > logits[b * C + best]!) best = c;
        correct += best === labels[b] ? 1 : 0;
      }
    });
  }
  return data.length ? correct / data.length : Number.NaN;
}

export async function finetune(opts: FinetuneOptions): Promise<FinetuneResult> {
  const emit = opts.onProgress ?? (() => {});
  const { dataset } = opts;
  const tok = loadTokenizer(opts.modelDir);
  const { model, config } = loadClassifier(opts.modelDir, { labels: dataset.labels, seed: opts.seed });
  if (opts.randomInit) {
    const fresh = createModel(config, "classification", new Rng(opts.seed + 1)) as SplittableModel;
    const init = new Map(fresh.namedParameters());
    for (const [n, t] of model.namedParameters()) t.data.set(init.get(n)!.data);
  }
  if (opts.maxSeqLen > config.maxPositions)
    throw new Error(`--max-seq-len ${opts.maxSeqLen} exceeds the model's ${config.maxPositions} positions`);
  const rng = new Rng(opts.seed);
  const train = encodeExamples(tok, dataset.train, opts.maxSeqLen);
  const dev = encodeExamples(tok, dataset.dev, opts.maxSeqLen);
  if (!train.length) throw new Error(`dataset ${dataset.name} has no training examples`);

  const privatizer = buildPrivatizer(opts.privatizer, model, tok, train, config.numLabels);
  const peft = preparePeft(model, opts.split, opts.peft, rng);
  const trainable = peft.trainable();
  const optimizer = new AdamW(
    trainable.map(([, t]) => t),
    { lr: opts.lr, weightDecay: opts.weightDecay, noDecay: (p) => p.ndim < 2 },
  );
  const noise = noiseSource(opts.noiseSeed);
  const bottom = opts.trainBottom ? prepareBottom(model, opts.split, opts.trainBottom, rng) : [];
  const bottomOptimizer = new AdamW(bottom, { lr: opts.lr, weightDecay: opts.weightDecay, noDecay: (p) => p.ndim < 2 });
  const customer = new Customer({
    model,
    split: opts.split,
    privatizer,
    noise,
    trainBottom: opts.trainBottom ? { params: bottom, optimizer: bottomOptimizer, clip: opts.clip } : undefined,
  });
  const vendor = new Vendor({
    model,
    split: opts.split,
    peft,
    optimizer,
    clip: opts.clip,
    returnGradient: opts.trainBottom !== undefined,
  });

  mkdirSync(opts.outDir, { recursive: true });
  let cti: FinetuneResult["cti"];
  if (privatizer instanceof CtiPrivatizer) {
    saveCtiTable(join(opts.outDir, "cti.json"), privatizer.table);
    cti = ctiSummary(privatizer.table);
    emit({
      task: "finetune",
      done: 0,
      total: 1,
      unit: "steps",
      message: `CTI: ${cti.aboveFloorInference} tokens above the floor (per class: ${cti.aboveFloor.join(", ")})`,
    });
  }

  const stepsPerEpoch = Math.ceil(train.length / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const warmup = Math.round(opts.warmupRatio * totalSteps);
  const ckptDir = join(opts.outDir, "checkpoint");
  let st: FinetuneState = {
    epoch: 0,
    batchInEpoch: 0,
    step: 0,
    trainSeconds: 0,
    examplesSeen: 0,
    lossSum: 0,
    correct: 0,
    count: 0,
    epochs: [],
    best: -1,
    bestEpoch: -1,
  };
  if (opts.resume && existsSync(join(ckptDir, "state.json"))) {
    st = loadTrainerCheckpoint<FinetuneState>(ckptDir, model, optimizer);
    emit({
      task: "finetune",
      done: st.step,
      total: totalSteps,
      unit: "steps",
      message: `resumed at epoch ${st.epoch + 1}, batch ${st.batchInEpoch}`,
    });
  }

  const settings = {
    model: opts.modelDir,
    task: dataset.name,
    split: opts.split,
    privatizer: opts.privatizer,
    privatizer_description: privatizer.describe(),
    noise: noise.description,
    peft: { name: peft.method, params: peft.params },
    epochs: opts.epochs,
    batch_size: opts.batchSize,
    lr: opts.lr,
    warmup_ratio: opts.warmupRatio,
    weight_decay: opts.weightDecay,
    clip: opts.clip,
    max_seq_len: opts.maxSeqLen,
    seed: opts.seed,
    init: opts.randomInit ? "random" : "pretrained",
    train_bottom: opts.trainBottom ?? "frozen",
    train_examples: train.length,
    dev_examples: dev.length,
  };
  // The adapter carries its privatizer so that inference goes through the same split path; a CTI
  // table travels with it (inference uses the max over classes).
  const adapterMeta = {
    split: opts.split,
    labels: dataset.labels,
    modelType: config.modelType,
    baseModel: opts.modelDir,
    privatizer:
      privatizer instanceof CtiPrivatizer
        ? { name: "cti", params: { ...opts.privatizer.params, table: "cti.json" } }
        : opts.privatizer,
    maxSeqLen: opts.maxSeqLen,
  };
  const saveAdapter = (): void => {
    const dir = join(opts.outDir, "adapter");
    savePeft(dir, peft, adapterMeta);
    if (privatizer instanceof CtiPrivatizer) saveCtiTable(join(dir, "cti.json"), privatizer.table);
  };
  const trainableCount = trainable.reduce((s, [, t]) => s + t.size, 0) + bottom.reduce((s, t) => s + t.size, 0);
  const checkpoint = (): void => saveTrainerCheckpoint(ckptDir, model, optimizer, st);

  let stopped = false;
  while (st.epoch < opts.epochs && !stopped) {
    const order = new Rng(opts.seed * 31 + st.epoch).shuffle([...train.keys()]);
    const meter = new RateMeter(st.batchInEpoch);
    const epochStart = performance.now();
    while (st.batchInEpoch < stepsPerEpoch) {
      const idx = order.slice(st.batchInEpoch * opts.batchSize, (st.batchInEpoch + 1) * opts.batchSize);
      const { batch, labels } = collate(
        idx.map((i) => train[i]!),
        tok.padId,
      );
      optimizer.lr = opts.lr * linearWarmupDecay(st.step, warmup, totalSteps);
      const t0 = performance.now();
      bottomOptimizer.lr = optimizer.lr;
      const r = tidy(() => {
        const wire = customer.encode(batch, labels);
        opts.onWire?.(wire, "train");
        const res = vendor.trainStep(wire);
        if (res.gradHidden) customer.backward(res.gradHidden);
        return res;
      });
      st.trainSeconds += (performance.now() - t0) / 1000;
      st.lossSum += r.loss * r.count;
      st.correct += r.correct;
      st.count += r.count;
      st.examplesSeen += r.count;
      st.step++;
      st.batchInEpoch++;
      if (!Number.isFinite(r.loss)) throw new Error(`loss became ${r.loss} at step ${st.step}; lower --lr`);
      emit({
        task: `epoch ${st.epoch + 1}/${opts.epochs}`,
        done: st.batchInEpoch,
        total: stepsPerEpoch,
        unit: "batches",
        rate: meter.rate(st.batchInEpoch) * opts.batchSize,
        rateUnit: "ex",
        etaSeconds: meter.eta(st.batchInEpoch, stepsPerEpoch),
        metrics: { loss: st.lossSum / st.count, acc: st.correct / st.count },
      });
      if (st.step % opts.checkpointEvery === 0) checkpoint();
      if (opts.stopAfterSteps !== undefined && st.step >= opts.stopAfterSteps) {
        stopped = true;
        break;
      }
      if (st.step % 20 === 0) await new Promise((res) => setImmediate(res));
    }
    if (stopped) break;
    const devAccuracy = evaluateAccuracy(
      customer,
      vendor,
      dev,
      Math.max(opts.batchSize, 64),
      tok.padId,
      opts.onWire ? (w) => opts.onWire!(w, "eval") : undefined,
    );
    const rec: EpochRecord = {
      epoch: st.epoch + 1,
      trainLoss: st.lossSum / Math.max(1, st.count),
      trainAccuracy: st.correct / Math.max(1, st.count),
      devAccuracy,
      seconds: (performance.now() - epochStart) / 1000,
    };
    st.epochs.push(rec);
    opts.onMetric?.({ type: "epoch", ...rec });
    emit({
      task: "finetune",
      done: st.epoch + 1,
      total: opts.epochs,
      unit: "epochs",
      message: `epoch ${rec.epoch}: train loss ${rec.trainLoss.toFixed(4)}, train acc ${(100 * rec.trainAccuracy).toFixed(2)}%, dev acc ${(100 * devAccuracy).toFixed(2)}%`,
    });
    if (devAccuracy > st.best) {
      st.best = devAccuracy;
      st.bestEpoch = rec.epoch;
      saveAdapter();
    }
    st.epoch++;
    st.batchInEpoch = 0;
    st.lossSum = 0;
    st.correct = 0;
    st.count = 0;
    checkpoint();
  }

  const last = st.epochs[st.epochs.length - 1];
  const result: FinetuneResult = {
    dev_accuracy: last?.devAccuracy ?? Number.NaN,
    best_dev_accuracy: st.best,
    best_epoch: st.bestEpoch,
    train_seconds: st.trainSeconds,
    seconds_per_epoch: st.epochs.length ? st.epochs.reduce((s, e) => s + e.seconds, 0) / st.epochs.length : Number.NaN,
    examples_per_second: st.examplesSeen / Math.max(1e-9, st.trainSeconds),
    epochs: st.epochs,
    steps: st.step,
    completed: !stopped,
    trainable_parameters: trainableCount,
    settings,
    cti,
    outDir: opts.outDir,
  };
  if (!stopped) {
    writeFileSync(join(opts.outDir, "metrics.json"), JSON.stringify(result, null, 2));
    writeFileSync(join(opts.outDir, "report.md"), finetuneReport(result));
    opts.onMetric?.({ type: "final", ...result });
  }
  return result;
}

export function finetuneReport(r: FinetuneResult): string {
  const s = r.settings as Record<string, unknown>;
  const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : "n/a");
  return [
    `# Fine-tuning report`,
    ``,
    `- model: \`${String(s.model)}\`, task **${String(s.task)}**, split after layer **k = ${String(s.split)}**`,
    `- privatizer: ${String(s.privatizer_description)} (noise source: ${String(s.noise)})`,
    `- PEFT: ${JSON.stringify(s.peft)}; ${r.trainable_parameters} trainable parameters`,
    `- ${String(s.train_examples)} training / ${String(s.dev_examples)} dev examples, ${String(s.epochs)} epochs, batch ${String(s.batch_size)}, lr ${String(s.lr)}`,
    ``,
    `| epoch | train loss | train acc | dev acc | seconds |`,
    `|---|---|---|---|---|`,
    ...r.epochs.map(
      (e) =>
        `| ${e.epoch} | ${e.trainLoss.toFixed(4)} | ${pct(e.trainAccuracy)} | ${pct(e.devAccuracy)} | ${e.seconds.toFixed(1)} |`,
    ),
    ``,
    `Best dev accuracy **${pct(r.best_dev_accuracy)}** (epoch ${r.best_epoch}); ${r.examples_per_second.toFixed(1)} training examples/s; ${r.train_seconds.toFixed(1)} s of training.`,
    r.cti
      ? `\nCTI: ${r.cti.aboveFloorInference} vocabulary tokens get more than the floor budget (max ${r.cti.maxMultiplier.toFixed(2)}·η₀).`
      : "",
    ``,
  ].join("\n");
}
