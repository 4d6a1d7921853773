// Per-coordinate noise, for comparison with d_χ: Gaussian N(0, σ²) and Laplace(0, b) added to
// each coordinate of each real token's vector. `none` releases the representation unchanged.
import { positiveBudget } from "../params/index.js";
import type { NoiseSource } from "./noise.js";
import { registerPrivatizer, type CutStatistics, type Guarantee, type PrivatizeInput, type Privatizer } from "./privatizer.js";

/** Adds draw() to every coordinate of every real token. */
class CoordinateNoise implements Privatizer {
  constructor(
    readonly name: string,
    private readonly param: string,
    private readonly symbol: string,
    readonly scale: number,
    /** One draw of unit scale. */
    private readonly draw: (noise: NoiseSource) => number,
  ) {}
  get params(): Record<string, number> {
    return { [this.param]: this.scale };
  }
  privatize(input: PrivatizeInput, noise: NoiseSource): Float32Array {
    const { hidden, batchSize: B, seqLen: T, dim: d, attentionMask } = input;
    const out = hidden.slice();
    for (let i = 0; i < B * T; i++)
      if (attentionMask[i]) for (let j = 0; j < d; j++) out[i * d + j]! += this.scale * this.draw(noise);
    return out;
  }
  describe(): string {
    return `${this.name === "gaussian" ? "Gaussian" : "Laplace"} noise per coordinate, ${this.symbol} = ${this.scale}`;
  }
  guarantee(at: CutStatistics): Guarantee {
    // No clipping bounds the sensitivity, so no (ε, δ) follows: the parameters and the noise size are what is promised.
    const perCoordinateSd = this.name === "gaussian" ? this.scale : Math.SQRT2 * this.scale;
    return {
      statement: `${this.describe()}, unclipped (no formal DP bound); per-coordinate standard deviation ${perCoordinateSd.toPrecision(3)}`,
      expectedNoiseNorm: perCoordinateSd * Math.sqrt(at.dim),
    };
  }
}

export class GaussianPrivatizer extends CoordinateNoise {
  constructor(readonly sigma: number) {
    super("gaussian", "sigma", "σ", sigma, (noise) => noise.normal());
  }
}

export class LaplacePrivatizer extends CoordinateNoise {
  constructor(readonly b: number) {
    // Inverse CDF: sign(u) · −ln(1 − 2|u|), u uniform in (−1/2, 1/2).
    super("laplace", "b", "b", b, (noise) => {
      const u = noise.uniform() - 0.5;
      return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    });
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
  guarantee(): Guarantee {
    return { statement: "none: representations are sent as computed; the vendor can invert them", expectedNoiseNorm: 0 };
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
  params: [positiveBudget("sigma", "σ: noise standard deviation per coordinate (larger, more noise)", [0.25, 0.5, 1, 2])],
  create: (p) => new GaussianPrivatizer(p.sigma as number),
});
registerPrivatizer({
  name: "laplace",
  summary: "Laplace(0, b) per coordinate",
  params: [positiveBudget("b", "b: Laplace scale per coordinate (larger, more noise)", [0.25, 0.5, 1, 2], "laplace-b")],
  create: (p) => new LaplacePrivatizer(p.b as number),
});
