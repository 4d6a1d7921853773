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

  /** Advances exactly as n calls of next() would, without the transcendental functions. */
  skip(n: number): void {
    while (n > 0) {
      if (this.spare !== null) {
        this.spare = null;
        n--;
      } else if (n >= 2) {
        let u = 0;
        while (u === 0) u = this.uniform();
        this.uniform();
        n -= 2;
      } else {
        this.next(); // the pair's second value is needed later: compute it for real
        n--;
      }
    }
  }

  copyStateFrom(other: NormalSampler): void {
    this.spare = other.spare;
  }

  /** The cached second value of a pair (part of the stream's position). */
  get pending(): number | null {
    return this.spare;
  }

  set pending(v: number | null) {
    this.spare = v;
  }
}

/** A generator's position in its stream, as plain JSON (saved in checkpoints so a resumed run draws what an uninterrupted one would). */
export interface RngState {
  s: [number, number, number, number];
  spare: number | null;
}

/** xoshiro128** seeded through splitmix32; period 2^128 - 1. */
export class Rng {
  // State in a typed array: uint32 values above 2^31 kept in object fields would be boxed on every
  // write (a heap allocation per draw); this made a draw ~4x slower.
  private readonly s = new Uint32Array(4);
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
    for (let i = 0; i < 4; i++) this.s[i] = next();
  }

  /** An independent generator at the same position of the stream. */
  clone(): Rng {
    const c = new Rng(0);
    c.s.set(this.s);
    c.normals.copyStateFrom(this.normals);
    return c;
  }

  /** Where the stream stands, to be restored with setState. */
  getState(): RngState {
    return { s: [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!], spare: this.normals.pending };
  }

  setState(st: RngState): void {
    if (!Array.isArray(st?.s) || st.s.length !== 4 || st.s.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff))
      throw new Error("generator state must hold four uint32 words");
    if (st.spare !== null && typeof st.spare !== "number") throw new Error("generator state: spare must be a number or null");
    this.s.set(st.s);
    this.normals.pending = st.spare;
  }

  /** Advances past n normal() draws. */
  skipNormals(n: number): void {
    this.normals.skip(n);
  }

  /** Advances past n uniform() draws. */
  skipUniforms(n: number): void {
    for (let i = 0; i < 2 * n; i++) this.nextU32();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const s0 = s[0]!;
    const s1 = s[1]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const s2 = s[2]! ^ s0;
    const s3 = s[3]! ^ s1;
    s[1] = s1 ^ s2;
    s[0] = s0 ^ s3;
    s[2] = s2 ^ t;
    s[3] = rotl(s3, 11);
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
  return (x << k) | (x >>> (32 - k));
}

// Deferred initialisation: a model about to be overwritten by a checkpoint need not draw its
// millions of initial values. Inside withDeferredInit, initialisers return zeros, advance the
// generator exactly as the real draws would (so every later draw is unchanged), and remember
// where the stream stood; materializeInit(t) then fills t with the values it would have had.
let deferring = 0;
const pendingInit = new WeakMap<Tensor, () => void>();

export function withDeferredInit<T>(fn: () => T): T {
  deferring++;
  try {
    return fn();
  } finally {
    deferring--;
  }
}

/** Gives a tensor made under withDeferredInit its initial values (no-op for any other tensor). */
export function materializeInit(t: Tensor): void {
  const fill = pendingInit.get(t);
  if (fill) {
    pendingInit.delete(t);
    fill();
  }
}

function fillNormal(d: Float32Array, std: number, mean: number, rng: Rng): void {
  for (let i = 0; i < d.length; i++) d[i] = mean + std * rng.normal();
}

function fillUniform(d: Float32Array, bound: number, rng: Rng): void {
  for (let i = 0; i < d.length; i++) d[i] = (2 * rng.uniform() - 1) * bound;
}

/** Parameter initialisers (the ones Hugging Face and torch.nn use). */
export const init = {
  normal(shape: Shape, std: number, rng: Rng, mean = 0): Tensor {
    const t = new Tensor(new Float32Array(sizeOf(shape)), shape, true);
    if (deferring) {
      const at = rng.clone();
      rng.skipNormals(t.size);
      pendingInit.set(t, () => fillNormal(t.data, std, mean, at));
    } else fillNormal(t.data, std, mean, rng);
    return t;
  },
  uniform(shape: Shape, bound: number, rng: Rng): Tensor {
    const t = new Tensor(new Float32Array(sizeOf(shape)), shape, true);
    if (deferring) {
      const at = rng.clone();
      rng.skipUniforms(t.size);
      pendingInit.set(t, () => fillUniform(t.data, bound, at));
    } else fillUniform(t.data, bound, rng);
    return t;
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
