// The privacy section every run shows its customer: the mechanism's formal statement measured on
// the run's own data at the cut, the noise-to-signal ratio, how often each example was released,
// and a quick built-in attack the customer runs on a sample of its own data (nearest neighbour at
// k = 0, optimisation behind k >= 1 layers: the strongest known there). A budget under which the
// quick attack recovers more than half of the tokens is flagged as weak.
import type { SplittableModel } from "../models/index.js";
import type { Tokenizer } from "../models/tokenizers/index.js";
import { SeededNoise, createPrivatizer, type CutStatistics, type Privatizer } from "../privacy/index.js";
import { Customer, collate, type Encoded } from "../split/customer.js";
import type { ProgressListener } from "../split/progress.js";
import type { Releases } from "../split/release.js";
import { Rng, noGrad, tidy } from "../tensor/index.js";
import type { AttackContext } from "./attack.js";
import { addRecovery, emptyCounts, recoveryMetrics } from "./metrics.js";
import { NearestNeighbourAttack } from "./nearest.js";
import { OptimizationInversionAttack } from "./optimization.js";

/** Recovery above this share of tokens marks a budget as weak. */
export const WEAK_RECOVERY = 0.5;

export interface PrivacySection {
  mechanism: string;
  statement: string;
  cut: { split: number; dim: number; median_norm: number; median_nearest_distance: number };
  /** E‖z‖ / median ‖h‖ (NaN where the mechanism adds no vector noise). */
  noise_to_signal: number;
  releases_per_example: number;
  release: string;
  quick_attack: { name: string; sentences: number; tokens: number; token_recovery: number };
  weak: boolean;
}

export interface SelfCheckOptions {
  model: SplittableModel;
  split: number;
  tokenizer: Tokenizer;
  privatizer: Privatizer;
  /** The customer's own examples (a sample of its training set). */
  sample: Encoded[];
  releasesPerExample: number;
  release: string;
  /** Steps of the optimisation attack (fewer than the sweep's: this runs before every job). */
  optimSteps?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
}

/** ‖h‖ and nearest-other-token distances of the sample's real-token representations, no noise. */
export function cutStatistics(model: SplittableModel, split: number, sample: Encoded[], padId: number): CutStatistics {
  const { batch } = collate(sample, padId);
  const plain = new Customer({ model, split, privatizer: createPrivatizer("none", {}), noise: new SeededNoise(0) });
  const wire = tidy(() => noGrad(() => plain.encode(batch)));
  const d = wire.dim;
  const rows: number[] = [];
  for (let i = 0; i < wire.attentionMask.length; i++) if (wire.attentionMask[i]) rows.push(i);
  const ids = Int32Array.from(rows, (i) => batch.inputIds[i]!);
  const norms = rows.map((r) => Math.hypot(...wire.hidden.subarray(r * d, (r + 1) * d)));
  const nearest = rows.map((r, a) => {
    let best = Number.POSITIVE_INFINITY;
    for (let b = 0; b < rows.length; b++) {
      if (ids[b] === ids[a]) continue;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const x = wire.hidden[r * d + j]! - wire.hidden[rows[b]! * d + j]!;
        s += x * x;
      }
      if (s < best) best = s;
    }
    return Math.sqrt(best);
  });
  return { dim: d, medianNorm: median(norms), medianNearest: median(nearest.filter(Number.isFinite)), tokenIds: ids };
}

export function privacySelfCheck(opts: SelfCheckOptions): PrivacySection {
  const { model, split, tokenizer: tok, privatizer, sample } = opts;
  const at = cutStatistics(model, split, sample, tok.padId);
  const g = privatizer.guarantee?.(at) ?? { statement: privatizer.describe() };
  // The customer attacks its own release with a noise stream of its own (the attacker knows the mechanism, not the noise).
  const customer = new Customer({ model, split, privatizer, noise: new SeededNoise(911) });
  const ctx: AttackContext = {
    model,
    split,
    tokenizer: tok,
    privatizer,
    noise: new SeededNoise(912),
    publicTexts: [],
    maxSeqLen: Math.max(...sample.map((x) => x.ids.length)),
    seed: 0,
  };
  const attack =
    split === 0
      ? new NearestNeighbourAttack({ metric: "l2", candidates: "bottom" })
      : new OptimizationInversionAttack({ steps: opts.optimSteps ?? 100, lr: 0.05 });
  const specials = new Set([tok.clsId, tok.sepId, tok.padId, tok.bosId, tok.eosId].filter((x): x is number => x !== undefined));
  const counts = emptyCounts();
  for (let i = 0; i < sample.length; i += 16) {
    const { batch } = collate(sample.slice(i, i + 16), tok.padId);
    const wire = tidy(() => customer.encode(batch));
    addRecovery(counts, batch.inputIds, attack.invert(wire, ctx), wire.attentionMask, wire.batchSize, wire.seqLen, specials);
  }
  const m = recoveryMetrics(counts);
  return {
    mechanism: privatizer.describe(),
    // Fresh noise per release composes: n releases of an example at budget ε give n·ε (sequential composition).
    statement:
      opts.releasesPerExample > 1
        ? `${g.statement}; released ${opts.releasesPerExample} times with fresh noise, the guarantee composes to ${opts.releasesPerExample}× those ε`
        : g.statement,
    cut: { split, dim: at.dim, median_norm: at.medianNorm, median_nearest_distance: at.medianNearest },
    noise_to_signal: g.expectedNoiseNorm !== undefined ? g.expectedNoiseNorm / at.medianNorm : Number.NaN,
    releases_per_example: opts.releasesPerExample,
    release: opts.release,
    quick_attack: { name: attack.name, sentences: m.sentences, tokens: m.tokens, token_recovery: m.recall },
    weak: m.recall > WEAK_RECOVERY,
  };
}

/** The self-check before a job: on 32 training examples drawn with the run's seed; each line emitted as a progress message. */
export function selfCheckBeforeTraining(
  customer: Customer,
  tokenizer: Tokenizer,
  run: { train: Encoded[]; seed: number; epochs: number; releases: Releases; selfCheck?: boolean },
  emit: ProgressListener,
): PrivacySection | undefined {
  if (run.selfCheck === false) return undefined;
  const { model, split, privatizer } = customer.opts;
  const sample = new Rng(run.seed * 7 + 1)
    .shuffle([...run.train.keys()])
    .slice(0, 32)
    .map((i) => run.train[i]!);
  const { releases } = run;
  const section = privacySelfCheck({
    model,
    split,
    tokenizer,
    privatizer,
    sample,
    releasesPerExample: releases.releasesPer(run.epochs),
    release: releases.description,
  });
  for (const line of privacySectionLines(section)) emit({ task: "privacy", done: 0, total: 1, unit: "", message: line.slice(2) });
  return section;
}

/** The section as Markdown lines (report.md) — the terminal shows the same lines. */
export function privacySectionLines(p: PrivacySection): string[] {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  return [
    `- mechanism: ${p.mechanism}`,
    `- guarantee: ${p.statement}`,
    `- at the cut (k = ${p.cut.split}, d = ${p.cut.dim}): median ‖h‖ = ${p.cut.median_norm.toPrecision(3)}; noise-to-signal E‖z‖ / median ‖h‖ = ${Number.isFinite(p.noise_to_signal) ? p.noise_to_signal.toPrecision(3) : "n/a"}`,
    `- releases: each training example was released ${p.releases_per_example} time${p.releases_per_example === 1 ? "" : "s"} (${p.release})`,
    `- quick attack (${p.quick_attack.name}, on ${p.quick_attack.sentences} of the customer's own sentences): ${pct(p.quick_attack.token_recovery)} of ${p.quick_attack.tokens} tokens recovered` +
      (p.weak ? ` — **WEAK**: more than ${pct(WEAK_RECOVERY)} recovered at this budget` : ""),
  ];
}
