// d_χ-privacy (metric local DP) on token representations: each real token's vector x in R^d is
// released as x + z with z = r·u, u uniform on the unit sphere, r ~ Gamma(shape d, scale 1/η).
// The density of z is ∝ exp(-η‖z‖), so outputs of x and x' are e^{η‖x−x'‖}-indistinguishable,
// and E‖z‖ = d/η: larger η, less noise.
//
// Conventions elsewhere, and how to convert:
// - "ε" in the d_χ literature (Feyisetan et al.; SAP) is our η.
// - "relative ε" (noise measured against the typical representation norm ρ): the expected noise
//   norm is ρ/ε_rel, so η = ε_rel · d / ρ  (see etaFromRelative).
// - per-coordinate budgets (a Laplace/Gaussian ε per dimension) are not d_χ; use the laplace or
//   gaussian mechanisms for those comparisons.
import { positiveBudget, type ParamDecl } from "../params/index.js";
import { sampleGamma, sampleUnitVector, type NoiseSource } from "./noise.js";
import { registerPrivatizer, type CutStatistics, type Guarantee, type PrivatizeInput, type Privatizer } from "./privatizer.js";

/** η such that the expected noise norm is 1/epsRel of a representation norm `meanNorm`. */
export function etaFromRelative(epsRel: number, dim: number, meanNorm: number): number {
  return (epsRel * dim) / meanNorm;
}

/** Expected noise norm E‖z‖ = d/η. */
export function expectedNoiseNorm(eta: number, dim: number): number {
  return dim / eta;
}

/**
 * d_χ in words: the outputs for two token vectors x, x′ are e^{η‖x − x′‖}-indistinguishable; at
 * the distance D between a token and its nearest other token at the cut, that is ε = η·D.
 */
export function dchiStatement(etaMin: number, etaMax: number, nearest: number, clip?: number): string {
  const eps = (eta: number): string => (eta * nearest).toPrecision(3);
  const range = etaMin === etaMax ? `η = ${etaMin}` : `η from ${etaMin.toPrecision(3)} to ${etaMax.toPrecision(3)} by token`;
  return (
    `d_χ-privacy per token: ε(x, x′) = η·‖x − x′‖ (${range}); at the median distance to the nearest other token at the cut, ` +
    `D = ${nearest.toPrecision(3)}, ε = ${etaMin === etaMax ? eps(etaMin) : `${eps(etaMin)} to ${eps(etaMax)}`}` +
    (clip !== undefined ? `; vectors clipped to norm ${clip}` : "")
  );
}

/** One d_χ draw z (length dim) into out. */
export function sampleDchi(src: NoiseSource, dim: number, eta: number, out: Float64Array): void {
  sampleUnitVector(src, out);
  const r = sampleGamma(src, dim, 1 / eta);
  for (let i = 0; i < dim; i++) out[i]! *= r;
}

/**
 * Adds d_χ noise to every real token of `input`, with η given per token by etaAt(b, t)
 * (a constant for plain dchi; a table lookup for CTI). Optional clipping first scales each
 * vector to norm ≤ clip, bounding the sensitivity the budget refers to.
 */
export function addTokenNoise(
  input: PrivatizeInput,
  noise: NoiseSource,
  etaAt: (b: number, t: number) => number,
  clip?: number,
): Float32Array {
  const { hidden, batchSize: B, seqLen: T, dim: d, attentionMask } = input;
  const out = hidden.slice();
  const z = new Float64Array(d);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      if (!attentionMask[b * T + t]) continue;
      const off = (b * T + t) * d;
      if (clip !== undefined) {
        let n2 = 0;
        for (let i = 0; i < d; i++) n2 += out[off + i]! * out[off + i]!;
        const n = Math.sqrt(n2);
        if (n > clip) for (let i = 0; i < d; i++) out[off + i]! *= clip / n;
      }
      sampleDchi(noise, d, etaAt(b, t), z);
      for (let i = 0; i < d; i++) out[off + i]! += z[i]!;
    }
  return out;
}

export class DchiPrivatizer implements Privatizer {
  readonly name = "dchi";
  constructor(
    readonly eta: number,
    readonly clip?: number,
  ) {
    if (!(eta > 0)) throw new Error(`dchi: eta must be positive, got ${eta}`);
  }
  get params(): Record<string, number> {
    return this.clip !== undefined ? { eta: this.eta, clip: this.clip } : { eta: this.eta };
  }
  privatize(input: PrivatizeInput, noise: NoiseSource): Float32Array {
    return addTokenNoise(input, noise, () => this.eta, this.clip);
  }
  describe(): string {
    return `d_χ noise, η = ${this.eta}${this.clip !== undefined ? `, vectors clipped to norm ${this.clip}` : ""}`;
  }
  guarantee(at: CutStatistics): Guarantee {
    return {
      statement: dchiStatement(this.eta, this.eta, at.medianNearest, this.clip),
      expectedNoiseNorm: expectedNoiseNorm(this.eta, at.dim),
    };
  }
}

/** Clipping before d_χ noise (dchi and cti): bounds the sensitivity the budget refers to. */
export const NOISE_CLIP: ParamDecl = {
  name: "clip",
  type: "number",
  min: 0,
  minExclusive: true,
  flag: "noise-clip",
  help: "clip each vector to this norm before the noise (bounds the sensitivity)",
};

registerPrivatizer({
  name: "dchi",
  summary: "d_χ-privacy: z = r·u, u uniform on the sphere, r ~ Gamma(d, 1/η); E‖z‖ = d/η",
  params: [positiveBudget("eta", "η: the d_χ budget (larger, less noise)", [25, 50, 100, 200]), NOISE_CLIP],
  create: (p) => new DchiPrivatizer(p.eta as number, p.clip as number | undefined),
});
