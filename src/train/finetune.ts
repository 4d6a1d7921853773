// `sap finetune`: Split-and-Privatize fine-tuning in one process. The customer side tokenizes,
// runs the bottom and privatizes; the vendor side tunes the top with a PEFT method. Read top to
// bottom: setup -> (resume) -> epochs of steps -> evaluation -> best adapter -> report.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { privacySectionLines, selfCheckBeforeTraining, type PrivacySection } from "../attacks/self-check.js";
import { createModel, loadClassifier } from "../models/checkpoint.js";
import type { SplittableModel } from "../models/model.js";
import { loadTokenizer } from "../models/tokenizers/index.js";
import { savePeft } from "../peft/index.js";
import { ctiSummary, noiseSource, saveCtiTable, CtiPrivatizer } from "../privacy/index.js";
import {
  Customer,
  RateMeter,
  Vendor,
  batchAt,
  Releases,
  releasesFor,
  buildPrivatizer,
  closeEpoch,
  encodeExamples,
  epochOrder,
  fineTuneOptimizer,
  learningRate,
  loadTrainerCheckpoint,
  newLoopState,
  prepareBottom,
  preparePeft,
  recordStep,
  reviveLoopState,
  saveTrainerCheckpoint,
  type EpochRecord,
  type LoopState,
  type ProgressListener,
  type TrainingSpec,
} from "../split/index.js";
import { Rng, tidy, writeSafetensors } from "../tensor/index.js";
import { predictedClasses, type WireBatch } from "../wire/index.js";
import { RunMismatchError, checkSettings, datasetFingerprint, usedFolder, writeSettings } from "./run-settings.js";

/** What a run writes into its folder: removed by `overwrite` (and nothing else there is touched). */
// The release key is kept: a new run in the same folder then re-sends the same release of the same data.
const RUN_OUTPUTS = [
  "checkpoint",
  "adapter",
  "cti.json",
  "customer-bottom.safetensors",
  "metrics.json",
  "metrics.jsonl",
  "report.md",
  "settings.json",
];

export interface FinetuneOptions extends TrainingSpec {
  modelDir: string;
  outDir: string;
  resume: boolean;
  /**
   * A new run (not `resume`) refuses a folder that holds anything, so that another run's outputs
   * are not silently replaced; with `overwrite` the outputs of a previous run there are removed first.
   */
  overwrite?: boolean;
  /** Checkpoint every this many steps (and at each epoch end). */
  checkpointEvery: number;
  /** Receives every written wire batch (for --dump-wire). */
  onWire?: (wire: WireBatch, phase: "train" | "eval") => void;
  onProgress?: ProgressListener;
  /** One JSON-serialisable record per epoch and at the end (the CLI writes JSON lines). */
  onMetric?: (record: Record<string, unknown>) => void;
  /** Stop after this many steps in total (used to simulate a crash in tests). */
  stopAfterSteps?: number;
  /** Run the privacy self-check (formal statement, noise-to-signal, quick attack) before training; default true. */
  selfCheck?: boolean;
  /** Ignore the checkpoint's weights: the same architecture from random initialisation (a baseline). */
  randomInit?: boolean;
  /**
   * U-shaped variant: the customer also trains its bottom, from the gradient of the cut
   * activations the vendor sends back. "lora": LoRA on the bottom layers' attention; "full": the
   * embeddings and every bottom layer (with --split 0 --peft full: plain full fine-tuning).
   */
  trainBottom?: "lora" | "full";
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
  /** What the run protects (absent when the self-check was turned off). */
  privacy?: PrivacySection;
  outDir: string;
}

/** Dev accuracy of the vendor's top on the customer's dev release (labels stay with the customer). */
export function evaluateAccuracy(releases: Releases, vendor: Vendor, batchSize: number, onWire?: (w: WireBatch) => void): number {
  let correct = 0;
  const n = releases.devSize;
  for (let i = 0; i < n; i += batchSize) {
    tidy(() => {
      const { wire, labels } = releases.devBatch(i, Math.min(n, i + batchSize));
      onWire?.({ ...wire, labels });
      const logits = vendor.predict(wire);
      const pred = predictedClasses(logits, logits.length / wire.batchSize);
      for (let b = 0; b < wire.batchSize; b++) correct += pred[b] === labels[b] ? 1 : 0;
    });
  }
  return n ? correct / n : Number.NaN;
}

export async function finetune(opts: FinetuneOptions): Promise<FinetuneResult> {
  const emit = opts.onProgress ?? (() => {});
  const { dataset } = opts;
  const noise = noiseSource(opts.noiseSeed);
  // Everything that decides what the run computes. A resumed run must match it, or its report
  // and metrics would describe a run that did not happen.
  const runSettings = {
    model: resolve(opts.modelDir),
    task: dataset.name,
    split: opts.split,
    privatizer: opts.privatizer,
    noise: noise.description,
    peft: opts.peft,
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
    fresh_noise: opts.freshNoise === true,
    train_examples: dataset.train.length,
    dev_examples: dataset.dev.length,
    data: datasetFingerprint(dataset),
  };
  const settingsFile = join(opts.outDir, "settings.json");
  if (opts.resume)
    checkSettings(
      settingsFile,
      runSettings,
      `the run in ${opts.outDir}`,
      "resume it with the same settings, or start a new run in another folder (CLI: another --out, or --overwrite without --resume)",
    );
  else if (opts.overwrite) for (const f of RUN_OUTPUTS) rmSync(join(opts.outDir, f), { recursive: true, force: true });
  else if (usedFolder(opts.outDir))
    throw new RunMismatchError(
      `${opts.outDir} is not empty: continue the run there with resume (CLI: --resume), replace its outputs with overwrite (CLI: --overwrite), or choose another --out`,
    );
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
  const optimizer = fineTuneOptimizer(
    trainable.map(([, t]) => t),
    opts,
  );
  const bottom = opts.trainBottom ? prepareBottom(model, opts.split, opts.trainBottom, rng) : [];
  const bottomOptimizer = fineTuneOptimizer(bottom, opts);
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
  // Privatize once (the default): the release key stays in the run's folder so that --resume
  // re-sends the same bytes. A trainable bottom changes every step, so it cannot release once.
  const releases = releasesFor(
    customer,
    { train, dev, padId: tok.padId },
    { ...opts, trainsBottom: opts.trainBottom !== undefined, keyFile: join(opts.outDir, "release.key") },
    emit,
  );
  // What this run protects, measured on the customer's own data before training starts.
  const privacy = selfCheckBeforeTraining(customer, tok, { ...opts, train, releases }, emit);
  writeSettings(settingsFile, runSettings);
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
  const ckptDir = join(opts.outDir, "checkpoint");
  let st: LoopState = newLoopState();
  if (opts.resume && existsSync(join(ckptDir, "state.json"))) {
    st = reviveLoopState(loadTrainerCheckpoint<Partial<LoopState>>(ckptDir, model, optimizer));
    emit({
      task: "finetune",
      done: st.step,
      total: totalSteps,
      unit: "steps",
      message: `resumed at epoch ${st.epoch + 1}, batch ${st.batchInEpoch}`,
    });
  }

  const settings = {
    ...runSettings,
    model: opts.modelDir,
    privatizer_description: privatizer.describe(),
    release: releases.description,
    releases_per_example: releases.releasesPer(opts.epochs),
    peft: { name: peft.method, params: peft.params },
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
    // U-shaped: the customer's trained bottom is its own, kept beside (never inside) the vendor's adapter.
    if (opts.trainBottom)
      writeSafetensors(
        join(opts.outDir, "customer-bottom.safetensors"),
        model
          .namedParameters()
          .filter(([, t]) => bottom.includes(t))
          .map(([n, t]) => [n, { shape: t.shape, data: t.data }]),
      );
  };
  const trainableCount = trainable.reduce((s, [, t]) => s + t.size, 0) + bottom.reduce((s, t) => s + t.size, 0);
  const checkpoint = (): void => saveTrainerCheckpoint(ckptDir, model, optimizer, st);

  let stopped = false;
  while (st.epoch < opts.epochs && !stopped) {
    const order = epochOrder(opts.seed, st.epoch, train.length);
    const meter = new RateMeter(st.batchInEpoch);
    const epochStart = performance.now();
    while (st.batchInEpoch < stepsPerEpoch) {
      const idx = batchAt(order, st.batchInEpoch, opts.batchSize);
      const lr = learningRate(opts, st.step, totalSteps);
      bottomOptimizer.lr = lr;
      const t0 = performance.now();
      const r = tidy(() => {
        const wire = releases.trainBatch(idx);
        opts.onWire?.(wire, "train");
        const res = vendor.trainStep(wire, lr);
        if (res.gradHidden) customer.backward(res.gradHidden);
        return res;
      });
      recordStep(st, r, (performance.now() - t0) / 1000);
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
      releases,
      vendor,
      Math.max(opts.batchSize, 64),
      opts.onWire ? (w) => opts.onWire!(w, "eval") : undefined,
    );
    const { record: rec, improved } = closeEpoch(st, devAccuracy, (performance.now() - epochStart) / 1000);
    opts.onMetric?.({ type: "epoch", ...rec });
    emit({
      task: "finetune",
      done: rec.epoch,
      total: opts.epochs,
      unit: "epochs",
      message: `epoch ${rec.epoch}: train loss ${rec.trainLoss.toFixed(4)}, train acc ${(100 * rec.trainAccuracy).toFixed(2)}%, dev acc ${(100 * devAccuracy).toFixed(2)}%`,
    });
    if (improved) saveAdapter();
    checkpoint();
  }

  const last = st.epochs[st.epochs.length - 1];
  const result: FinetuneResult = {
    dev_accuracy: last?.devAccuracy ?? Number.NaN,
    best_dev_accuracy: st.best,
    best_epoch: st.bestEpoch,
    train_seconds: st.trainSeconds,
    seconds_per_epoch: st.epochs.length ? st.epochs.reduce((s, e) => s + (e.seconds ?? 0), 0) / st.epochs.length : Number.NaN,
    examples_per_second: st.examplesSeen / Math.max(1e-9, st.trainSeconds),
    epochs: st.epochs,
    steps: st.step,
    completed: !stopped,
    trainable_parameters: trainableCount,
    settings,
    cti,
    privacy,
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
        `| ${e.epoch} | ${e.trainLoss.toFixed(4)} | ${pct(e.trainAccuracy)} | ${pct(e.devAccuracy)} | ${(e.seconds ?? Number.NaN).toFixed(1)} |`,
    ),
    ``,
    `Best dev accuracy **${pct(r.best_dev_accuracy)}** (epoch ${r.best_epoch}); ${r.examples_per_second.toFixed(1)} training examples/s; ${r.train_seconds.toFixed(1)} s of training.`,
    r.cti
      ? `\nCTI: ${r.cti.aboveFloorInference} vocabulary tokens get more than the floor budget (max ${r.cti.maxMultiplier.toFixed(2)}·η₀).`
      : "",
    ...(r.privacy ? ["", "## Privacy", "", ...privacySectionLines(r.privacy)] : []),
    ``,
  ].join("\n");
}
