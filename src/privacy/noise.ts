// Where privacy noise comes from. By default a CSPRNG (node:crypto, buffered); a seeded stream
// only when the caller asks for reproducible experiments — and the run's metadata says so.
import { randomBytes } from "node:crypto";
import { NormalSampler, Rng } from "../tensor/index.js";

export interface NoiseSource {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** "csprng" or "seeded:<seed>", recorded with results. */
  readonly description: string;
}

/** Uniform doubles from node:crypto (53 random bits each), refilled 64 KiB at a time. */
export class CryptoNoise implements NoiseSource {
  readonly description = "csprng";
  private buf = Buffer.alloc(0);
  private pos = 0;
  private readonly normals = new NormalSampler(() => this.uniform());

  uniform(): number {
    if (this.pos + 8 > this.buf.length) {
      this.buf = randomBytes(65536);
      this.pos = 0;
    }
    const hi = this.buf.readUInt32LE(this.pos) >>> 5;
    const lo = this.buf.readUInt32LE(this.pos + 4) >>> 6;
    this.pos += 8;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  normal(): number {
    return this.normals.next();
  }
}

/** A deterministic stream for reproducible experiments (NOT for deployment). */
export class SeededNoise implements NoiseSource {
  readonly description: string;
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
    this.description = `seeded:${seed}`;
  }
  uniform(): number {
    return this.rng.uniform();
  }
  normal(): number {
    return this.rng.normal();
  }
}

export function noiseSource(seed?: number): NoiseSource {
  return seed === undefined ? new CryptoNoise() : new SeededNoise(seed);
}

/** Gamma(shape k, scale θ) by Marsaglia & Tsang (2000); k < 1 via the boost k+1 then U^(1/k). */
export function sampleGamma(src: NoiseSource, shape: number, scale: number): number {
  if (!(shape > 0) || !(scale > 0)) throw new Error(`Gamma needs positive shape and scale, got ${shape}, ${scale}`);
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = src.uniform();
    return sampleGamma(src, shape + 1, scale) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = src.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = src.uniform();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
    if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
  }
}

/** A direction uniform on the unit sphere in R^d (normalised Gaussian), written into out. */
export function sampleUnitVector(src: NoiseSource, out: Float64Array): void {
  let n2 = 0;
  do {
    n2 = 0;
    for (let i = 0; i < out.length; i++) {
      const g = src.normal();
      out[i] = g;
      n2 += g * g;
    }
  } while (n2 === 0);
  const inv = 1 / Math.sqrt(n2);
  for (let i = 0; i < out.length; i++) out[i]! *= inv;
}
