// Seeded pseudo-random numbers for initialisers, dropout and data shuffling: reproducible
// experiments. NOT for privacy noise — src/privacy draws that from node:crypto unless the user
// explicitly asks for a seeded stream.
import { Tensor, sizeOf, type Shape } from "./tensor.js";

/** Standard normals from any uniform source by Box–Muller, the second value of each pair cached. */
export class NormalSampler {
  private spare: number | null = null;
  constructor(private readonly uniform: () => number) {}

  next(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** xoshiro128** seeded through splitmix32; period 2^128 - 1. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private readonly normals = new NormalSampler(() => this.uniform());

  constructor(seed: number) {
    let x = seed >>> 0 || 0x9e3779b9;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 53 bits. */
  uniform(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    return this.normals.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A 53-bit seed for native kernels (dropout). */
  nextSeed(): number {
    return this.nextU32() * 2097152 + (this.nextU32() >>> 11);
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Parameter initialisers (the ones Hugging Face and torch.nn use). */
export const init = {
  normal(shape: Shape, std: number, rng: Rng, mean = 0): Tensor {
    const d = new Float32Array(sizeOf(shape));
    for (let i = 0; i < d.length; i++) d[i] = mean + std * rng.normal();
    return new Tensor(d, shape, true);
  },
  uniform(shape: Shape, bound: number, rng: Rng): Tensor {
    const d = new Float32Array(sizeOf(shape));
    for (let i = 0; i < d.length; i++) d[i] = (2 * rng.uniform() - 1) * bound;
    return new Tensor(d, shape, true);
  },
  /** torch.nn.Linear's default: kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
  kaimingUniform(shape: Shape, fanIn: number, rng: Rng): Tensor {
    return init.uniform(shape, 1 / Math.sqrt(fanIn), rng);
  },
  zeros(shape: Shape): Tensor {
    return Tensor.zeros(shape, true);
  },
  ones(shape: Shape): Tensor {
    return Tensor.full(shape, 1, true);
  },
};
