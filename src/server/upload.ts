// Upload mode, the vendor's storage: a job's privatized release arrives as numbered chunks (one
// TrainBatch frame each, docs/wire-format.md "Upload mode"), each written atomically (tmp, fsync,
// rename, folder fsync) owner-only under the job's folder; the whole is checked against the
// customer's SHA-256 before training; and the examples are read back as one in-memory set that
// batches exactly as the customer's PrivatizedSet does (split/release.ts).
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { MessageType, WireError, decodeFrame, padRows, type Frame, type UploadSpec, type WireBatch } from "../wire/index.js";

const CHUNK_FILE = /^chunk-(\d{6,})\.frame$/;

export function chunkFile(dir: string, index: number): string {
  return join(dir, `chunk-${String(index).padStart(6, "0")}.frame`);
}

/** Rows chunk `index` must hold. */
export function chunkRows(spec: UploadSpec, index: number): number {
  return Math.min(spec.chunkExamples, spec.examples - index * spec.chunkExamples);
}

/** Indices of the chunks on disk, ascending. */
export function storedChunks(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const out: number[] = [];
  for (const name of readdirSync(dir)) {
    const m = CHUNK_FILE.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** Bytes of the chunks on disk. */
export function storedBytes(dir: string): number {
  return storedChunks(dir).reduce((a, c) => a + statSync(chunkFile(dir, c)).size, 0);
}

/**
 * Stores chunk bytes atomically: a killed server leaves either the whole chunk or none (a stray
 * temporary file is ignored and overwritten).
 */
export function writeChunk(dir: string, index: number, bytes: Uint8Array): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = chunkFile(dir, index);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  // The rename itself is durable only once the folder is.
  const dfd = openSync(dir, "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** Whether a stored chunk holds exactly these bytes. */
export function sameChunk(dir: string, index: number, bytes: Uint8Array): boolean {
  return Buffer.from(bytes).equals(readFileSync(chunkFile(dir, index)));
}

/** SHA-256 (hex) of the chunk files concatenated in index order 0..chunks-1. */
export function uploadDigest(dir: string, chunks: number): string {
  const h = createHash("sha256");
  for (let c = 0; c < chunks; c++) h.update(readFileSync(chunkFile(dir, c)));
  return h.digest("hex");
}

/**
 * Checks a decoded chunk against the job's upload spec: a TrainBatch whose seq is its index, with
 * the rows that index must hold, of width `dim`, each row's mask a run of ones then zeros (so the
 * examples can be cut back out of their padding).
 */
export function checkChunk(frame: Frame, spec: UploadSpec, index: number, dim: number): void {
  if (frame.type !== MessageType.TrainBatch)
    throw new WireError("bad_message_type", `an upload chunk is a training batch (type 1), got type ${frame.type}`);
  if (frame.seq !== index)
    throw new WireError("bad_shape", `chunk ${index}'s frame carries seq ${frame.seq}; it must be ${index}`);
  const [B, T, d] = frame.shape as [number, number, number];
  const want = chunkRows(spec, index);
  if (B !== want) throw new WireError("bad_shape", `chunk ${index} must hold ${want} examples, this one holds ${B}`);
  if (d !== dim) throw new WireError("bad_shape", `representations have size ${d}; the model expects ${dim}`);
  const mask = frame.mask!;
  for (let b = 0; b < B; b++) {
    let len = 0;
    while (len < T && mask[b * T + len]) len++;
    if (!len) throw new WireError("bad_mask", `example ${b} of chunk ${index} has no real token`);
    for (let t = len; t < T; t++)
      if (mask[b * T + t]) throw new WireError("bad_mask", `example ${b} of chunk ${index}: padding must follow the real tokens`);
  }
}

/** The uploaded examples, cut out of their chunks' padding, batched like the customer's PrivatizedSet. */
export class UploadedSet {
  private readonly rows: Float32Array[] = [];
  private readonly labels: number[] = [];

  constructor(
    frames: Iterable<Frame>,
    readonly dim: number,
  ) {
    for (const f of frames) {
      const [B, T, d] = f.shape as [number, number, number];
      for (let b = 0; b < B; b++) {
        let len = 0;
        while (len < T && f.mask![b * T + len]) len++;
        this.rows.push(f.values.slice(b * T * d, (b * T + len) * d));
        this.labels.push(f.labels![b]!);
      }
    }
  }

  /** Reads and validates every chunk of a complete upload. */
  static load(dir: string, spec: UploadSpec, opts: { dim: number; numLabels: number; maxFrameBytes: number }): UploadedSet {
    const frames = function* (): Generator<Frame> {
      for (let c = 0; c < spec.chunks; c++) {
        const f = decodeFrame(readFileSync(chunkFile(dir, c)), { maxFrameBytes: opts.maxFrameBytes, numLabels: opts.numLabels });
        checkChunk(f, spec, c, opts.dim);
        yield f;
      }
    };
    return new UploadedSet(frames(), opts.dim);
  }

  get size(): number {
    return this.rows.length;
  }

  /** The same padding rule as PrivatizedSet.batch: zeros up to the longest example of the batch. */
  batch(indices: number[]): WireBatch {
    return padRows(
      indices.map((i) => this.rows[i]!),
      this.dim,
      Int32Array.from(indices, (i) => this.labels[i]!),
    );
  }
}
