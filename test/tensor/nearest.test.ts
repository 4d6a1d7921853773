// nearestRows against a naive loop: every metric, k > 1, ties (lower index first, also across
// block boundaries), every block size from one row up, excluded rows and precomputed norms.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng, Tensor, nearestRows, rowSquaredNorms, type NearestMetric } from "../../src/tensor/index.js";

const METRICS: NearestMetric[] = ["l2", "cosine", "dot"];

/** Score of row r for query q by the metric's definition, in double; and whether larger is better. */
function score(metric: NearestMetric, q: Float32Array, r: Float32Array): number {
  let dot = 0,
    qq = 0,
    rr = 0,
    dist = 0;
  for (let j = 0; j < q.length; j++) {
    dot += q[j]! * r[j]!;
    qq += q[j]! * q[j]!;
    rr += r[j]! * r[j]!;
    dist += (q[j]! - r[j]!) ** 2;
  }
  if (metric === "l2") return dist;
  if (metric === "cosine") return dot / (Math.sqrt(qq || 1) * Math.sqrt(rr || 1));
  return dot;
}

/** The k best (index, score) pairs by sorting all rows; ties by lower index. */
function naive(metric: NearestMetric, Q: Tensor, R: Tensor, k: number, exclude = new Set<number>()): [number, number][][] {
  const [n, d] = Q.shape as [number, number];
  const V = R.shape[0]!;
  const out: [number, number][][] = [];
  for (let i = 0; i < n; i++) {
    const q = Q.data.subarray(i * d, (i + 1) * d);
    const all: [number, number][] = [];
    for (let v = 0; v < V; v++) if (!exclude.has(v)) all.push([v, score(metric, q, R.data.subarray(v * d, (v + 1) * d))]);
    all.sort((a, b) => (metric === "l2" ? a[1] - b[1] : b[1] - a[1]) || a[0] - b[0]);
    out.push(all.slice(0, k));
  }
  return out;
}

/** Small integers: every product and sum is exact in float32, so ties are real ties. */
function intMatrix(rng: Rng, rows: number, dim: number): Tensor {
  return new Tensor(
    Float32Array.from({ length: rows * dim }, () => rng.int(7) - 3),
    [rows, dim],
  );
}

function check(
  metric: NearestMetric,
  Q: Tensor,
  R: Tensor,
  k: number,
  got: ReturnType<typeof nearestRows>,
  exclude?: Set<number>,
) {
  const want = naive(metric, Q, R, k, exclude);
  want.forEach((best, i) => {
    best.forEach(([v, s], c) => {
      const at = i * k + c;
      assert.ok(
        Math.abs(got.scores[at]! - s) <= 1e-5 * (1 + Math.abs(s)),
        `${metric} query ${i} rank ${c}: score ${got.scores[at]} vs ${s}`,
      );
      // Integer data makes l2 and dot ties exact; a cosine "tie" may differ in the last bit, and
      // then the row chosen must score the same.
      if (metric === "cosine" && got.indices[at] !== v) {
        const row = (r: number) => R.data.subarray(r * R.shape[1]!, (r + 1) * R.shape[1]!);
        const q = Q.data.subarray(i * Q.shape[1]!, (i + 1) * Q.shape[1]!);
        assert.ok(Math.abs(score(metric, q, row(got.indices[at]!)) - s) < 1e-6, `cosine query ${i} rank ${c}`);
      } else assert.equal(got.indices[at], v, `${metric} query ${i} rank ${c}`);
    });
  });
}

describe("nearestRows", () => {
  const rng = new Rng(3);
  const d = 6;
  const R = intMatrix(rng, 37, d);
  const Q = intMatrix(rng, 23, d);

  it("matches a naive loop for every metric and k = 1, 3", () => {
    for (const metric of METRICS) for (const k of [1, 3]) check(metric, Q, R, k, nearestRows(Q, R, { metric, k }));
  });

  it("gives the same answer for every block size, including one row and one query per block", () => {
    for (const metric of METRICS) {
      const ref = nearestRows(Q, R, { metric, k: 4 });
      for (const chunk of [1, 4, 36, 37, 100])
        for (const queryChunk of [1, 5, 23, 50]) {
          const got = nearestRows(Q, R, { metric, k: 4, chunk, queryChunk });
          assert.deepEqual([...got.indices], [...ref.indices], `${metric} chunk ${chunk} queryChunk ${queryChunk}`);
          assert.deepEqual([...got.scores], [...ref.scores]);
        }
    }
  });

  it("finds each row itself, and breaks ties by the lower index, across blocks too", () => {
    // Rows 2 and 5 are identical and fall in different blocks of 4.
    const dup = new Tensor(R.data.slice(0, 8 * d), [8, d]);
    dup.data.set(dup.data.subarray(2 * d, 3 * d), 5 * d);
    const self = nearestRows(dup, dup, { metric: "l2", chunk: 4 });
    assert.deepEqual([...self.indices], [0, 1, 2, 3, 4, 2, 6, 7]);
    assert.ok(self.scores.every((s) => s === 0));
    // Dot products are not maximal at the row itself, so only l2 and cosine rank it first.
    for (const metric of ["l2", "cosine"] as const) {
      const q = new Tensor(dup.data.slice(2 * d, 3 * d), [1, d]);
      const two = nearestRows(q, dup, { metric, k: 2, chunk: 4 });
      assert.deepEqual([...two.indices], [2, 5], metric);
      assert.equal(two.scores[0], two.scores[1]);
    }
  });

  it("never returns excluded rows, reports -1 when too few rows qualify, and accepts precomputed norms", () => {
    const exclude = new Set([0, 1, 2, 10, 36]);
    for (const metric of METRICS) check(metric, Q, R, 2, nearestRows(Q, R, { metric, k: 2, exclude, chunk: 5 }), exclude);
    const small = new Tensor(R.data.slice(0, 3 * d), [3, d]);
    const got = nearestRows(Q, small, { metric: "l2", k: 3, exclude: [1] });
    for (let i = 0; i < 23; i++) {
      assert.equal(got.indices[i * 3 + 2], -1);
      assert.ok(Number.isNaN(got.scores[i * 3 + 2]!));
      assert.ok(got.indices[i * 3] !== 1 && got.indices[i * 3 + 1] !== 1);
    }
    const norms = rowSquaredNorms(R);
    assert.equal(
      norms[4],
      [...R.data.subarray(4 * d, 5 * d)].reduce((s, x) => s + x * x, 0),
    );
    for (const metric of METRICS)
      assert.deepEqual(nearestRows(Q, R, { metric, rowNorms: norms }).indices, nearestRows(Q, R, { metric }).indices);
  });

  it("handles random real-valued data, and rejects mismatched shapes and bad options", () => {
    const Rr = new Tensor(
      Float32Array.from({ length: 200 * 16 }, () => rng.normal()),
      [200, 16],
    );
    const Qr = new Tensor(
      Float32Array.from({ length: 30 * 16 }, () => rng.normal()),
      [30, 16],
    );
    for (const metric of METRICS) check(metric, Qr, Rr, 5, nearestRows(Qr, Rr, { metric, k: 5, chunk: 64 }));
    assert.throws(() => nearestRows(Qr, R, { metric: "l2" }), /differ in dim/);
    assert.throws(() => nearestRows(Qr, Rr, { metric: "l2", chunk: 0 }), /chunk sizes must be positive/);
    assert.throws(() => nearestRows(Qr, Rr, { metric: "l2", k: 0 }), /k must be a positive integer/);
    assert.throws(() => nearestRows(new Tensor(Qr.data, [30, 4, 4]), Rr, { metric: "l2" }), /expected a \[rows, dim\] matrix/);
  });
});
