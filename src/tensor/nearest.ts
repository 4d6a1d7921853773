// Nearest-row search: for each query row, the k rows of a candidate matrix (a vocabulary's
// embeddings, say) that are closest by L2, cosine or dot product. One engine op for the attacks
// and the privatizers; blocked GEMMs keep memory bounded for a 30k-row vocabulary. Not
// differentiable: it returns indices.
import { native } from "./native.js";
import type { Tensor } from "./tensor.js";
import { shapeStr } from "./tensor.js";

export type NearestMetric = "l2" | "cosine" | "dot";

export interface NearestRowsOptions {
  /** l2: smallest ‖q − r‖; cosine: largest q·r / (‖q‖ ‖r‖) (a zero row counts as norm 1); dot: largest q·r. */
  metric: NearestMetric;
  /** How many rows per query, best first (default 1). */
  k?: number;
  /** Candidate rows per GEMM block (default 4096). */
  chunk?: number;
  /** Query rows per GEMM block (default: as many as keep a block's scores within 4 Mi floats). */
  queryChunk?: number;
  /** Rows never returned (e.g. special tokens). */
  exclude?: Iterable<number>;
  /** Squared norms of the candidate rows, from rowSquaredNorms(), when searching one matrix often. */
  rowNorms?: Float32Array;
}

export interface NearestRowsResult {
  /** [n, k] row indices, best first; ties go to the lower index; -1 when fewer than k rows qualify. */
  indices: Int32Array;
  /** [n, k] scores: squared distance (l2), cosine similarity, or dot product. */
  scores: Float32Array;
}

const SCORE_BUDGET = 1 << 22;

/** Squared L2 norm of each row of a [V, d] matrix (summed in double, stored as float32). */
export function rowSquaredNorms(rows: Tensor): Float32Array {
  const [V] = matrixShape("rowSquaredNorms", rows);
  return Float32Array.from(squaredNorms(rows.data, V, rows.shape[1]!));
}

function squaredNorms(E: Float32Array, V: number, d: number): Float64Array {
  const out = new Float64Array(V);
  for (let v = 0; v < V; v++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += E[v * d + j]! * E[v * d + j]!;
    out[v] = s;
  }
  return out;
}

function matrixShape(op: string, t: Tensor): [number, number] {
  if (t.ndim !== 2) throw new Error(`${op}: expected a [rows, dim] matrix, got ${shapeStr(t.shape)}`);
  return t.shape as [number, number];
}

/**
 * For each row of `queries` [n, d], the k best rows of `rows` [V, d]. Every metric is scanned as
 * "larger key wins" with key = mul[v] · (q·r) − off[v]: l2 uses 2 q·r − ‖r‖² (‖q‖² is constant
 * per query), cosine q·r / ‖r‖ (‖q‖ likewise), dot q·r; excluded rows get off = +∞.
 */
export function nearestRows(queries: Tensor, rows: Tensor, opts: NearestRowsOptions): NearestRowsResult {
  const [n, d] = matrixShape("nearestRows", queries);
  const [V, dr] = matrixShape("nearestRows", rows);
  if (d !== dr) throw new Error(`nearestRows: queries ${shapeStr(queries.shape)} and rows ${shapeStr(rows.shape)} differ in dim`);
  const k = opts.k ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new Error(`nearestRows: k must be a positive integer, got ${k}`);
  for (const c of [opts.chunk, opts.queryChunk])
    if (c !== undefined && (!Number.isInteger(c) || c < 1))
      throw new Error(`nearestRows: chunk sizes must be positive integers, got ${c}`);
  const rb = Math.max(1, Math.min(V, opts.chunk ?? 4096));
  const qb = Math.max(1, Math.min(n, opts.queryChunk ?? Math.floor(SCORE_BUDGET / rb)));
  const { metric } = opts;
  const Q = queries.data;
  const R = rows.data;

  // Per-row key coefficients.
  const mul = new Float32Array(V).fill(metric === "l2" ? 2 : 1);
  const off = new Float32Array(V);
  if (metric !== "dot") {
    // Computed here in double, so the cosine weights round once (as the attacks always did).
    const sq = opts.rowNorms ?? squaredNorms(R, V, d);
    if (sq.length !== V) throw new Error(`nearestRows: ${sq.length} row norms for ${V} rows`);
    if (metric === "l2") off.set(sq);
    else for (let v = 0; v < V; v++) mul[v] = 1 / Math.sqrt(sq[v]! || 1);
  }
  for (const v of opts.exclude ?? []) if (v >= 0 && v < V) off[v] = Number.POSITIVE_INFINITY;

  const indices = new Int32Array(n * k).fill(-1);
  const keys = new Float64Array(n * k).fill(Number.NEGATIVE_INFINITY);
  const scores = new Float32Array(qb * rb);
  for (let q0 = 0; q0 < n; q0 += qb) {
    const m = Math.min(qb, n - q0);
    for (let r0 = 0; r0 < V; r0 += rb) {
      const w = Math.min(rb, V - r0);
      native.gemm({ transB: true, M: m, N: w, K: d, a: Q, aOff: q0 * d, lda: d, b: R, bOff: r0 * d, ldb: d, c: scores, ldc: w });
      for (let i = 0; i < m; i++) {
        const base = (q0 + i) * k;
        const row = i * w;
        if (k === 1) {
          let best = keys[base]!;
          let bi = indices[base]!;
          for (let j = 0; j < w; j++) {
            const key = scores[row + j]! * mul[r0 + j]! - off[r0 + j]!;
            if (key > best) {
              best = key;
              bi = r0 + j;
            }
          }
          keys[base] = best;
          indices[base] = bi;
        } else {
          for (let j = 0; j < w; j++) {
            const key = scores[row + j]! * mul[r0 + j]! - off[r0 + j]!;
            if (!(key > keys[base + k - 1]!)) continue;
            // Insert after any equal keys, so ties keep the lower index first.
            let p = k - 1;
            while (p > 0 && key > keys[base + p - 1]!) {
              keys[base + p] = keys[base + p - 1]!;
              indices[base + p] = indices[base + p - 1]!;
              p--;
            }
            keys[base + p] = key;
            indices[base + p] = r0 + j;
          }
        }
      }
    }
  }
  // Keys back to the metric's own scale.
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let qq = 0;
    if (metric !== "dot") for (let j = 0; j < d; j++) qq += Q[i * d + j]! * Q[i * d + j]!;
    for (let c = 0; c < k; c++) {
      const key = keys[i * k + c]!;
      if (indices[i * k + c]! < 0) out[i * k + c] = Number.NaN;
      else if (metric === "l2") out[i * k + c] = qq - key;
      else if (metric === "cosine") out[i * k + c] = key / Math.sqrt(qq || 1);
      else out[i * k + c] = key;
    }
  }
  return { indices, scores: out };
}
