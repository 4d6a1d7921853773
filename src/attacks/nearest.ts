// Nearest-neighbour embedding inversion: each received vector is mapped to the vocabulary token
// whose representation is closest. With candidates "bottom" the attacker uses what the shipped
// embedding layer produces for every token at that position (exact at k = 0); with "vocab" it
// compares against the raw word-embedding rows. Distance: L2 or cosine.
import { Tensor, nearestRows } from "../tensor/index.js";
import type { WireBatch } from "../wire/index.js";
import type { AttackContext, InversionAttack } from "./attack.js";

export interface NearestOptions {
  metric: "l2" | "cosine";
  candidates: "bottom" | "vocab";
}

function wordEmbeddings(ctx: AttackContext): { data: Float32Array; rows: number; dim: number } {
  const w = ctx.model.wordEmbeddings();
  return { data: w.data, rows: w.shape[0]!, dim: w.shape[1]! };
}

export class NearestNeighbourAttack implements InversionAttack {
  readonly name: string;
  constructor(readonly opts: NearestOptions = { metric: "l2", candidates: "bottom" }) {
    this.name = `nn-${opts.metric}${opts.candidates === "vocab" ? "-vocab" : ""}`;
  }

  invert(wire: WireBatch, ctx: AttackContext): Int32Array {
    const { batchSize: B, seqLen: T, dim: d, hidden, attentionMask } = wire;
    const guess = new Int32Array(B * T).fill(-1);
    const vocab = this.opts.candidates === "vocab" ? wordEmbeddings(ctx) : null;
    if (vocab && vocab.dim !== d)
      throw new Error(`nearest-neighbour attack: word embeddings have ${vocab.dim} dims, representations ${d}`);
    for (let t = 0; t < T; t++) {
      const rows: number[] = [];
      for (let b = 0; b < B; b++) if (attentionMask[b * T + t]) rows.push(b);
      if (!rows.length) continue;
      const q = new Float32Array(rows.length * d);
      rows.forEach((b, i) => q.set(hidden.subarray((b * T + t) * d, (b * T + t + 1) * d), i * d));
      const cand = vocab ? vocab.data : ctx.model.embedCandidates(t);
      const { indices: best } = nearestRows(new Tensor(q, [rows.length, d]), new Tensor(cand, [cand.length / d, d]), {
        metric: this.opts.metric,
      });
      rows.forEach((b, i) => (guess[b * T + t] = best[i]!));
    }
    return guess;
  }
}
