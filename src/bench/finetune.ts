// `sap bench finetune`: split fine-tuning throughput (examples/s) of sap against what a user would
// pick instead — Hugging Face transformers + PEFT on PyTorch doing the same work (bench/hf_peft_finetune.py)
// — in fp32 and in bf16 (sap: bf16 GEMMs; PyTorch: CPU autocast). Both sides take the same SST-2
// sentences, tokenized by sap and padded to the same length, run the frozen bottom, add d_χ noise
// at the cut (always fp32), and train LoRA on the top's query/value plus the head with AdamW.
// Each variant is a process of its own (its peak RSS is its own); rounds alternate between them
// and we report medians of the per-round rates.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { loadTask } from "../data/index.js";
import { readConfig } from "../models/index.js";
import { loadTokenizer } from "../models/tokenizers/index.js";
import { bf16Available, engineInfo } from "../tensor/index.js";
import type { FinetuneRoundReply, FinetuneWorkerReady, FinetuneWorkerSetup } from "./finetune-worker.js";
import { LineWorker, benchScript, builtBenchFile, pythonCandidates, sapPath } from "./worker.js";
import { median } from "../eval/stats.js";

export type BenchPrecision = "fp32" | "bf16";
export const VARIANTS = ["sap_fp32", "sap_bf16", "hf_fp32", "hf_bf16"] as const;
export type Variant = (typeof VARIANTS)[number];

export interface FinetuneBenchOptions {
  modelDir: string;
  dataDir?: string;
  split: number;
  rank: number;
  eta: number;
  batch: number;
  seq: number;
  rounds: number;
  steps: number;
  warmup: number;
  precisions: BenchPrecision[];
  threads: number;
  /** Distinct batches cycled through (batch × this many SST-2 sentences). */
  batches: number;
  /** false: sap only. */
  hf: boolean;
  /** The Python to run the Hugging Face side with; default: the first candidate with torch, transformers and peft. */
  python?: string;
  onProgress?: (msg: string) => void;
}

export type FinetuneBenchResult = Record<string, number | string | boolean | null | number[]>;

/** Hyper-parameters both sides use (those of `sap finetune`'s LoRA defaults). */
const HYPER = { alpha: 16, dropout: 0.1, lr: 5e-4, weight_decay: 0.01, seed: 42 };

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

interface Probe {
  torch: string | null;
  transformers: string | null;
  peft: string | null;
}

/** The Python for the Hugging Face side, or why there is none (each candidate's reason). */
export function findHfPython(explicit?: string): { python: string; versions: Probe } | { python: null; why: string } {
  const script = benchScript("hf_peft_finetune.py");
  const reasons: string[] = [];
  for (const python of explicit ? [explicit] : pythonCandidates()) {
    if (python.includes("/") && !existsSync(python)) {
      reasons.push(`${python}: not installed`);
      continue;
    }
    const r = spawnSync(python, [script, "--probe"], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) {
      reasons.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`)}`);
      continue;
    }
    const v = JSON.parse(r.stdout.trim().split("\n").pop()!) as Probe;
    const missing = (["torch", "transformers", "peft"] as const).filter((k) => !v[k]);
    if (!missing.length) return { python, versions: v };
    reasons.push(`${python}: ${v.torch ? `torch ${v.torch} but ` : ""}no ${missing.join(", ")}`);
  }
  return { python: null, why: reasons.join("; ") };
}

/** The same real sentences for both sides: tokenized by sap, truncated and padded to `seq`. */
function benchBatches(opts: FinetuneBenchOptions): {
  batches: FinetuneWorkerSetup["batches"];
  labels: string[];
  realTokens: number;
} {
  const dataset = loadTask("sst2", { dataDir: opts.dataDir, maxTrain: opts.batch * opts.batches, maxEval: 1, seed: 1 });
  if (dataset.train.length < opts.batch)
    throw new Error(`SST-2 gave ${dataset.train.length} training sentences, fewer than one batch of ${opts.batch}`);
  const tok = loadTokenizer(opts.modelDir);
  const batches: FinetuneWorkerSetup["batches"] = [];
  let realTokens = 0;
  for (let i = 0; i + opts.batch <= dataset.train.length; i += opts.batch) {
    const items = dataset.train.slice(i, i + opts.batch);
    const ids: number[][] = [];
    const mask: number[][] = [];
    for (const e of items) {
      const enc = tok.encode(e.text, e.textPair, { maxLength: opts.seq, truncation: true });
      realTokens += enc.ids.length;
      ids.push([...enc.ids, ...Array<number>(opts.seq - enc.ids.length).fill(tok.padId)]);
      mask.push([...Array<number>(enc.ids.length).fill(1), ...Array<number>(opts.seq - enc.ids.length).fill(0)]);
    }
    batches.push({ ids, mask, labels: items.map((e) => e.label) });
  }
  return { batches, labels: dataset.labels, realTokens: realTokens / (batches.length * opts.batch) };
}

export async function benchFinetune(opts: FinetuneBenchOptions): Promise<FinetuneBenchResult> {
  const progress = opts.onProgress ?? (() => {});
  const modelDir = resolve(opts.modelDir);
  if (!existsSync(modelDir)) throw new Error(`model folder ${opts.modelDir} not found`);
  const config = readConfig(modelDir);
  if (config.modelType !== "bert")
    throw new Error(`bench finetune compares BERT models; ${opts.modelDir} is ${config.modelType}`);
  if (opts.split > config.numLayers - 1)
    throw new Error(
      `--split ${opts.split} leaves no top layer: ${opts.modelDir} has ${config.numLayers} layers (k from 0 to ${config.numLayers - 1})`,
    );
  if (opts.seq > config.maxPositions) throw new Error(`--seq ${opts.seq} exceeds the model's ${config.maxPositions} positions`);
  const info = engineInfo();
  const hf = opts.hf ? findHfPython(opts.python) : { python: null, why: "--no-torch" };
  const hfWhy = hf.python ? null : (hf as { why: string }).why;
  if (hfWhy && opts.python) throw new Error(`--python ${opts.python} cannot run the Hugging Face side: ${hfWhy}`);
  if (hfWhy) progress(`Hugging Face side skipped: ${hfWhy}`);
  const { batches, labels, realTokens } = benchBatches(opts);
  const sapBf16 = bf16Available();
  if (opts.precisions.includes("bf16") && !sapBf16)
    progress(`sap bf16 skipped: this build/CPU has no bf16 GEMMs (backend ${info.backend}; needs oneDNN and AVX512_BF16)`);

  const setup = (precision: BenchPrecision): FinetuneWorkerSetup => ({
    model: modelDir,
    split: opts.split,
    rank: opts.rank,
    eta: opts.eta,
    precision,
    threads: opts.threads,
    labels,
    batches,
    ...HYPER,
  });
  // The same environment for both sides: both GEMM libraries run on libgomp, so OMP_NUM_THREADS and
  // whatever OMP_WAIT_POLICY the user has set apply alike (unset: libgomp's default, briefly spinning).
  const threadsEnv = { SAP_THREADS: String(opts.threads), OMP_NUM_THREADS: String(opts.threads) };
  const workers = new Map<Variant, LineWorker>();
  const ready = new Map<Variant, FinetuneWorkerReady & { torch?: string; transformers?: string; peft?: string }>();
  const skipped: string[] = [];
  try {
    for (const p of opts.precisions) {
      if (p === "fp32" || sapBf16)
        workers.set(
          `sap_${p}`,
          new LineWorker(`sap ${p} worker`, process.execPath, [builtBenchFile("finetune-worker.js")], threadsEnv),
        );
      if (hf.python)
        workers.set(
          `hf_${p}`,
          new LineWorker(`Hugging Face ${p} worker`, hf.python, [benchScript("hf_peft_finetune.py")], threadsEnv),
        );
    }
    progress(`loading the model in ${workers.size} worker processes`);
    // One at a time: a set-up does not then slow another's.
    for (const [v, w] of workers) {
      try {
        ready.set(v, await w.request(setup(v.endsWith("bf16") ? "bf16" : "fp32")));
      } catch (e) {
        // sap's own side must run (a failure there is a bug to see); the reference may be missing pieces.
        if (v.startsWith("sap")) throw e;
        skipped.push(`${v}: ${(e as Error).message}`);
        progress(`${v} skipped: ${(e as Error).message}`);
        w.close();
        workers.delete(v);
      }
    }
    const loadStart = loadavg()[0]!;
    const rates: Record<Variant, number[]> = { sap_fp32: [], sap_bf16: [], hf_fp32: [], hf_bf16: [] };
    const rss: Record<Variant, number> = { sap_fp32: 0, sap_bf16: 0, hf_fp32: 0, hf_bf16: 0 };
    const loss: Record<Variant, number> = { sap_fp32: NaN, sap_bf16: NaN, hf_fp32: NaN, hf_bf16: NaN };
    const bottomShare: Record<Variant, number[]> = { sap_fp32: [], sap_bf16: [], hf_fp32: [], hf_bf16: [] };
    for (let r = 0; r < opts.rounds; r++) {
      // Alternate the order, so drift in the machine's load hits all variants alike.
      const order = VARIANTS.filter((v) => workers.has(v));
      if (r % 2 === 1) order.reverse();
      for (const v of order) {
        const rep = await workers.get(v)!.request<FinetuneRoundReply>({ steps: opts.steps, warmup: opts.warmup });
        rates[v].push((opts.steps * opts.batch) / rep.seconds);
        rss[v] = Math.max(rss[v], rep.maxrss_kb);
        loss[v] = rep.loss;
        bottomShare[v].push(rep.bottom_seconds / rep.seconds);
      }
      progress(`round ${r + 1}/${opts.rounds}: ${order.map((v) => `${v} ${rates[v].at(-1)!.toFixed(1)} ex/s`).join(", ")}`);
    }
    const hfReady = ready.get("hf_fp32") ?? ready.get("hf_bf16");
    const sapReady = ready.get("sap_fp32") ?? ready.get("sap_bf16");
    if (hfReady && sapReady && hfReady.trainable !== sapReady.trainable)
      progress(`warning: the two sides train different parameter counts (sap ${sapReady.trainable}, PEFT ${hfReady.trainable})`);
    const result: FinetuneBenchResult = {
      measured_at: new Date().toISOString(),
      model: opts.modelDir,
      split: opts.split,
      lora_rank: opts.rank,
      dchi_eta: opts.eta,
      batch: opts.batch,
      seq: opts.seq,
      mean_real_tokens: round(realTokens),
      rounds: opts.rounds,
      steps_per_round: opts.steps,
      warmup_steps: opts.warmup,
      threads: opts.threads,
      omp_wait_policy: process.env.OMP_WAIT_POLICY ?? "unset (libgomp's default)",
      backend: info.backend,
      sap_bf16_available: sapBf16,
      trainable_sap: sapReady?.trainable ?? null,
      trainable_hf: hfReady?.trainable ?? null,
      hf: hfReady !== undefined,
      hf_python: hf.python,
      hf_skipped: hfWhy,
      torch_version: hfReady?.torch ?? null,
      transformers_version: hfReady?.transformers ?? null,
      peft_version: hfReady?.peft ?? null,
    };
    for (const v of VARIANTS) {
      const has = rates[v].length > 0;
      result[`${v}_examples_per_s`] = has ? round(median(rates[v])) : null;
      result[`${v}_rounds`] = rates[v].map((x) => round(x));
      result[`${v}_peak_rss_mb`] = has ? round(rss[v] / 1024) : null;
      // Where the time goes: the customer's frozen bottom + d_χ noise, against the whole step.
      result[`${v}_bottom_share`] = has ? round(median(bottomShare[v]), 3) : null;
      result[`${v}_last_loss`] = has ? round(loss[v], 4) : null;
    }
    const ratio = (a: Variant, b: Variant): number | null =>
      rates[a].length && rates[b].length ? round(median(rates[a]) / median(rates[b]), 3) : null;
    result.ratio_fp32 = ratio("sap_fp32", "hf_fp32");
    result.ratio_bf16 = ratio("sap_bf16", "hf_bf16");
    result.skipped = skipped.length ? skipped.join("; ") : null;
    // The machine's load over the timed rounds: a shared machine gives development numbers only.
    result.loadavg_1min = `${loadStart.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`;
    return result;
  } finally {
    for (const w of workers.values()) w.close();
  }
}

/** The human table: one row per variant, then the ratios and what ran. */
export function finetuneTable(r: FinetuneBenchResult): string[] {
  const share = (x: unknown): string | null => (typeof x === "number" ? `${(100 * x).toFixed(0)}%` : null);
  const cell = (x: unknown, w: number): string => (x === null || x === undefined ? "-" : String(x)).padStart(w);
  const lines = [
    `sap bench finetune: ${String(r.model)}, split k = ${String(r.split)}, LoRA r ${String(r.lora_rank)} on q/v of the top + head, d_χ η ${String(r.dchi_eta)}`,
    `batch ${String(r.batch)} × ${String(r.seq)} tokens (SST-2, ${String(r.mean_real_tokens)} real tokens on average), ${String(r.rounds)} rounds × ${String(r.steps_per_round)} steps after ${String(r.warmup_steps)} warm-up, ${String(r.threads)} threads, OMP_WAIT_POLICY ${String(r.omp_wait_policy)}`,
    `trainable parameters: sap ${cell(r.trainable_sap, 0)}, Hugging Face + PEFT ${cell(r.trainable_hf, 0)}`,
    r.hf
      ? `Hugging Face side: torch ${String(r.torch_version)}, transformers ${String(r.transformers_version)}, peft ${String(r.peft_version)} (${String(r.hf_python)})`
      : `Hugging Face side: skipped (${String(r.hf_skipped ?? r.skipped)})`,
    "",
    `${"variant".padEnd(10)} ${"examples/s".padStart(11)} ${"peak RSS MB".padStart(12)} ${"bottom+noise".padStart(13)}   per round`,
  ];
  for (const v of VARIANTS) {
    const rounds = r[`${v}_rounds`] as number[];
    if (!rounds.length) continue;
    lines.push(
      `${v.replace("_", " ").padEnd(10)} ${cell(r[`${v}_examples_per_s`], 11)} ${cell(r[`${v}_peak_rss_mb`], 12)} ${cell(share(r[`${v}_bottom_share`]), 13)}   ${rounds.join(" ")}`,
    );
  }
  lines.push("", `sap / Hugging Face: fp32 ${cell(r.ratio_fp32, 0)}, bf16 ${cell(r.ratio_bf16, 0)} (above 1: sap is faster)`);
  lines.push(`load average (1 min) over the rounds: ${String(r.loadavg_1min)}`);
  if (r.skipped) lines.push(`skipped: ${String(r.skipped)}`);
  return lines;
}

/** models/sap-bert-mini of the sap checkout (wherever the command is run from). */
export function defaultBenchModel(): string {
  return sapPath("models", "sap-bert-mini");
}
