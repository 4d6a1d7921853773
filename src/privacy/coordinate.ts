// Per-coordinate noise, for comparison with d_χ: Gaussian N(0, σ²) and Laplace(0, b) added to
// each coordinate of each real token's vector. `none` releases the representation unchanged.
import type { NoiseSource } from "./noise.js";
import { registerPrivatizer, type PrivatizeInput, type Privatizer } from "./privatizer.js";

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

registerPrivatizer({
  name: "none",
  summary: "no noise (the baseline: representations sent as computed)",
  params: [],
  create: () => new NoPrivatizer(),
});
registerPrivatizer({
  name: "gaussian",
  summary: "Gaussian N(0, σ²) per coordinate",
  params: [
    {
      name: "sigma",
      type: "number",
      min: 0,
      minExclusive: true,
      required: true,
      budget: true,
      sweep: [0.25, 0.5, 1, 2],
      help: "σ: noise standard deviation per coordinate (larger, more noise)",
    },
  ],
  create: (p) => new GaussianPrivatizer(p.sigma as number),
});
registerPrivatizer({
  name: "laplace",
  summary: "Laplace(0, b) per coordinate",
  params: [
    {
      name: "b",
      type: "number",
      min: 0,
      minExclusive: true,
      required: true,
      budget: true,
      flag: "laplace-b",
      sweep: [0.25, 0.5, 1, 2],
      help: "b: Laplace scale per coordinate (larger, more noise)",
    },
  ],
  create: (p) => new LaplacePrivatizer(p.b as number),
});
