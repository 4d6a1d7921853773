// Per-coordinate noise, for comparison with d_χ: Gaussian N(0, σ²) and Laplace(0, b) added to
// each coordinate of each real token's vector. `none` releases the representation unchanged.
import type { NoiseSource } from "./noise.js";
import { positiveParam, registerPrivatizer, type PrivatizeInput, type Privatizer } from "./privatizer.js";

function perCoordinate(input: PrivatizeInput, draw: () => number): Float32Array {
  const { hidden, batchSize: B, seqLen: T, dim: d, attentionMask } = input;
  const out = hidden.slice();
  for (let i = 0; i < B * T; i++) if (attentionMask[i]) for (let j = 0; j < d; j++) out[i * d + j]! += draw();
  return out;
}

export class GaussianPrivatizer implements Privatizer {
  readonly name = "gaussian";
  constructor(readonly sigma: number) {}
  get params(): Record<string, number> {
    return { sigma: this.sigma };
  }
  privatize(input: PrivatizeInput, noise: NoiseSource): Float32Array {
    return perCoordinate(input, () => this.sigma * noise.normal());
  }
  describe(): string {
    return `Gaussian noise per coordinate, σ = ${this.sigma}`;
  }
}

export class LaplacePrivatizer implements Privatizer {
  readonly name = "laplace";
  constructor(readonly b: number) {}
  get params(): Record<string, number> {
    return { b: this.b };
  }
  privatize(input: PrivatizeInput, noise: NoiseSource): Float32Array {
    // Inverse CDF: b · sign(u) · −ln(1 − 2|u|), u uniform in (−1/2, 1/2).
    return perCoordinate(input, () => {
      const u = noise.uniform() - 0.5;
      return -this.b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    });
  }
  describe(): string {
    return `Laplace noise per coordinate, b = ${this.b}`;
  }
}

export class NoPrivatizer implements Privatizer {
  readonly name = "none";
  readonly params = {};
  privatize(input: PrivatizeInput): Float32Array {
    return input.hidden.slice();
  }
  describe(): string {
    return "no privatization (representations sent as computed)";
  }
}

registerPrivatizer("none", "no noise (baseline)", () => new NoPrivatizer());
registerPrivatizer(
  "gaussian",
  "Gaussian N(0, sigma^2) per coordinate; param sigma",
  (p) => new GaussianPrivatizer(positiveParam(p, "sigma", "gaussian")),
);
registerPrivatizer(
  "laplace",
  "Laplace(0, b) per coordinate; param b",
  (p) => new LaplacePrivatizer(positiveParam(p, "b", "laplace")),
);
