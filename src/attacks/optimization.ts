// Inversion by optimisation: the vendor knows the bottom's weights, so it searches for word
// vectors X whose bottom output matches what it received (gradient descent on the squared error
// over real tokens, from the mean word embedding), then reads each position's nearest vocabulary
// token (cosine). The strongest attacks on split language models work this way.
import { layerContext } from "../models/model.js";
import type { WireBatch } from "../wire/index.js";
import { AdamW, Tensor, backward, nearestRows, ops, tidy } from "../tensor/index.js";
import type { AttackContext, InversionAttack } from "./attack.js";

export interface OptimizationOptions {
  steps: number;
  lr: number;
}

export class OptimizationInversionAttack implements InversionAttack {
  readonly name = "optim";
  constructor(readonly opts: OptimizationOptions = { steps: 150, lr: 0.05 }) {}

  invert(wire: WireBatch, ctx: AttackContext): Int32Array {
    const { model, split } = ctx;
    const { batchSize: B, seqLen: T, dim: d, attentionMask } = wire;
    const W = model.wordEmbeddings();
    const V = W.shape[0]!;
    const batch = { batchSize: B, seqLen: T, inputIds: new Int32Array(0), attentionMask };
    const lctx = layerContext(batch);
    // Start every position at the mean word vector.
    const mean = new Float32Array(d);
    for (let v = 0; v < V; v++) for (let j = 0; j < d; j++) mean[j]! += W.data[v * d + j]! / V;
    const X = new Tensor(new Float32Array(B * T * d), [B, T, d], true);
    for (let i = 0; i < B * T; i++) X.data.set(mean, i * d);
    const target = new Tensor(wire.hidden, [B, T, d]);
    const weight = new Tensor(
      Float32Array.from({ length: B * T * d }, (_, i) => attentionMask[Math.floor(i / d)]!),
      [B, T, d],
    );
    const frozen = model.parameters().map((p) => [p, p.requiresGrad] as const);
    for (const [p] of frozen) p.requiresGrad = false;
    model.eval();
    const opt = new AdamW([X], { lr: this.opts.lr, weightDecay: 0 });
    try {
      for (let s = 0; s < this.opts.steps; s++) {
        tidy(() => {
          let h = model.embedVectors(X, batch);
          for (let i = 0; i < split; i++) h = model.layer(i, h, lctx);
          backward(ops.sum(ops.mul(ops.mul(ops.sub(h, target), ops.sub(h, target)), weight)));
          opt.step();
          opt.zeroGrad();
        });
      }
    } finally {
      for (const [p, r] of frozen) p.requiresGrad = r;
    }
    // Nearest word embedding by cosine, for every real position.
    const rows: number[] = [];
    for (let i = 0; i < B * T; i++) if (attentionMask[i]) rows.push(i);
    const q = new Float32Array(rows.length * d);
    rows.forEach((r, i) => q.set(X.data.subarray(r * d, (r + 1) * d), i * d));
    const { indices: best } = nearestRows(new Tensor(q, [rows.length, d]), W, { metric: "cosine" });
    const guess = new Int32Array(B * T).fill(-1);
    rows.forEach((r, i) => (guess[r] = best[i]!));
    return guess;
  }
}
