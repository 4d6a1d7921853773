// Contributing-token identification (CTI, from the SAP paper): tokens whose frequency tells the
// classes apart get a larger η (less noise). Statistics come from the customer's own training set:
//   f[c][m]  = count[c][m] / Σ_m' count[c][m']                (frequency of token m in class c)
//   ξ        = 1 / max_c Σ_m count[c][m]
//   UI[c][m] = Σ_{k≠c} log(f[c][m] / (f[k][m] + 3ξ))           when count[c][m] > 0, else 0
//   η[c][m]  = max(UI[c][m], 0.6) · η₀
// Training rows of class c use row c; at inference (label unknown) η[m] = max_c η[c][m]. Tokens
// never seen get the floor 0.6 · η₀.
import { readFileSync, writeFileSync } from "node:fs";
import { positiveBudget } from "../params/index.js";
import { NOISE_CLIP, addTokenNoise, dchiStatement, expectedNoiseNorm } from "./dchi.js";
import type { NoiseSource } from "./noise.js";
import { registerPrivatizer, type CutStatistics, type Guarantee, type PrivatizeInput, type Privatizer } from "./privatizer.js";

export const CTI_FLOOR = 0.6;
/** The floor as stored in the float32 table (0.6 is not exact in float32). */
const FLOOR32 = Math.fround(CTI_FLOOR);

export interface CtiTable {
  numClasses: number;
  vocabSize: number;
  /** UI multipliers max(UI, 0.6), [C, V] row-major; η = multiplier · η₀. */
  multipliers: Float32Array;
  /** max over classes, [V]: the inference-time multiplier. */
  inferenceMultipliers: Float32Array;
}

/** Builds the table from token-id sequences (real tokens only) and their labels. */
export function buildCtiTable(
  sequences: readonly Int32Array[],
  labels: readonly number[],
  numClasses: number,
  vocabSize: number,
): CtiTable {
  if (sequences.length !== labels.length) throw new Error(`CTI: ${sequences.length} sequences but ${labels.length} labels`);
  if (numClasses < 2) throw new Error("CTI needs at least two classes");
  const counts = new Float64Array(numClasses * vocabSize);
  const totals = new Float64Array(numClasses);
  sequences.forEach((ids, i) => {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses)
      throw new Error(`CTI: label ${c} of example ${i} is outside [0, ${numClasses})`);
    for (const m of ids) {
      if (m < 0 || m >= vocabSize) throw new Error(`CTI: token id ${m} outside the vocabulary of ${vocabSize}`);
      counts[c * vocabSize + m]!++;
      totals[c]!++;
    }
  });
  const maxTotal = Math.max(...totals);
  if (maxTotal === 0) throw new Error("CTI: the training set has no tokens");
  const xi = 1 / maxTotal;
  const multipliers = new Float32Array(numClasses * vocabSize).fill(CTI_FLOOR);
  const inferenceMultipliers = new Float32Array(vocabSize).fill(CTI_FLOOR);
  for (let m = 0; m < vocabSize; m++) {
    for (let c = 0; c < numClasses; c++) {
      const cnt = counts[c * vocabSize + m]!;
      if (cnt === 0 || totals[c] === 0) continue;
      const fc = cnt / totals[c]!;
      let ui = 0;
      for (let k = 0; k < numClasses; k++) {
        if (k === c) continue;
        const fk = totals[k]! > 0 ? counts[k * vocabSize + m]! / totals[k]! : 0;
        ui += Math.log(fc / (fk + 3 * xi));
      }
      const mult = Math.max(ui, CTI_FLOOR);
      multipliers[c * vocabSize + m] = mult;
      if (mult > inferenceMultipliers[m]!) inferenceMultipliers[m] = mult;
    }
  }
  return { numClasses, vocabSize, multipliers, inferenceMultipliers };
}

/** How many vocabulary ids get more than the floor, per class and at inference. */
export function ctiSummary(t: CtiTable): { aboveFloor: number[]; aboveFloorInference: number; maxMultiplier: number } {
  const aboveFloor = Array.from({ length: t.numClasses }, (_, c) => {
    let n = 0;
    for (let m = 0; m < t.vocabSize; m++) if (t.multipliers[c * t.vocabSize + m]! > FLOOR32) n++;
    return n;
  });
  let inf = 0;
  let max = CTI_FLOOR;
  for (const v of t.inferenceMultipliers) {
    if (v > FLOOR32) inf++;
    if (v > max) max = v;
  }
  return { aboveFloor, aboveFloorInference: inf, maxMultiplier: max };
}

export function saveCtiTable(path: string, t: CtiTable): void {
  writeFileSync(
    path,
    JSON.stringify({
      format: "sap-cti-v1",
      floor: CTI_FLOOR,
      numClasses: t.numClasses,
      vocabSize: t.vocabSize,
      // Sparse: only entries above the floor.
      entries: Array.from({ length: t.numClasses }, (_, c) => {
        const row: Record<string, number> = {};
        for (let m = 0; m < t.vocabSize; m++) {
          const v = t.multipliers[c * t.vocabSize + m]!;
          if (v > FLOOR32) row[m] = Number(v.toPrecision(6));
        }
        return row;
      }),
    }),
  );
}

export function loadCtiTable(path: string): CtiTable {
  let raw: { format?: string; numClasses: number; vocabSize: number; entries: Array<Record<string, number>> };
  try {
    raw = JSON.parse(readFileSync(path, "utf8")) as typeof raw;
  } catch (e) {
    throw new Error(`${path}: not a CTI table (${(e as Error).message})`);
  }
  if (raw.format !== "sap-cti-v1") throw new Error(`${path}: not a CTI table (format ${String(raw.format)})`);
  const { numClasses, vocabSize } = raw;
  const multipliers = new Float32Array(numClasses * vocabSize).fill(CTI_FLOOR);
  const inferenceMultipliers = new Float32Array(vocabSize).fill(CTI_FLOOR);
  raw.entries.forEach((row, c) => {
    for (const [m, v] of Object.entries(row)) {
      const id = Number(m);
      if (!(id >= 0 && id < vocabSize)) throw new Error(`${path}: token id ${m} outside the vocabulary of ${vocabSize}`);
      multipliers[c * vocabSize + id] = v;
      if (v > inferenceMultipliers[id]!) inferenceMultipliers[id] = v;
    }
  });
  return { numClasses, vocabSize, multipliers, inferenceMultipliers };
}

export class CtiPrivatizer implements Privatizer {
  readonly name = "cti";
  constructor(
    readonly eta0: number,
    readonly table: CtiTable,
    readonly clip?: number,
  ) {}
  get params(): Record<string, number> {
    return this.clip !== undefined ? { eta: this.eta0, clip: this.clip } : { eta: this.eta0 };
  }
  /** η for token id m: by the row's class in training, by the max over classes otherwise. */
  etaFor(m: number, label?: number): number {
    const mult =
      label !== undefined ? this.table.multipliers[label * this.table.vocabSize + m] : this.table.inferenceMultipliers[m];
    return (mult ?? CTI_FLOOR) * this.eta0;
  }
  privatize(input: PrivatizeInput, noise: NoiseSource): Float32Array {
    const { inputIds, seqLen: T, labels } = input;
    return addTokenNoise(input, noise, (b, t) => this.etaFor(inputIds[b * T + t]!, labels?.[b]), this.clip);
  }
  describe(): string {
    const s = ctiSummary(this.table);
    return `d_χ noise with CTI budgets, η₀ = ${this.eta0} (floor ${CTI_FLOOR}·η₀; ${s.aboveFloorInference} tokens above the floor, max ${s.maxMultiplier.toFixed(2)}·η₀)`;
  }
  guarantee(at: CutStatistics): Guarantee {
    // The spread of η over the tokens the customer's data actually holds (inference budgets: max over classes).
    const etas = Array.from(at.tokenIds, (m) => this.etaFor(m)).sort((a, b) => a - b);
    const lo = etas[0] ?? this.eta0 * CTI_FLOOR;
    const hi = etas[etas.length - 1] ?? lo;
    const median = etas[Math.floor(etas.length / 2)] ?? lo;
    return {
      statement: `${dchiStatement(lo, hi, at.medianNearest, this.clip)}; median η over the sample's tokens ${median.toPrecision(3)}`,
      expectedNoiseNorm: expectedNoiseNorm(median, at.dim),
    };
  }
}

registerPrivatizer({
  name: "cti",
  summary: "d_χ with contributing-token budgets from the training set (η per token, η₀ at the floor)",
  params: [
    positiveBudget("eta", "η₀: the budget of the least contributing tokens", [25, 50, 100, 200]),
    NOISE_CLIP,
    {
      name: "table",
      type: "string",
      flag: "cti-table",
      help: "a saved CTI table (JSON) instead of one built from the training set",
    },
  ],
  create: (p, ctx) => {
    const eta0 = p.eta as number;
    const clip = p.clip as number | undefined;
    if (typeof p.table === "string") return new CtiPrivatizer(eta0, loadCtiTable(p.table), clip);
    const ts = ctx.trainingSet;
    if (!ts) throw new Error("privatizer cti needs the training set (token ids and labels) or a saved table (table=PATH)");
    return new CtiPrivatizer(eta0, buildCtiTable(ts.inputIds, ts.labels, ts.numLabels, ts.vocabSize), clip);
  },
});
