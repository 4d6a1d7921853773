// `sap eval privacy`: for each privatizer setting (mechanism × η) and seed, fine-tune (utility on
// the task's dev set) and attack exactly what the vendor received for the dev sentences (privacy).
// Each finished cell is appended to results.jsonl, so an interrupted sweep resumes where it was.
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { AttackContext, InversionAttack } from "../attacks/attack.js";
import { addRecovery, emptyCounts, recoveryMetrics, type RecoveryMetrics } from "../attacks/metrics.js";
import { makeCanaries, piiMask } from "../attacks/canary.js";
import { examplesOf } from "../attacks/averaging.js";
import { cutStatistics } from "../attacks/self-check.js";
import { attackEntry, checkAttackFits, checkAttackParams } from "../attacks/registry.js";
import type { Dataset } from "../data/index.js";
import { ParamError, budgetOf } from "../params/index.js";
import { loadClassifier } from "../models/checkpoint.js";
import { loadTokenizer } from "../models/tokenizers/index.js";
import { checkPeftParams } from "../peft/index.js";
import { checkMechanismParams, mechanismEntry, noiseSource } from "../privacy/index.js";
import { Customer, buildPrivatizer, collate } from "../split/customer.js";
import type { ProgressListener } from "../split/progress.js";
import { TRAINING_DEFAULTS } from "../split/spec.js";
import { Rng, tidy } from "../tensor/index.js";
import { finetune } from "../train/finetune.js";
import {
  RunMismatchError,
  canonicalJson,
  datasetFingerprint,
  readSettings,
  settingsDiff,
  usedFolder,
  writeSettings,
} from "../train/run-settings.js";
import type { MechanismSpec, WireBatch } from "../wire/index.js";
import { writeReport, type GuaranteeRow } from "./report.js";
import type { SweepRow, SweepSummaryRow } from "./types.js";

export type { SweepRow, SweepSummaryRow };
import { meanCI } from "./stats.js";

export interface SweepOptions {
  modelDir: string;
  dataset: Dataset;
  split: number;
  /** Mechanisms by registry name; each one with a budget parameter is crossed with its budget values. */
  privatizers: string[];
  /** Budget values per mechanism (by name); a mechanism not listed sweeps its declared defaults. */
  budgets?: Record<string, number[]>;
  /** Values for every mechanism whose budget parameter is η (dchi, cti, projection): `--etas`. */
  etas?: number[];
  /** Fixed (non-budget) parameters per mechanism. */
  mechanismParams?: Record<string, Record<string, unknown>>;
  attacks: string[];
  /** Parameters per attack (by name). */
  attackParams?: Record<string, Record<string, unknown>>;
  seeds: number;
  publicTexts: string[];
  peft: { name: string; params: Record<string, number | string> };
  epochs: number;
  batchSize: number;
  lr: number;
  maxSeqLen: number;
  outDir: string;
  onProgress?: ProgressListener;
  /** The customer privatizes afresh each epoch (default: once); the multi-release attacks observe that. */
  freshNoise?: boolean;
  /** Skip fine-tuning (privacy only; accuracy reported as NaN). */
  attackOnly?: boolean;
  /** Canary sentences with synthetic personal data planted among the observed batches. */
  canaries?: number;
  /** Remove a previous sweep's outputs from outDir first (otherwise a different sweep there is refused). */
  overwrite?: boolean;
}

/** What a sweep writes into its folder: removed by `overwrite`. */
const SWEEP_OUTPUTS = [
  "sweep.json",
  "guarantees.json",
  "results.jsonl",
  "results.json",
  "results.csv",
  "plot.svg",
  "report.md",
  "report.html",
  "runs",
];

/** sweep.json: the settings every cell shares, and the fixed parameters of each mechanism and attack run there. */
interface StoredSweep {
  fixed: Record<string, unknown>;
  mechanisms: Record<string, Record<string, unknown>>;
  attacks: Record<string, Record<string, unknown>>;
}

/**
 * Checks `outDir` against this sweep before any work and returns what to store. Results are kept
 * by cell (mechanism, budget, seed, attack), so a grid may grow there (more mechanisms, budgets,
 * seeds, attacks); anything that changes what a cell means (model, data, split, training, a
 * mechanism's or attack's fixed parameters) is refused, naming each difference.
 */
function checkSweepFolder(opts: SweepOptions, now: StoredSweep): StoredSweep {
  const file = join(opts.outDir, "sweep.json");
  const hint = "use another --out, or --overwrite to replace that sweep's results";
  if (opts.overwrite) {
    for (const f of SWEEP_OUTPUTS) rmSync(join(opts.outDir, f), { recursive: true, force: true });
    return now;
  }
  const stored = readSettings(file) as StoredSweep | undefined;
  if (!stored) {
    if (usedFolder(opts.outDir))
      throw new RunMismatchError(`${opts.outDir} is not empty and holds no sweep.json (not a sweep's folder); ${hint}`);
    return now;
  }
  const diff = settingsDiff(stored.fixed, now.fixed);
  for (const kind of ["mechanisms", "attacks"] as const)
    for (const [name, params] of Object.entries(now[kind])) {
      const had = stored[kind][name];
      if (had && canonicalJson(had) !== canonicalJson(params))
        diff.push(
          `${kind === "mechanisms" ? "privatizer" : "attack"} ${name}: ${canonicalJson(had)} there, ${canonicalJson(params)} now`,
        );
    }
  if (diff.length)
    throw new RunMismatchError(
      `the sweep in ${opts.outDir} was run with other settings (${file}):\n  ${diff.join("\n  ")}\n${hint} (more mechanisms, budgets, seeds or attacks may be added)`,
    );
  return {
    fixed: now.fixed,
    mechanisms: { ...stored.mechanisms, ...now.mechanisms },
    attacks: { ...stored.attacks, ...now.attacks },
  };
}

/** The accuracy of always predicting the dev set's most frequent class (the plot's floor). */
export function majorityAccuracy(dataset: Pick<Dataset, "dev">): number {
  const counts = new Map<number, number>();
  for (const e of dataset.dev) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  return dataset.dev.length ? Math.max(...counts.values()) / dataset.dev.length : Number.NaN;
}

/** A results.jsonl line; JSON writes NaN (no accuracy in --attack-only, no canaries) as null. */
function parseRow(line: string): SweepRow {
  const r = JSON.parse(line) as Record<string, unknown>;
  for (const k of [
    "accuracy",
    "token_recovery",
    "precision",
    "f1",
    "exact_sentence",
    "empirical_privacy",
    "canary_recovery",
    "attack_success",
    "attack_baseline",
  ])
    if (r[k] === null) r[k] = Number.NaN;
  return r as unknown as SweepRow;
}

type Setting = MechanismSpec & { budget: string | null; eta: number | null };

/** Every (mechanism, budget value) cell, each with params checked against the registry. */
export function sweepSettings(opts: Pick<SweepOptions, "privatizers" | "budgets" | "etas" | "mechanismParams">): Setting[] {
  const out: Setting[] = [];
  for (const name of opts.privatizers) {
    const entry = mechanismEntry(name);
    const fixed = opts.mechanismParams?.[name] ?? {};
    const b = budgetOf(entry);
    if (!b) {
      out.push({ name, params: checkMechanismParams(name, fixed) as MechanismSpec["params"], budget: null, eta: null });
      continue;
    }
    const values = opts.budgets?.[name] ?? (b.name === "eta" ? opts.etas : undefined) ?? b.sweep;
    if (!values?.length)
      throw new ParamError(`privatizer ${name}: give values for its budget ${b.name} (--budget ${name}=v1,v2,...)`);
    for (const v of values)
      out.push({
        name,
        params: checkMechanismParams(name, { ...fixed, [b.name]: v }) as MechanismSpec["params"],
        budget: b.name,
        eta: v,
      });
  }
  return out;
}

/** Checks every attack and its params before any work starts. */
export function checkSweepAttacks(opts: Pick<SweepOptions, "attacks" | "attackParams" | "dataset">): void {
  if (!opts.attacks.length) throw new ParamError("give at least one attack");
  for (const a of opts.attacks) {
    checkAttackParams(a, opts.attackParams?.[a] ?? {});
    checkAttackFits(a, opts.dataset);
  }
  for (const a of Object.keys(opts.attackParams ?? {}))
    if (!opts.attacks.includes(a)) throw new ParamError(`parameters given for attack ${a}, which is not in the sweep`);
}

/** A token-inversion row: the cell plus the recovery metrics (no attribute-inference columns). */
function tokenRow(cell: Omit<SweepRow, keyof RecoveryColumns>, m: RecoveryMetrics): Omit<SweepRow, "canary_recovery"> {
  return {
    ...cell,
    token_recovery: m.recall,
    precision: m.precision,
    f1: m.f1,
    exact_sentence: m.exactSentenceRate,
    empirical_privacy: m.empiricalPrivacy,
    tokens: m.tokens,
    attack_success: Number.NaN,
    attack_baseline: Number.NaN,
  };
}

type RecoveryColumns = Pick<
  SweepRow,
  | "token_recovery"
  | "precision"
  | "f1"
  | "exact_sentence"
  | "empirical_privacy"
  | "tokens"
  | "canary_recovery"
  | "attack_success"
  | "attack_baseline"
  | "linkage"
>;

const key = (r: { privatizer: string; eta: number | null; seed: number }): string => `${r.privatizer}|${r.eta}|${r.seed}`;

/** The dev set as the vendor received it, plus the true ids (kept only by the evaluator). */
function observedDev(
  opts: SweepOptions,
  spec: MechanismSpec,
  seed: number,
): {
  wires: WireBatch[];
  truths: Int32Array[];
  canaryWires: WireBatch[];
  canaryTruths: Int32Array[];
  canaryPii: Int32Array[];
  ctx: AttackContext;
  release: () => WireBatch[];
  guarantee: { statement: string; noise_to_signal: number };
} {
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
  // Canaries travel like training rows (label 0), as they would inside the customer's data.
  const canaryWires: WireBatch[] = [];
  const canaryTruths: Int32Array[] = [];
  const canaryPii: Int32Array[] = [];
  const canaries = makeCanaries(opts.canaries ?? 0, 777 + seed);
  for (let i = 0; i < canaries.length; i += 32) {
    const group = canaries.slice(i, i + 32);
    const encs = group.map((c) => tok.encode(c.text, undefined, { maxLength: opts.maxSeqLen, truncation: true }));
    const { batch, labels } = collate(
      encs.map((e) => ({ ids: Int32Array.from(e.ids), typeIds: Int32Array.from(e.typeIds), label: 0 })),
      tok.padId,
    );
    const pii = new Int32Array(batch.batchSize * batch.seqLen);
    encs.forEach((e, b) => pii.set(piiMask(e.offsets, group[b]!.spans), b * batch.seqLen));
    canaryWires.push(tidy(() => customer.encode(batch, labels)));
    canaryTruths.push(batch.inputIds);
    canaryPii.push(pii);
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
  // Later releases of the same dev examples, as a vendor would observe them epoch after epoch:
  // the same release when privatized once, a fresh privatization each time with --fresh-noise.
  const devBatches = wires.map((_, i) => collate(dev.slice(i * 64, (i + 1) * 64), tok.padId).batch);
  const release = (): WireBatch[] => (opts.freshNoise ? devBatches.map((b) => tidy(() => customer.encode(b))) : wires);
  // The formal statement at this run's own cut statistics (a sample of the dev sentences, no noise).
  const at = cutStatistics(model, opts.split, dev.slice(0, 32), tok.padId);
  const g = privatizer.guarantee?.(at) ?? { statement: privatizer.describe() };
  const guarantee = {
    statement: g.statement,
    noise_to_signal: g.expectedNoiseNorm !== undefined ? g.expectedNoiseNorm / at.medianNorm : Number.NaN,
  };
  return { wires, truths, canaryWires, canaryTruths, canaryPii, ctx, release, guarantee };
}

function canaryRecovery(
  attack: InversionAttack,
  ctx: AttackContext,
  wires: WireBatch[],
  truths: Int32Array[],
  pii: Int32Array[],
): number {
  let hit = 0;
  let total = 0;
  wires.forEach((w, i) => {
    const g = attack.invert(w, ctx);
    for (let j = 0; j < g.length; j++) {
      if (!pii[i]![j]) continue;
      total++;
      if (g[j] === truths[i]![j]) hit++;
    }
  });
  return total ? hit / total : Number.NaN;
}

export async function runPrivacySweep(opts: SweepOptions): Promise<{ rows: SweepRow[]; summary: SweepSummaryRow[] }> {
  const emit = opts.onProgress ?? (() => {});
  // Validate the whole grid before anything trains.
  const grid = sweepSettings(opts);
  checkSweepAttacks(opts);
  const peft = { name: opts.peft.name, params: checkPeftParams(opts.peft.name, opts.peft.params) };
  const stored = checkSweepFolder(opts, {
    fixed: {
      model: resolve(opts.modelDir),
      task: opts.dataset.name,
      data: datasetFingerprint(opts.dataset),
      train_examples: opts.dataset.train.length,
      dev_examples: opts.dataset.dev.length,
      split: opts.split,
      peft,
      epochs: opts.epochs,
      batch_size: opts.batchSize,
      lr: opts.lr,
      max_seq_len: opts.maxSeqLen,
      attack_only: opts.attackOnly === true,
      fresh_noise: opts.freshNoise === true,
      canaries: opts.canaries ?? 0,
      public_texts: createHash("sha256").update(opts.publicTexts.join("\n")).digest("hex").slice(0, 16),
    },
    // The fixed (non-budget) parameters each mechanism runs with, defaults included.
    mechanisms: Object.fromEntries(
      grid.map((g) => [g.name, Object.fromEntries(Object.entries(g.params).filter(([k]) => k !== g.budget))]),
    ),
    attacks: Object.fromEntries(opts.attacks.map((a) => [a, checkAttackParams(a, opts.attackParams?.[a] ?? {})])),
  });
  mkdirSync(opts.outDir, { recursive: true });
  writeSettings(join(opts.outDir, "sweep.json"), stored as unknown as Record<string, unknown>);
  const jsonl = join(opts.outDir, "results.jsonl");
  const rows: SweepRow[] = existsSync(jsonl) ? readFileSync(jsonl, "utf8").split("\n").filter(Boolean).map(parseRow) : [];
  const done = new Set(rows.map(key));
  const cells = grid.flatMap((s) => Array.from({ length: opts.seeds }, (_, seed) => ({ s, seed })));
  // Each setting's formal statement, measured once; kept beside the results so a resumed sweep reports all.
  const guaranteesFile = join(opts.outDir, "guarantees.json");
  const guarantees = new Map<string, GuaranteeRow>(
    existsSync(guaranteesFile)
      ? (JSON.parse(readFileSync(guaranteesFile, "utf8")) as GuaranteeRow[]).map((g) => [`${g.privatizer}|${g.eta}`, g])
      : [],
  );
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
    const label = s.budget === null ? s.name : `${s.name} ${s.budget}=${s.eta}`;
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
        warmupRatio: TRAINING_DEFAULTS.warmupRatio,
        weightDecay: TRAINING_DEFAULTS.weightDecay,
        clip: TRAINING_DEFAULTS.clip,
        maxSeqLen: opts.maxSeqLen,
        seed: 42 + seed,
        noiseSeed: 1000 + seed,
        freshNoise: opts.freshNoise,
        outDir: join(opts.outDir, "runs", `${s.name}-${s.eta ?? "na"}-seed${seed}`),
        // A cell interrupted mid-training continues; its own settings.json guards it too.
        resume: true,
        checkpointEvery: 1_000_000,
        // The sweep measures privacy itself, against every attack it runs.
        selfCheck: false,
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
    const { wires, truths, canaryWires, canaryTruths, canaryPii, ctx, release, guarantee } = observedDev(opts, s, seed);
    const gkey = `${s.name}|${s.eta}`;
    if (!guarantees.has(gkey))
      guarantees.set(gkey, {
        privatizer: s.name,
        budget: s.budget,
        eta: s.eta,
        ...guarantee,
        releases_per_example: opts.freshNoise ? opts.epochs : 1,
      });
    const tok = ctx.tokenizer;
    const specials = new Set([tok.clsId, tok.sepId, tok.padId, tok.bosId, tok.eosId].filter((x): x is number => x !== undefined));
    /** Token recovery of guesses for the dev batches (the truth is the evaluator's). */
    const recovery = (batches: WireBatch[], guesses: Int32Array[]): RecoveryMetrics => {
      const counts = emptyCounts();
      batches.forEach((w, i) => addRecovery(counts, truths[i]!, guesses[i]!, w.attentionMask, w.batchSize, w.seqLen, specials));
      return recoveryMetrics(counts);
    };
    for (const name of opts.attacks) {
      const cell = { privatizer: s.name, budget: s.budget, eta: s.eta, split: opts.split, attack: name, seed, accuracy };
      const entry = attackEntry(name);
      // Each finished attack is on disk at once: an interrupted sweep loses at most the attack in progress.
      const record = (row: SweepRow, result: string): void => {
        rows.push(row);
        appendFileSync(jsonl, JSON.stringify(row) + "\n");
        emit({
          task: "eval",
          done: finished,
          total: cells.length,
          unit: "runs",
          message: `${label}, seed ${seed}, ${name}: ${result}`,
        });
      };
      const params = checkAttackParams(name, opts.attackParams?.[name] ?? {});
      if (entry.kind === "attribute") {
        const r = entry.run(ctx, opts.dataset, params);
        const row: SweepRow = {
          ...cell,
          token_recovery: Number.NaN,
          precision: Number.NaN,
          f1: Number.NaN,
          exact_sentence: Number.NaN,
          empirical_privacy: 1 - r.accuracy,
          tokens: 0,
          canary_recovery: Number.NaN,
          attack_success: r.accuracy,
          attack_baseline: r.majorityBaseline,
        };
        record(row, `${(100 * r.accuracy).toFixed(2)}% (majority ${(100 * r.majorityBaseline).toFixed(2)}%)`);
        continue;
      }
      if (entry.kind === "multi-release") {
        // Copies 1.. in an order the attacker does not know (epochs shuffle); the evaluator keeps the map.
        const n = wires.reduce((a, w) => a + w.batchSize, 0);
        const copies = [examplesOf(wires)];
        const where: Int32Array[] = [];
        for (let c = 1; c < entry.copiesOf(params); c++) {
          const order = new Rng(seed * 131 + c).shuffle([...Array(n).keys()]);
          const got = examplesOf(release());
          copies.push(order.map((i) => got[i]!));
          const at = new Int32Array(n);
          order.forEach((ex, pos) => (at[ex] = pos));
          where.push(at);
        }
        const r = entry.run(ctx, copies, where, wires[0]!.dim, params);
        const m = recovery(r.batches, r.guesses);
        record(
          { ...tokenRow(cell, m), canary_recovery: Number.NaN, linkage: r.linkage },
          `token recovery ${(100 * m.recall).toFixed(2)}% after averaging (copies linked right: ${(100 * r.linkage).toFixed(1)}%)`,
        );
        continue;
      }
      const attack = entry.create(params);
      attack.prepare?.(ctx);
      const m = recovery(
        wires,
        wires.map((w) => attack.invert(w, ctx)),
      );
      const row: SweepRow = {
        ...tokenRow(cell, m),
        canary_recovery: canaryWires.length ? canaryRecovery(attack, ctx, canaryWires, canaryTruths, canaryPii) : Number.NaN,
      };
      record(row, `token recovery ${(100 * m.recall).toFixed(2)}%`);
    }
    done.add(key({ privatizer: s.name, eta: s.eta, seed }));
    finished++;
    emit({ task: "eval", done: finished, total: cells.length, unit: "runs" });
  }
  const summary = summarize(rows);
  writeFileSync(join(opts.outDir, "results.json"), JSON.stringify({ rows, summary }, null, 2));
  writeFileSync(join(opts.outDir, "results.csv"), toCsv(summary));
  writeReport(
    opts.outDir,
    summary,
    {
      model: opts.modelDir,
      task: opts.dataset.name,
      split: opts.split,
      peft: opts.peft,
      epochs: opts.epochs,
      train_examples: opts.dataset.train.length,
      dev_examples: opts.dataset.dev.length,
      seeds: opts.seeds,
    },
    { majority: majorityAccuracy(opts.dataset), guarantees: [...guarantees.values()] },
  );
  writeFileSync(guaranteesFile, JSON.stringify([...guarantees.values()], null, 2));
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
    const isAia = Number.isFinite(g[0]!.attack_success ?? Number.NaN);
    return {
      privatizer: g[0]!.privatizer,
      budget: g[0]!.budget ?? (g[0]!.eta === null ? null : "eta"),
      eta: g[0]!.eta,
      split: g[0]!.split,
      attack: g[0]!.attack,
      accuracy: acc.mean,
      accuracy_ci95: acc.ci95,
      token_recovery: rec.mean,
      token_recovery_ci95: rec.ci95,
      empirical_privacy: isAia ? 1 - meanCI(g.map((r) => r.attack_success)).mean : 1 - rec.mean,
      f1: meanCI(g.map((r) => r.f1)).mean,
      exact_sentence: meanCI(g.map((r) => r.exact_sentence)).mean,
      canary_recovery: meanCI(g.map((r) => r.canary_recovery ?? Number.NaN)).mean,
      attack_success: meanCI(g.map((r) => r.attack_success ?? Number.NaN)).mean,
      attack_baseline: meanCI(g.map((r) => r.attack_baseline ?? Number.NaN)).mean,
      seeds: g.length,
    };
  });
}

export function toCsv(summary: SweepSummaryRow[]): string {
  const cols = Object.keys(summary[0] ?? { privatizer: "" }) as Array<keyof SweepSummaryRow>;
  return [cols.join(","), ...summary.map((r) => cols.map((c) => String(r[c] ?? "")).join(","))].join("\n") + "\n";
}
