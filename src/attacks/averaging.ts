// Epoch averaging: a vendor that receives the same examples several times (once per epoch, in
// shuffled order) links the copies of each example from what it received alone (no ground truth:
// same length, nearest mean vector), averages them, and inverts the average. Fresh noise per epoch
// shrinks by √copies under averaging; a release made once (split/release.ts) gives identical
// copies, so averaging gains nothing. Linkage is reported too: the share of copies linked right.
import { padRows, type WireBatch } from "../wire/index.js";
import type { AttackContext, InversionAttack } from "./attack.js";

/** One received example: its real-token rows [length, d]. */
export type ReceivedExample = Float32Array;

/** The real-token rows of every example of some batches, in order. */
export function examplesOf(wires: WireBatch[]): ReceivedExample[] {
  const out: ReceivedExample[] = [];
  for (const w of wires)
    for (let b = 0; b < w.batchSize; b++) {
      let len = 0;
      while (len < w.seqLen && w.attentionMask[b * w.seqLen + len]) len++;
      out.push(w.hidden.slice(b * w.seqLen * w.dim, (b * w.seqLen + len) * w.dim));
    }
  return out;
}

function meanRow(x: ReceivedExample, d: number): Float64Array {
  const m = new Float64Array(d);
  const n = x.length / d;
  for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) m[j]! += x[t * d + j]! / n;
  return m;
}

/**
 * For each example of copy 0, the index of its linked example in `other` (same length, nearest
 * mean vector; -1 where no example has that length).
 */
export function linkCopies(first: ReceivedExample[], other: ReceivedExample[], d: number): Int32Array {
  const means = other.map((x) => meanRow(x, d));
  return Int32Array.from(first, (x) => {
    const mx = meanRow(x, d);
    let best = -1;
    let bestD = Number.POSITIVE_INFINITY;
    other.forEach((y, j) => {
      if (y.length !== x.length) return;
      let s = 0;
      for (let k = 0; k < d; k++) s += (mx[k]! - means[j]![k]!) ** 2;
      if (s < bestD) {
        bestD = s;
        best = j;
      }
    });
    return best;
  });
}

/** Zero-padded batches of examples (the shapes an inner attack expects). */
export function batchesOf(examples: ReceivedExample[], d: number, size = 64): WireBatch[] {
  const out: WireBatch[] = [];
  for (let i = 0; i < examples.length; i += size) out.push(padRows(examples.slice(i, i + size), d));
  return out;
}

export interface AveragingResult {
  /** The inner attack's guesses on the averaged copies, batched as batchesOf(copy 0). */
  guesses: Int32Array[];
  batches: WireBatch[];
  /** Share of copies linked to the right example (evaluator's knowledge: `truth[c][i]` is copy c's index of example i). */
  linkage: number;
}

/**
 * copies[0] in the evaluator's order; copies[c >= 1] shuffled, with truthIndex[c - 1][i] the
 * position of copy 0's example i in copy c (used only to score the linkage).
 */
export function epochAveraging(
  copies: ReceivedExample[][],
  truthIndex: Int32Array[],
  d: number,
  inner: InversionAttack,
  ctx: AttackContext,
): AveragingResult {
  const first = copies[0]!;
  const sums = first.map((x) => Float64Array.from(x));
  const counts = new Int32Array(first.length).fill(1);
  let linkedRight = 0;
  let links = 0;
  copies.slice(1).forEach((copy, c) => {
    const link = linkCopies(first, copy, d);
    link.forEach((j, i) => {
      links++;
      if (j === truthIndex[c]![i]) linkedRight++;
      if (j < 0) return;
      const y = copy[j]!;
      for (let k = 0; k < y.length; k++) sums[i]![k]! += y[k]!;
      counts[i]!++;
    });
  });
  const averaged = sums.map((s, i) => Float32Array.from(s, (v) => v / counts[i]!));
  const batches = batchesOf(averaged, d);
  inner.prepare?.(ctx);
  return { guesses: batches.map((w) => inner.invert(w, ctx)), batches, linkage: links ? linkedRight / links : Number.NaN };
}
