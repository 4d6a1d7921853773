// Finite-difference gradient checking (like torch.autograd.gradcheck), used by the test suite
// and available to anyone adding an op. The scalar probed is L = sum(out * w) for a fixed random
// w, accumulated in float64; central differences on each input element are compared with the
// gradient autograd produced.
import assert from "node:assert/strict";
import { Rng } from "./random.js";
import { Tensor, backward, noGrad } from "./tensor.js";

export function randTensor(shape: number[], rng: Rng, opts: { scale?: number; awayFromZero?: number } = {}): Tensor {
  const t = Tensor.zeros(shape, true);
  const s = opts.scale ?? 1;
  for (let i = 0; i < t.size; i++) {
    let v = rng.normal() * s;
    if (opts.awayFromZero) v = Math.sign(v || 1) * (Math.abs(v) + opts.awayFromZero);
    t.data[i] = v;
  }
  return t;
}

export interface GradcheckOptions {
  eps?: number;
  /** Allowed |analytic - numeric| relative to max(1, |numeric|) per element, and to the norm overall. */
  tol?: number;
  /** Check at most this many elements per input (picked at random) to keep big ops fast. */
  maxElements?: number;
  seed?: number;
}

function probe(out: Tensor, w: Float64Array): number {
  let s = 0;
  for (let i = 0; i < out.size; i++) s += out.data[i]! * w[i]!;
  return s;
}

/** Returns the worst relative error found; asserts it is within tolerance. */
export function gradcheck(name: string, f: (xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): number {
  const eps = opts.eps ?? 1e-2;
  const tol = opts.tol ?? 2e-2;
  const rng = new Rng(opts.seed ?? 7);
  for (const x of inputs) x.grad = null;
  const out = f(inputs);
  const w = new Float64Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal();
  backward(out, Float32Array.from(w));
  let worst = 0;
  inputs.forEach((x, xi) => {
    if (!x.requiresGrad) return;
    const analytic = x.grad ?? new Float32Array(x.size);
    const idx = [...Array(x.size).keys()];
    const picks = opts.maxElements && x.size > opts.maxElements ? rng.shuffle(idx).slice(0, opts.maxElements) : idx;
    let num2 = 0;
    let diff2 = 0;
    for (const i of picks) {
      const orig = x.data[i]!;
      x.data[i] = orig + eps;
      const plus = noGrad(() => probe(f(inputs), w));
      x.data[i] = orig - eps;
      const minus = noGrad(() => probe(f(inputs), w));
      x.data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[i]!;
      const rel = Math.abs(a - numeric) / Math.max(1, Math.abs(numeric));
      worst = Math.max(worst, rel);
      num2 += numeric * numeric;
      diff2 += (a - numeric) ** 2;
      assert.ok(
        rel <= tol * 5,
        `${name}: input ${xi} element ${i}: analytic ${a.toPrecision(6)} vs numeric ${numeric.toPrecision(6)} (rel ${rel.toExponential(2)})`,
      );
    }
    const relNorm = Math.sqrt(diff2) / Math.max(1e-3, Math.sqrt(num2));
    assert.ok(
      relNorm <= tol,
      `${name}: input ${xi}: gradient differs from finite differences by ${relNorm.toExponential(2)} (norm-relative)`,
    );
    worst = Math.max(worst, relNorm);
  });
  return worst;
}
