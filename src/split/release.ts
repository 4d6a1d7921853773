// Privatize once: a data set is run through the bottom and the mechanism a single time, in fixed
// chunks, and that release is what every epoch, every re-sent step and every restart sends. A
// vendor that links the copies of an example then holds one noisy copy, not one per epoch to
// average. The noise of chunk c comes from a keyed CSPRNG stream (key, c), so a restart with the
// same key regenerates the same bytes; the key never leaves the customer.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { KeyedNoise, SeededNoise, newNoiseKey, type NoiseSource } from "../privacy/index.js";
import { tidy } from "../tensor/index.js";
import { padRows, type WireBatch } from "../wire/index.js";
import { collate, type Customer, type Encoded } from "./customer.js";
import type { ProgressListener } from "./progress.js";

/** Examples per chunk: fixed, so that recomputing a release gives the same shapes and bytes. */
export const RELEASE_CHUNK = 64;

/** Where a release's noise comes from: a secret key (deployment) or a seed (experiments, and it says so). */
export type ReleaseNoise = { key: Uint8Array } | { seed: number };

/** Streams: training rows and dev rows get disjoint nonces under the same key. */
export type ReleaseStream = "train" | "dev";

export function releaseNoise(src: ReleaseNoise, stream: ReleaseStream, chunk: number): NoiseSource {
  const nonce = (stream === "train" ? 0 : 2 ** 32) + chunk;
  return "key" in src ? new KeyedNoise(src.key, nonce) : new SeededNoise(src.seed * 1_000_003 + nonce);
}

/** The release key kept in `file` (created, readable by the owner only, on first use). */
export function loadOrCreateReleaseKey(file: string): Buffer {
  if (existsSync(file)) {
    const key = readFileSync(file);
    if (key.length !== 32) throw new Error(`${file}: a release key has 32 bytes, this file has ${key.length}`);
    return key;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = newNoiseKey();
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, key, { mode: 0o600 });
  renameSync(tmp, file);
  return key;
}

export function describeReleaseNoise(src: ReleaseNoise): string {
  return "key" in src ? "keyed-csprng (key kept by the customer)" : `seeded:${src.seed} (experiments only)`;
}

export class PrivatizedSet {
  /** Privatized rows of each example's real tokens, [length, d]. */
  private readonly rows: Float32Array[] = [];
  private readonly labels: number[] = [];
  readonly dim: number;

  /**
   * Runs `examples` through the customer's bottom and mechanism once. Training rows go with their
   * labels (CTI and other label-aware mechanisms see them, as they would per step); dev rows without.
   */
  constructor(
    customer: Customer,
    examples: Encoded[],
    padId: number,
    noise: ReleaseNoise,
    opts: { stream: ReleaseStream; onChunk?: (done: number, total: number) => void },
  ) {
    let dim = 0;
    const chunks = Math.ceil(examples.length / RELEASE_CHUNK);
    for (let c = 0; c < chunks; c++) {
      const part = examples.slice(c * RELEASE_CHUNK, (c + 1) * RELEASE_CHUNK);
      const { batch, labels } = collate(part, padId);
      const train = opts.stream === "train";
      const wire = tidy(() => customer.encode(batch, train ? labels : undefined, releaseNoise(noise, opts.stream, c)));
      dim = wire.dim;
      part.forEach((x, b) => {
        const off = b * wire.seqLen * dim;
        this.rows.push(wire.hidden.slice(off, off + x.ids.length * dim));
        this.labels.push(x.label);
      });
      opts.onChunk?.(c + 1, chunks);
    }
    this.dim = dim;
  }

  get size(): number {
    return this.rows.length;
  }

  /** The released rows of one example (the same array every time). */
  example(i: number): Float32Array {
    return this.rows[i]!;
  }

  /** A batch of released examples, zero-padded to the longest (padding is zeros on the wire anyway). */
  batch(indices: number[], withLabels: boolean): WireBatch {
    return padRows(
      indices.map((i) => this.rows[i]!),
      this.dim,
      withLabels ? Int32Array.from(indices, (i) => this.labels[i]!) : undefined,
    );
  }
}

/**
 * What the customer sends for a batch of its training or dev examples: by default the
 * once-privatized release (PrivatizedSet); with fresh noise, a new privatization per call.
 */
export class Releases {
  private readonly trainSet?: PrivatizedSet;
  private readonly devSet?: PrivatizedSet;
  /** How many times each training example is released over `epochs` epochs. */
  readonly releasesPer: (epochs: number) => number;
  readonly description: string;

  constructor(
    private readonly customer: Customer,
    private readonly train: Encoded[],
    private readonly dev: Encoded[],
    private readonly padId: number,
    mode: { once: ReleaseNoise } | { fresh: true; trainsBottom: boolean },
    onChunk?: (done: number, total: number) => void,
  ) {
    if ("once" in mode) {
      this.trainSet = new PrivatizedSet(customer, train, padId, mode.once, { stream: "train", onChunk });
      this.devSet = new PrivatizedSet(customer, dev, padId, mode.once, { stream: "dev" });
      this.releasesPer = () => 1;
      this.description = `privatized once (${describeReleaseNoise(mode.once)}); every epoch and re-send carries the same release`;
    } else {
      this.releasesPer = (epochs) => epochs;
      this.description = mode.trainsBottom
        ? "fresh noise per step (U-shaped: the bottom changes, so each epoch is a new release)"
        : "fresh noise per epoch (--fresh-noise): releases compose";
    }
  }

  /** Training rows (with labels) of these examples. Call inside tidy() (a fresh release computes). */
  trainBatch(indices: number[]): WireBatch {
    if (this.trainSet) return this.trainSet.batch(indices, true);
    const { batch, labels } = collate(
      indices.map((i) => this.train[i]!),
      this.padId,
    );
    return this.customer.encode(batch, labels);
  }

  /** Dev rows [from, to) without labels, and the labels the customer keeps to score them. */
  devBatch(from: number, to: number): { wire: WireBatch; labels: Int32Array } {
    const labels = Int32Array.from(this.dev.slice(from, to), (x) => x.label);
    if (this.devSet)
      return {
        wire: this.devSet.batch(
          [...Array(to - from).keys()].map((i) => from + i),
          false,
        ),
        labels,
      };
    return { wire: this.customer.encode(collate(this.dev.slice(from, to), this.padId).batch), labels };
  }

  get devSize(): number {
    return this.dev.length;
  }
}

/**
 * The releases of a run: privatized once unless fresh noise is asked for or the bottom trains;
 * the noise of a once-release from `noiseSeed` (experiments) or the key kept in `keyFile`.
 */
export function releasesFor(
  customer: Customer,
  data: { train: Encoded[]; dev: Encoded[]; padId: number },
  how: { freshNoise?: boolean; trainsBottom: boolean; noiseSeed?: number; keyFile: string },
  emit: ProgressListener,
): Releases {
  const fresh = how.freshNoise === true || how.trainsBottom;
  const noise: ReleaseNoise | undefined = fresh
    ? undefined
    : how.noiseSeed !== undefined
      ? { seed: how.noiseSeed }
      : { key: loadOrCreateReleaseKey(how.keyFile) };
  return new Releases(
    customer,
    data.train,
    data.dev,
    data.padId,
    noise ? { once: noise } : { fresh: true, trainsBottom: how.trainsBottom },
    (done, total) => emit({ task: "privatize", done, total, unit: "chunks" }),
  );
}
