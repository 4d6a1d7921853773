// Seeded sampling for datasets: a small PRNG (mulberry32), label-stratified subsets that keep the
// natural label balance, and the seeded train/dev split used when a user gives no dev file.
import { DatasetError, type Dataset, type Example, type SubsetOptions } from "./types.js";

/**
 * mulberry32: a 32-bit state PRNG returning floats in [0, 1). Small and plenty for choosing
 * subsets; kept here rather than borrowing the tensor Rng so loading data needs no native addon.
 */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Independent streams per purpose, so subsetting train does not change which dev examples are drawn. */
export const Stream = { Train: 1, Dev: 2, Test: 3, DevSplit: 4 } as const;
export type Stream = (typeof Stream)[keyof typeof Stream];

export function streamRng(seed: number, stream: Stream): () => number {
  return createRng((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca6b)) >>> 0);
}

/** Fisher–Yates, in place. */
export function shuffleInPlace<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/**
 * Draw `count` of `items` so that each label keeps its share (largest-remainder rounding), at
 * random within each label. Both `chosen` and `rest` keep the input order.
 */
export function stratifiedSample<T extends Pick<Example, "label">>(
  items: readonly T[],
  count: number,
  rng: () => number,
): { chosen: T[]; rest: T[] } {
  if (count >= items.length) return { chosen: items.slice(), rest: [] };
  const groups = new Map<number, number[]>();
  items.forEach((item, i) => {
    let group = groups.get(item.label);
    if (!group) groups.set(item.label, (group = []));
    group.push(i);
  });
  const labels = [...groups.keys()].sort((a, b) => a - b);
  const exact = labels.map((label) => (groups.get(label)!.length * count) / items.length);
  const quota = exact.map(Math.floor);
  let left = count - quota.reduce((a, b) => a + b, 0);
  const byRemainder = labels.map((_, k) => k).sort((a, b) => exact[b]! - quota[b]! - (exact[a]! - quota[a]!) || a - b);
  for (const k of byRemainder) {
    if (left === 0) break;
    quota[k]!++;
    left--;
  }
  const isChosen = new Uint8Array(items.length);
  labels.forEach((label, k) => {
    const group = groups.get(label)!;
    // Partial Fisher–Yates: the first quota[k] slots become a uniform random draw.
    for (let i = 0; i < quota[k]!; i++) {
      const j = i + Math.floor(rng() * (group.length - i));
      const tmp = group[i]!;
      group[i] = group[j]!;
      group[j] = tmp;
      isChosen[group[i]!] = 1;
    }
  });
  const chosen: T[] = [];
  const rest: T[] = [];
  items.forEach((item, i) => (isChosen[i] ? chosen : rest).push(item));
  return { chosen, rest };
}

function checkCount(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

export function checkSubsetOptions(opts: SubsetOptions): number {
  checkCount("maxTrain", opts.maxTrain);
  checkCount("maxEval", opts.maxEval);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  return seed;
}

/** The dataset with train capped at maxTrain and dev/test at maxEval (seeded, stratified, file order kept). */
export function applySubsets(dataset: Dataset, opts: SubsetOptions): Dataset {
  const seed = checkSubsetOptions(opts);
  const cap = (examples: Example[], max: number | undefined, stream: Stream): Example[] =>
    max === undefined ? examples : stratifiedSample(examples, max, streamRng(seed, stream)).chosen;
  const out: Dataset = {
    ...dataset,
    train: cap(dataset.train, opts.maxTrain, Stream.Train),
    dev: cap(dataset.dev, opts.maxEval, Stream.Dev),
  };
  if (dataset.test) out.test = cap(dataset.test, opts.maxEval, Stream.Test);
  return out;
}

/** Split off round(fraction · n) examples (at least 1) as dev, stratified by label. */
export function splitOffDev(
  train: Example[],
  fraction: number,
  seed: number,
  file: string,
): { train: Example[]; dev: Example[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`devFraction must be between 0 and 1, got ${fraction}`);
  if (train.length < 2) {
    throw new DatasetError(file, undefined, `only ${train.length} example(s): too few to split off a dev set; give a dev file`);
  }
  const count = Math.min(train.length - 1, Math.max(1, Math.round(fraction * train.length)));
  const { chosen, rest } = stratifiedSample(train, count, streamRng(seed, Stream.DevSplit));
  return { train: rest, dev: chosen };
}
