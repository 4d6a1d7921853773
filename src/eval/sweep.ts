// `sap eval privacy`: for each privatizer setting (mechanism × η) and seed, fine-tune (utility on
// the task's dev set) and attack exactly what the vendor received for the dev sentences (privacy).
// Each finished cell is appended to results.jsonl, so an interrupted sweep resumes where it was.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AttackContext, InversionAttack } from "../attacks/attack.js";
import { LearnedInversionAttack } from "../attacks/learned.js";
import { addRecovery, emptyCounts, recoveryMetrics } from "../attacks/metrics.js";
import { NearestNeighbourAttack } from "../attacks/nearest.js";
import type { Dataset } from "../data/index.js";
import { loadClassifier } from "../models/checkpoint.js";
import { loadTokenizer } from "../models/tokenizers/index.js";
import { noiseSource } from "../privacy/index.js";
import { Customer, type WireBatch } from "../split/parties.js";
import { tidy } from "../tensor/index.js";
import { buildPrivatizer, collate, finetune, type MechanismSpec } from "../train/finetune.js";
import type { ProgressListener } from "../train/progress.js";
import { writeReport } from "./report.js";
import { meanCI } from "./stats.js";

export const ATTACKS: Record<string, () => InversionAttack> = {
  "nn-l2": () => new NearestNeighbourAttack({ metric: "l2", candidates: "bottom" }),
  "nn-cosine": () => new NearestNeighbourAttack({ metric: "cosine", candidates: "bottom" }),
  "nn-vocab": () => new NearestNeighbourAttack({ metric: "l2", candidates: "vocab" }),
  mlp: () => new LearnedInversionAttack(),
};

export interface SweepOptions {
  modelDir: string;
  dataset: Dataset;
  split: number;
  /** Mechanisms; those taking η are crossed with `etas`. */
  privatizers: string[];
  etas: number[];
  attacks: string[];
  seeds: number;
  publicTexts: string[];
  peft: { name: string; params: Record<string, number | string> };
  epochs: number;
  batchSize: number;
  lr: number;
  maxSeqLen: number;
  outDir: string;
  onProgress?: ProgressListener;
  /** Skip fine-tuning (privacy only; accuracy reported as NaN). */
  attackOnly?: boolean;
}

export interface SweepRow {
  privatizer: string;
  eta: number | null;
  split: number;
  attack: string;
  seed: number;
  accuracy: number;
  token_recovery: number;
  precision: number;
  f1: number;
  exact_sentence: number;
  empirical_privacy: number;
  tokens: number;
}

export interface SweepSummaryRow {
  privatizer: string;
  eta: number | null;
  split: number;
  attack: string;
  accuracy: number;
  accuracy_ci95: number;
  token_recovery: number;
  token_recovery_ci95: number;
  empirical_privacy: number;
  f1: number;
  exact_sentence: number;
  seeds: number;
}

function settings(opts: SweepOptions): Array<MechanismSpec & { eta: number | null }> {
  const out: Array<MechanismSpec & { eta: number | null }> = [];
  for (const p of opts.privatizers) {
    if (p === "none") out.push({ name: "none", params: {}, eta: null });
    else for (const eta of opts.etas) out.push({ name: p, params: { eta }, eta });
  }
  return out;
}

const key = (r: { privatizer: string; eta: number | null; seed: number }): string => `${r.privatizer}|${r.eta}|${r.seed}`;

/** The dev set as the vendor received it, plus the true ids (kept only by the evaluator). */
function observedDev(
  opts: SweepOptions,
  spec: MechanismSpec,
  seed: number,
): { wires: WireBatch[]; truths: Int32Array[]; ctx: AttackContext } {
  const tok = loadTokenizer(opts.modelDir);
  const { model } = loadClassifier(opts.modelDir, { labels: opts.dataset.labels, seed });
  const enc = (xs: typeof opts.dataset.train): Array<{ ids: Int32Array; typeIds: Int32Array; label: number }> =>
    xs.map((e) => {
      const x = tok.encode(e.text, e.textPair, { maxLength: opts.maxSeqLen, truncation: true });
      return { ids: Int32Array.from(x.ids), typeIds: Int32Array.from(x.typeIds), label: e.label };
    });
  const train = enc(opts.dataset.train);
  const dev = enc(opts.dataset.dev);
  const privatizer = buildPrivatizer(spec, model, tok, train, opts.dataset.labels.length);
  const noise = noiseSource(seed * 7919 + 17);
  const customer = new Customer({ model, split: opts.split, privatizer, noise });
  const wires: WireBatch[] = [];
  const truths: Int32Array[] = [];
  for (let i = 0; i < dev.length; i += 64) {
    const { batch } = collate(dev.slice(i, i + 64), tok.padId);
    wires.push(tidy(() => customer.encode(batch)));
    truths.push(batch.inputIds);
  }
  // The attacker simulates the same mechanism with its own noise stream.
  const ctx: AttackContext = {
    model,
    split: opts.split,
    tokenizer: tok,
    privatizer,
    noise: noiseSource(seed * 104729 + 3),
    publicTexts: opts.publicTexts,
    maxSeqLen: opts.maxSeqLen,
    seed,
  };
  return { wires, truths, ctx };
}

export async function runPrivacySweep(opts: SweepOptions): Promise<{ rows: SweepRow[]; summary: SweepSummaryRow[] }> {
  const emit = opts.onProgress ?? (() => {});
  for (const a of opts.attacks)
    if (!ATTACKS[a]) throw new Error(`unknown attack "${a}" (available: ${Object.keys(ATTACKS).join(", ")})`);
  mkdirSync(opts.outDir, { recursive: true });
  const jsonl = join(opts.outDir, "results.jsonl");
  const rows: SweepRow[] = existsSync(jsonl)
    ? readFileSync(jsonl, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as SweepRow)
    : [];
  const done = new Set(rows.map(key));
  const cells = settings(opts).flatMap((s) => Array.from({ length: opts.seeds }, (_, seed) => ({ s, seed })));
  let finished = cells.filter(({ s, seed }) => done.has(key({ privatizer: s.name, eta: s.eta, seed }))).length;
  if (finished)
    emit({
      task: "eval",
      done: finished,
      total: cells.length,
      unit: "runs",
      message: `resuming: ${finished} of ${cells.length} runs already done`,
    });
  for (const { s, seed } of cells) {
    if (done.has(key({ privatizer: s.name, eta: s.eta, seed }))) continue;
    const label = s.eta === null ? s.name : `${s.name} η=${s.eta}`;
    emit({ task: "eval", done: finished, total: cells.length, unit: "runs", message: `${label}, seed ${seed}: fine-tuning` });
    let accuracy = Number.NaN;
    if (!opts.attackOnly) {
      const res = await finetune({
        modelDir: opts.modelDir,
        dataset: opts.dataset,
        split: opts.split,
        privatizer: { name: s.name, params: s.params },
        peft: opts.peft,
        epochs: opts.epochs,
        batchSize: opts.batchSize,
        lr: opts.lr,
        warmupRatio: 0.06,
        weightDecay: 0.01,
        clip: 1,
        maxSeqLen: opts.maxSeqLen,
        seed: 42 + seed,
        noiseSeed: 1000 + seed,
        outDir: join(opts.outDir, "runs", `${s.name}-${s.eta ?? "na"}-seed${seed}`),
        resume: true,
        checkpointEvery: 1_000_000,
      });
      accuracy = res.best_dev_accuracy;
    }
    emit({
      task: "eval",
      done: finished,
      total: cells.length,
      unit: "runs",
      message: `${label}, seed ${seed}: accuracy ${(100 * accuracy).toFixed(2)}%; attacking`,
    });
    const { wires, truths, ctx } = observedDev(opts, s, seed);
    const tok = ctx.tokenizer;
    const specials = new Set([tok.clsId, tok.sepId, tok.padId, tok.bosId, tok.eosId].filter((x): x is number => x !== undefined));
    for (const name of opts.attacks) {
      const attack = ATTACKS[name]!();
      attack.prepare?.(ctx);
      const counts = emptyCounts();
      wires.forEach((w, i) =>
        addRecovery(counts, truths[i]!, attack.invert(w, ctx), w.attentionMask, w.batchSize, w.seqLen, specials),
      );
      const m = recoveryMetrics(counts);
      const row: SweepRow = {
        privatizer: s.name,
        eta: s.eta,
        split: opts.split,
        attack: name,
        seed,
        accuracy,
        token_recovery: m.recall,
        precision: m.precision,
        f1: m.f1,
        exact_sentence: m.exactSentenceRate,
        empirical_privacy: m.empiricalPrivacy,
        tokens: m.tokens,
      };
      rows.push(row);
      appendFileSync(jsonl, JSON.stringify(row) + "\n");
      emit({
        task: "eval",
        done: finished,
        total: cells.length,
        unit: "runs",
        message: `${label}, seed ${seed}, ${name}: token recovery ${(100 * m.recall).toFixed(2)}%`,
      });
    }
    done.add(key({ privatizer: s.name, eta: s.eta, seed }));
    finished++;
    emit({ task: "eval", done: finished, total: cells.length, unit: "runs" });
  }
  const summary = summarize(rows);
  writeFileSync(join(opts.outDir, "results.json"), JSON.stringify({ rows, summary }, null, 2));
  writeFileSync(join(opts.outDir, "results.csv"), toCsv(summary));
  writeReport(opts.outDir, summary, {
    model: opts.modelDir,
    task: opts.dataset.name,
    split: opts.split,
    peft: opts.peft,
    epochs: opts.epochs,
    train_examples: opts.dataset.train.length,
    dev_examples: opts.dataset.dev.length,
    seeds: opts.seeds,
  });
  return { rows, summary };
}

export function summarize(rows: SweepRow[]): SweepSummaryRow[] {
  const groups = new Map<string, SweepRow[]>();
  for (const r of rows) {
    const k = `${r.privatizer}|${r.eta}|${r.split}|${r.attack}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const acc = meanCI(g.map((r) => r.accuracy));
    const rec = meanCI(g.map((r) => r.token_recovery));
    return {
      privatizer: g[0]!.privatizer,
      eta: g[0]!.eta,
      split: g[0]!.split,
      attack: g[0]!.attack,
      accuracy: acc.mean,
      accuracy_ci95: acc.ci95,
      token_recovery: rec.mean,
      token_recovery_ci95: rec.ci95,
      empirical_privacy: 1 - rec.mean,
      f1: meanCI(g.map((r) => r.f1)).mean,
      exact_sentence: meanCI(g.map((r) => r.exact_sentence)).mean,
      seeds: g.length,
    };
  });
}

export function toCsv(summary: SweepSummaryRow[]): string {
  const cols = Object.keys(summary[0] ?? { privatizer: "" }) as Array<keyof SweepSummaryRow>;
  return [cols.join(","), ...summary.map((r) => cols.map((c) => String(r[c] ?? "")).join(","))].join("\n") + "\n";
}
