// `sap pretrain`: masked-LM pre-training of a BERT encoder (or causal LM for GPT-2) on text
// files, with packing, periodic checkpoints, --resume and a held-out metric. The loop reads top
// to bottom: data -> model -> steps (forward, backward, clip, AdamW) -> eval -> checkpoint.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { BertForMaskedLM, type EncoderBatch } from "../models/bert.js";
import { createModel, loadPretrained, readConfig, savePretrained } from "../models/checkpoint.js";
import { parseConfig, type EncoderConfig } from "../models/config.js";
import { GPT2LMHeadModel } from "../models/gpt2.js";
import { loadTokenizer, type Tokenizer } from "../models/tokenizers/index.js";
import { AdamW, Rng, backward, clipGradNorm, linearWarmupDecay, noGrad, ops, readSafetensors, tidy } from "../tensor/index.js";
import { loadTrainerCheckpoint, saveTrainerCheckpoint } from "../split/checkpoint.js";
import { packCorpus } from "./corpus.js";
import { RateMeter, type ProgressListener } from "../split/progress.js";

/** A BERT masked-LM config.json with the BERT vocabulary, 128 positions and BERT's other defaults. */
function bertPreset(hidden: number, layers: number, heads: number, intermediate: number): Record<string, unknown> {
  return {
    architectures: ["BertForMaskedLM"],
    model_type: "bert",
    vocab_size: 30522,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    intermediate_size: intermediate,
    hidden_act: "gelu",
    max_position_embeddings: 128,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    initializer_range: 0.02,
    pad_token_id: 0,
  };
}

/** Architectures the project ships (the sizes), as config.json contents. */
export const PRESETS: Record<string, Record<string, unknown>> = {
  "sap-bert-mini": bertPreset(256, 4, 4, 1024),
  "sap-bert-tiny": bertPreset(128, 2, 2, 512),
};

export interface PretrainOptions {
  /** A preset name or a config.json path/contents for a new model... */
  preset?: string;
  config?: Record<string, unknown>;
  /** ...or a model directory to continue from. */
  modelDir?: string;
  /** Folder with vocab.txt / tokenizer.json (defaults to modelDir). */
  tokenizerDir: string;
  data: string[];
  outDir: string;
  seqLen: number;
  batchSize: number;
  /** Micro-batches of batchSize per optimizer step (gradient accumulation); default 1. */
  accumulate?: number;
  steps: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  maskProb: number;
  clip: number;
  seed: number;
  checkpointEvery: number;
  evalEvery: number;
  heldoutBlocks: number;
  /** GloVe vectors aligned to the vocabulary ([V, d] "embeddings" + "present"), projected to the hidden size. */
  gloveInit?: string;
  resume: boolean;
  /**
   * Restart rule, for a campaign resumed from the committed snapshot (fp16 weights and
   * pretrain-state.json in outDir, no optimizer state): AdamW's moments start from zero and the
   * learning rate ramps up again over this many steps. Default 200.
   */
  rewarmSteps?: number;
  onProgress?: ProgressListener;
}

export interface PretrainState {
  step: number;
  epoch: number;
  cursor: number;
  elapsedSeconds: number;
  tokensSeen: number;
  /** CPU time of this process over all runs (user + system, all threads). */
  cpuSeconds?: number;
  /** Steps at which a run restarted from the snapshot with fresh optimizer moments. */
  restarts?: number[];
  /** What a resumed run must match for the data order and masks to continue unchanged. */
  schedule?: { seqLen: number; batchSize: number; accumulate: number; seed: number; maskProb: number };
  history: Array<{ step: number; trainLoss: number; heldoutLoss: number; heldoutAccuracy: number; heldoutPerplexity: number }>;
}

export interface PretrainResult extends PretrainState {
  outDir: string;
  corpus: { files: string[]; documents: number; tokens: number; trainBlocks: number; heldoutBlocks: number };
  final: { heldoutLoss: number; heldoutAccuracy: number; heldoutPerplexity: number };
}

type LmModel = BertForMaskedLM | GPT2LMHeadModel;

/** BERT's masking: of the chosen 15%, 80% -> [MASK], 10% -> random token, 10% unchanged. */
function maskBlock(
  ids: Int32Array,
  tok: Tokenizer,
  rng: Rng,
  prob: number,
  specials: Set<number>,
): { input: Int32Array; targets: Map<number, number> } {
  const input = ids.slice();
  const targets = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) {
    if (specials.has(ids[i]!) || rng.uniform() >= prob) continue;
    targets.set(i, ids[i]!);
    const r = rng.uniform();
    if (r < 0.8) input[i] = tok.maskId!;
    else if (r < 0.9) input[i] = rng.int(tok.vocabSize);
  }
  if (targets.size === 0) {
    // Every row contributes at least one prediction.
    const i = 1 + rng.int(ids.length - 2);
    targets.set(i, ids[i]!);
    input[i] = tok.maskId!;
  }
  return { input, targets };
}

interface LmBatch {
  batch: EncoderBatch;
  /** MLM: flat rows and their targets; CLM: unused. */
  rows: number[];
  targets: Int32Array;
}

function buildBatch(
  model: LmModel,
  blocks: Int32Array[],
  tok: Tokenizer,
  rng: Rng,
  maskProb: number,
  specials: Set<number>,
): LmBatch {
  const B = blocks.length;
  if (model instanceof GPT2LMHeadModel) {
    const T = blocks[0]!.length;
    const inputIds = new Int32Array(B * T);
    blocks.forEach((b, i) => inputIds.set(b, i * T));
    return {
      batch: { batchSize: B, seqLen: T, inputIds, attentionMask: new Int32Array(B * T).fill(1) },
      rows: [],
      targets: new Int32Array(0),
    };
  }
  const T = blocks[0]!.length + 2;
  const inputIds = new Int32Array(B * T);
  const rows: number[] = [];
  const targets: number[] = [];
  blocks.forEach((blk, b) => {
    const full = new Int32Array(T);
    full[0] = tok.clsId!;
    full.set(blk, 1);
    full[T - 1] = tok.sepId!;
    const { input, targets: t } = maskBlock(full, tok, rng, maskProb, specials);
    inputIds.set(input, b * T);
    for (const [pos, id] of t) {
      rows.push(b * T + pos);
      targets.push(id);
    }
  });
  return {
    batch: { batchSize: B, seqLen: T, inputIds, attentionMask: new Int32Array(B * T).fill(1) },
    rows,
    targets: Int32Array.from(targets),
  };
}

function lmLoss(model: LmModel, b: LmBatch): { loss: ReturnType<typeof ops.crossEntropy>; correct: number; count: number } {
  if (model instanceof GPT2LMHeadModel) {
    const { loss, logits } = model.lmLoss(b.batch);
    const V = model.config.vocabSize;
    let correct = 0;
    let count = 0;
    const { batchSize: B, seqLen: T, inputIds } = b.batch;
    for (let r = 0; r < B; r++)
      for (let t = 0; t + 1 < T; t++) {
        const row = logits.data.subarray((r * T + t) * V, (r * T + t + 1) * V);
        let best = 0;
        for (let v = 1; v < V; v++) if (row[v]! > row[best]!) best = v;
        correct += best === inputIds[r * T + t + 1] ? 1 : 0;
        count++;
      }
    return { loss, correct, count };
  }
  const logits = model.mlmLogits(b.batch, b.rows);
  const V = model.config.vocabSize;
  let correct = 0;
  for (let i = 0; i < b.rows.length; i++) {
    const row = logits.data.subarray(i * V, (i + 1) * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v]! > row[best]!) best = v;
    correct += best === b.targets[i] ? 1 : 0;
  }
  return { loss: ops.crossEntropy(logits, b.targets), correct, count: b.rows.length };
}

/** Initialises word embeddings from GloVe vectors aligned to the vocabulary, by a fixed random projection. */
export function initEmbeddingsFromGlove(model: LmModel, path: string, rng: Rng): number {
  const { tensors } = readSafetensors(path);
  const emb = tensors.get("embeddings");
  const present = tensors.get("present");
  if (!emb || !present) throw new Error(`${path}: expected tensors "embeddings" [V, d] and "present" [V]`);
  const [V, d] = emb.shape as [number, number];
  const weight = model.wordEmbeddings();
  const [Vm, H] = weight.shape as [number, number];
  if (V !== Vm) throw new Error(`${path}: ${V} rows but the model's vocabulary has ${Vm}`);
  const P = Float64Array.from({ length: d * H }, () => rng.normal() / Math.sqrt(d));
  const proj = new Float32Array(V * H);
  let sq = 0;
  let n = 0;
  for (let v = 0; v < V; v++) {
    if (!present.data[v]) continue;
    for (let h = 0; h < H; h++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += emb.data[v * d + j]! * P[j * H + h]!;
      proj[v * H + h] = s;
      sq += s * s;
    }
    n++;
  }
  // Scale so GloVe rows have a per-coordinate spread a little above the random rows' (std 0.02).
  const scale = 0.05 / Math.sqrt(sq / Math.max(1, n * H));
  for (let v = 0; v < V; v++) if (present.data[v]) for (let h = 0; h < H; h++) weight.data[v * H + h] = proj[v * H + h]! * scale;
  return n;
}

/** The loop state beside the fp16 weights in --out: what a campaign commits to survive new machines. */
export const SNAPSHOT_STATE = "pretrain-state.json";

const TOKENIZER_FILES = [
  "vocab.txt",
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.json",
  "merges.txt",
  "special_tokens_map.json",
];

/**
 * The model as a Hugging Face folder (fp16 weights, config, tokenizer) plus the loop state, in
 * --out. With the full checkpoint gone, `--resume` continues from it by the restart rule.
 */
function saveSnapshot(model: LmModel, config: EncoderConfig, opts: PretrainOptions, state: PretrainState): void {
  savePretrained(model, config, opts.outDir, { dtype: "F16" });
  for (const f of readdirSync(opts.tokenizerDir))
    if (TOKENIZER_FILES.includes(f) && !existsSync(join(opts.outDir, f)))
      copyFileSync(join(opts.tokenizerDir, f), join(opts.outDir, f));
  const tmp = join(opts.outDir, `${SNAPSHOT_STATE}.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  renameSync(tmp, join(opts.outDir, SNAPSHOT_STATE));
}

export async function pretrain(opts: PretrainOptions): Promise<PretrainResult> {
  const emit = opts.onProgress ?? (() => {});
  const tok = loadTokenizer(opts.tokenizerDir);
  const rng = new Rng(opts.seed);

  const accumulate = opts.accumulate ?? 1;
  if (!Number.isInteger(accumulate) || accumulate < 1) throw new Error(`accumulate must be an integer >= 1, got ${accumulate}`);
  const ckptDir = join(opts.outDir, "checkpoint");
  const snapshotFile = join(opts.outDir, SNAPSHOT_STATE);
  const fullResume = opts.resume && existsSync(join(ckptDir, "state.json"));
  // Without the full checkpoint (a new machine), a campaign continues from its committed snapshot.
  const snapshotResume =
    opts.resume && !fullResume && existsSync(snapshotFile) && existsSync(join(opts.outDir, "model.safetensors"));
  const modelDir = snapshotResume ? opts.outDir : opts.modelDir;

  // Model: continue from a directory, or a new one from a preset/config.
  let model: LmModel;
  let config: EncoderConfig;
  if (modelDir) {
    const loaded = loadPretrained(modelDir, { task: readConfig(modelDir).modelType === "gpt2" ? "lm" : "mlm" });
    if (!(loaded.model instanceof BertForMaskedLM || loaded.model instanceof GPT2LMHeadModel))
      throw new Error(`${modelDir}: pre-training needs a BERT (masked LM) or GPT-2 (causal LM) model`);
    model = loaded.model;
    config = loaded.config;
  } else {
    const raw = opts.config ?? PRESETS[opts.preset ?? ""];
    if (!raw) throw new Error(`unknown preset "${opts.preset}" (available: ${Object.keys(PRESETS).join(", ")})`);
    config = parseConfig(raw);
    const m = createModel(config, config.modelType === "gpt2" ? "lm" : "mlm", rng);
    if (!(m instanceof BertForMaskedLM || m instanceof GPT2LMHeadModel))
      throw new Error(`pre-training supports bert and gpt2, not ${config.modelType}`);
    model = m;
    if (opts.gloveInit)
      emit({
        task: "pretrain",
        done: 0,
        total: opts.steps,
        unit: "steps",
        message: `GloVe init: ${initEmbeddingsFromGlove(model, opts.gloveInit, rng)} word vectors`,
      });
  }
  if (tok.vocabSize !== config.vocabSize)
    throw new Error(`tokenizer has ${tok.vocabSize} ids but the model's vocabulary has ${config.vocabSize}`);
  const mlm = model instanceof BertForMaskedLM;
  if (mlm && (tok.maskId === undefined || tok.clsId === undefined || tok.sepId === undefined))
    throw new Error("masked-LM pre-training needs a tokenizer with [CLS], [SEP] and [MASK]");
  if (opts.seqLen > config.maxPositions)
    throw new Error(`--seq-len ${opts.seqLen} exceeds the model's ${config.maxPositions} positions`);

  // Data: pack the corpus into blocks; hold out a fixed set of blocks for the metric.
  const blockLen = mlm ? opts.seqLen - 2 : opts.seqLen;
  const sep = mlm ? tok.sepId! : (tok.eosId ?? tok.padId);
  const corpus = packCorpus(opts.data, tok, blockLen, sep, (f, docs) =>
    emit({ task: "pretrain", done: 0, total: opts.steps, unit: "steps", message: `read ${basename(f)}: ${docs} documents` }),
  );
  const order = new Rng(opts.seed ^ 0x5eed).shuffle([...corpus.blocks.keys()]);
  const nHeld = Math.min(opts.heldoutBlocks, Math.floor(order.length / 10));
  const heldout = order.slice(0, nHeld).map((i) => corpus.blocks[i]!);
  const train = order.slice(nHeld).map((i) => corpus.blocks[i]!);
  if (train.length < opts.batchSize)
    throw new Error(`only ${train.length} training blocks of ${blockLen} tokens; need at least --batch-size ${opts.batchSize}`);
  emit({
    task: "pretrain",
    done: 0,
    total: opts.steps,
    unit: "steps",
    message: `${corpus.tokens} tokens from ${corpus.documents} documents -> ${train.length} training + ${heldout.length} held-out blocks of ${opts.seqLen}`,
  });

  const specials = new Set([tok.clsId, tok.sepId, tok.padId].filter((x): x is number => x !== undefined));
  const params = model.parameters();
  const opt = new AdamW(params, { lr: opts.lr, weightDecay: opts.weightDecay, noDecay: (p) => p.ndim < 2 });
  mkdirSync(opts.outDir, { recursive: true });
  const rewarm = opts.rewarmSteps ?? 200;
  const schedule = { seqLen: opts.seqLen, batchSize: opts.batchSize, accumulate, seed: opts.seed, maskProb: opts.maskProb };
  let state: PretrainState = {
    step: 0,
    epoch: 0,
    cursor: 0,
    elapsedSeconds: 0,
    tokensSeen: 0,
    cpuSeconds: 0,
    restarts: [],
    schedule,
    history: [],
  };
  if (fullResume || snapshotResume) {
    const from = fullResume ? ckptDir : snapshotFile;
    state = fullResume
      ? loadTrainerCheckpoint<PretrainState>(ckptDir, model, opt)
      : (JSON.parse(readFileSync(snapshotFile, "utf8")) as PretrainState);
    // The data order and the masks follow from these; a resumed run that changed them would
    // silently train on another schedule than the one its state describes.
    for (const k of Object.keys(schedule) as Array<keyof typeof schedule>)
      if (state.schedule && state.schedule[k] !== schedule[k])
        throw new Error(
          `${from}: the run was made with ${k} ${state.schedule[k]}, not ${schedule[k]}; resume with the same value`,
        );
    state.schedule = schedule;
    state.restarts ??= [];
    if (snapshotResume) state.restarts.push(state.step);
    emit({
      task: "pretrain",
      done: state.step,
      total: opts.steps,
      unit: "steps",
      message: fullResume
        ? `resumed from ${ckptDir} at step ${state.step}`
        : `resumed from the snapshot in ${opts.outDir} at step ${state.step} (fp16 weights, fresh optimizer moments, learning rate re-warmed over ${rewarm} steps)`,
    });
  }
  /** The schedule's factor, times the restart rule's ramp after a restart from the snapshot. */
  const lrFactor = (step: number): number => {
    const last = state.restarts?.length ? state.restarts[state.restarts.length - 1]! : -1;
    const ramp = last >= 0 && step - last < rewarm ? (step - last + 1) / rewarm : 1;
    return linearWarmupDecay(step, opts.warmupSteps, opts.steps) * ramp;
  };

  const epochOrder = (epoch: number): number[] => new Rng(opts.seed + 1000 * (epoch + 1)).shuffle([...train.keys()]);
  let perm = epochOrder(state.epoch);
  const evaluate = (): { loss: number; accuracy: number; perplexity: number } => {
    model.eval();
    const erng = new Rng(opts.seed ^ 0xe7a1); // the same masks every evaluation
    let lossSum = 0;
    let count = 0;
    let correct = 0;
    for (let i = 0; i < heldout.length; i += opts.batchSize) {
      const b = buildBatch(model, heldout.slice(i, i + opts.batchSize), tok, erng, opts.maskProb, specials);
      tidy(() =>
        noGrad(() => {
          const r = lmLoss(model, b);
          lossSum += r.loss.item() * r.count;
          count += r.count;
          correct += r.correct;
        }),
      );
    }
    model.train();
    const loss = lossSum / Math.max(1, count);
    return { loss, accuracy: correct / Math.max(1, count), perplexity: Math.exp(loss) };
  };

  const meter = new RateMeter(state.step);
  const elapsedBefore = state.elapsedSeconds;
  let recentLoss = Number.NaN;
  const cpuBefore = state.cpuSeconds ?? 0;
  const cpuStart = process.cpuUsage();
  const checkpoint = (): void => {
    state.elapsedSeconds = elapsedBefore + meter.elapsedSeconds();
    const cpu = process.cpuUsage(cpuStart);
    state.cpuSeconds = cpuBefore + (cpu.user + cpu.system) / 1e6;
    saveTrainerCheckpoint(ckptDir, model, opt, state, { "config.json": JSON.stringify({ ...config.raw }, null, 2) });
    saveSnapshot(model, config, opts, state);
    emit({ task: "pretrain", done: state.step, total: opts.steps, unit: "steps", message: `checkpoint at step ${state.step}` });
  };

  model.train();
  while (state.step < opts.steps) {
    opt.lr = opts.lr * lrFactor(state.step);
    // One optimizer step over `accumulate` micro-batches; each loss is scaled so the summed
    // gradient is the mean over all of them, as one batch of accumulate x batchSize would give.
    let loss = 0;
    let stepTokens = 0;
    for (let micro = 0; micro < accumulate; micro++) {
      if (state.cursor + opts.batchSize > perm.length) {
        state.epoch++;
        state.cursor = 0;
        perm = epochOrder(state.epoch);
      }
      const blocks = perm.slice(state.cursor, state.cursor + opts.batchSize).map((i) => train[i]!);
      state.cursor += opts.batchSize;
      // Masks depend only on (seed, step, micro-batch): a resumed run sees the same batches.
      // (With accumulate 1 this is seed * 7919 + step, as before accumulation existed.)
      const b = buildBatch(
        model,
        blocks,
        tok,
        new Rng(opts.seed * 7919 + state.step * accumulate + micro),
        opts.maskProb,
        specials,
      );
      stepTokens += b.batch.batchSize * b.batch.seqLen;
      loss += tidy(() => {
        const r = lmLoss(model, b);
        backward(r.loss, Float32Array.of(1 / accumulate));
        return r.loss.item() / accumulate;
      });
    }
    tidy(() => {
      clipGradNorm(params, opts.clip);
      opt.step();
      opt.zeroGrad();
    });
    if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${state.step}; lower --lr or check the data`);
    recentLoss = Number.isNaN(recentLoss) ? loss : 0.98 * recentLoss + 0.02 * loss;
    state.step++;
    state.tokensSeen += stepTokens;
    const rate = meter.rate(state.step);
    emit({
      task: "pretrain",
      done: state.step,
      total: opts.steps,
      unit: "steps",
      rate: rate * stepTokens,
      rateUnit: "tok",
      etaSeconds: meter.eta(state.step, opts.steps),
      metrics: { loss: recentLoss, lr: opt.lr },
    });
    if (state.step % opts.evalEvery === 0 || state.step === opts.steps) {
      const ev = evaluate();
      state.history.push({
        step: state.step,
        trainLoss: recentLoss,
        heldoutLoss: ev.loss,
        heldoutAccuracy: ev.accuracy,
        heldoutPerplexity: ev.perplexity,
      });
      emit({
        task: "pretrain",
        done: state.step,
        total: opts.steps,
        unit: "steps",
        message: `step ${state.step}: held-out loss ${ev.loss.toFixed(4)}, accuracy ${(100 * ev.accuracy).toFixed(2)}%, perplexity ${ev.perplexity.toFixed(1)}`,
      });
    }
    if (state.step % opts.checkpointEvery === 0 && state.step < opts.steps) checkpoint();
    // Yield to the event loop now and then so signals and progress rendering get through.
    if (state.step % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  checkpoint();

  const final = state.history[state.history.length - 1] ?? {
    heldoutLoss: Number.NaN,
    heldoutAccuracy: Number.NaN,
    heldoutPerplexity: Number.NaN,
  };
  const result: PretrainResult = {
    ...state,
    outDir: opts.outDir,
    corpus: {
      files: corpus.files,
      documents: corpus.documents,
      tokens: corpus.tokens,
      trainBlocks: train.length,
      heldoutBlocks: heldout.length,
    },
    final: { heldoutLoss: final.heldoutLoss, heldoutAccuracy: final.heldoutAccuracy, heldoutPerplexity: final.heldoutPerplexity },
  };
  writeFileSync(
    join(opts.outDir, "pretrain-metrics.json"),
    JSON.stringify({ options: { ...opts, onProgress: undefined }, ...result }, null, 2),
  );
  return result;
}
