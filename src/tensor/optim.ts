// AdamW (decoupled weight decay, as torch.optim.AdamW), gradient clipping and the linear
// warm-up/decay schedule that BERT fine-tuning uses.
import { native } from "./native.js";
import type { Tensor } from "./tensor.js";

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Parameters (by tensor) exempt from weight decay, e.g. biases and LayerNorm weights. */
  noDecay?: (p: Tensor) => boolean;
}

interface AdamState {
  m: Float32Array;
  v: Float32Array;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  stepCount = 0;
  private readonly state = new Map<Tensor, AdamState>();

  constructor(
    readonly params: Tensor[],
    private readonly opts: AdamWOptions,
  ) {
    if (!(opts.lr > 0)) throw new Error(`AdamW: learning rate must be positive, got ${opts.lr}`);
    this.lr = opts.lr;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
  }

  /** One update from the accumulated gradients; parameters without a gradient are skipped. */
  step(): void {
    this.stepCount++;
    const bc1 = 1 - this.beta1 ** this.stepCount;
    const bc2 = 1 - this.beta2 ** this.stepCount;
    for (const p of this.params) {
      if (!p.grad || !p.requiresGrad) continue;
      let s = this.state.get(p);
      if (!s) {
        s = { m: new Float32Array(p.size), v: new Float32Array(p.size) };
        this.state.set(p, s);
      }
      const wd = this.opts.noDecay?.(p) ? 0 : this.weightDecay;
      native.adamw({
        param: p.data,
        grad: p.grad,
        m: s.m,
        v: s.v,
        lr: this.lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: wd,
        biasCorrection1: bc1,
        biasCorrection2: bc2,
      });
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Moments by parameter name, for checkpoints. */
  exportState(names: Map<Tensor, string>): { step: number; moments: Map<string, AdamState> } {
    const moments = new Map<string, AdamState>();
    for (const [p, s] of this.state) {
      const n = names.get(p);
      if (n) moments.set(n, s);
    }
    return { step: this.stepCount, moments };
  }

  importState(step: number, moments: Map<string, AdamState>, byName: Map<string, Tensor>): void {
    this.stepCount = step;
    for (const [n, s] of moments) {
      const p = byName.get(n);
      if (!p) continue;
      if (s.m.length !== p.size || s.v.length !== p.size)
        throw new Error(`optimizer state for ${n} does not match the parameter size`);
      this.state.set(p, s);
    }
  }
}

/** Scales gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  let sq = 0;
  for (const p of params) if (p.grad) sq += native.sumSquares(p.grad);
  const norm = Math.sqrt(sq);
  if (Number.isFinite(norm) && norm > maxNorm) {
    const f = maxNorm / (norm + 1e-6);
    for (const p of params) if (p.grad) native.scale(p.grad, f, p.grad);
  }
  return norm;
}

/**
 * LR multiplier at `step` (0-based): linear warm-up from 0 to 1 over `warmup` steps, then linear
 * decay to 0 at `total` — Hugging Face's get_linear_schedule_with_warmup.
 */
export function linearWarmupDecay(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}

/** True when every gradient is finite (NaN/Inf detection before an update). */
export function gradsAreFinite(params: Tensor[]): boolean {
  return params.every((p) => !p.grad || native.countNonFinite(p.grad) === 0);
}
