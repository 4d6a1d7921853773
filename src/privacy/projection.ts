// Text-to-text privatization: each real token's word embedding gets d_χ noise and is replaced by
// the token whose embedding is nearest (L2), as in SANTEXT/CusText-style mechanisms. What leaves
// the customer is then an ordinary embedding of other tokens; meaningful at split k = 0.
import { native } from "../tensor/native.js";
import { sampleDchi } from "./dchi.js";
import type { NoiseSource } from "./noise.js";
import { positiveParam, registerPrivatizer, type PrivatizeInput, type Privatizer } from "./privatizer.js";

export interface VocabEmbeddings {
  data: Float32Array;
  rows: number;
  dim: number;
}

/** Nearest rows (L2) of `vocab` for each of the n query vectors, by chunked GEMM. */
export function nearestRows(queries: Float32Array, n: number, vocab: VocabEmbeddings, norms?: Float32Array): Int32Array {
  const { data: E, rows: V, dim: d } = vocab;
  const sq = norms ?? rowNorms(vocab);
  const out = new Int32Array(n);
  const chunk = Math.max(1, Math.floor((1 << 24) / V)); // ≤ 64 MiB of scores at a time
  const scores = new Float32Array(Math.min(n, chunk) * V);
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    // ‖q − e‖² = ‖q‖² − 2 q·e + ‖e‖²; ‖q‖² is constant per row, so argmin(‖e‖² − 2 q·e).
    native.gemm({ transB: true, M: m, N: V, K: d, alpha: -2, a: queries, aOff: s * d, lda: d, b: E, ldb: d, c: scores, ldc: V });
    for (let i = 0; i < m; i++) {
      let best = 0;
      let bestScore = Number.POSITIVE_INFINITY;
      const row = i * V;
      for (let v = 0; v < V; v++) {
        const sc = scores[row + v]! + sq[v]!;
        if (sc < bestScore) {
          bestScore = sc;
          best = v;
        }
      }
      out[s + i] = best;
    }
  }
  return out;
}

export function rowNorms(vocab: VocabEmbeddings): Float32Array {
  const { data: E, rows: V, dim: d } = vocab;
  const sq = new Float32Array(V);
  for (let v = 0; v < V; v++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += E[v * d + j]! * E[v * d + j]!;
    sq[v] = s;
  }
  return sq;
}

export class ProjectionPrivatizer implements Privatizer {
  readonly name = "projection";
  private readonly norms: Float32Array;
  constructor(
    readonly eta: number,
    readonly vocab: VocabEmbeddings,
    /** Ids never substituted or chosen ([CLS], [SEP], [PAD]): structure, not content. */
    readonly keepIds: ReadonlySet<number> = new Set(),
  ) {
    this.norms = rowNorms(vocab);
    // Special tokens are never the nearest neighbour of a content token.
    for (const id of keepIds) if (id >= 0 && id < vocab.rows) this.norms[id] = Number.POSITIVE_INFINITY;
  }
  get params(): Record<string, number> {
    return { eta: this.eta };
  }
  privatizeTokens(inputIds: Int32Array, attentionMask: Int32Array, noise: NoiseSource): Int32Array {
    const { data: E, dim: d } = this.vocab;
    const positions: number[] = [];
    for (let i = 0; i < inputIds.length; i++) if (attentionMask[i] && !this.keepIds.has(inputIds[i]!)) positions.push(i);
    const queries = new Float32Array(positions.length * d);
    const z = new Float64Array(d);
    positions.forEach((pos, i) => {
      const id = inputIds[pos]!;
      sampleDchi(noise, d, this.eta, z);
      for (let j = 0; j < d; j++) queries[i * d + j] = E[id * d + j]! + z[j]!;
    });
    const nearest = nearestRows(queries, positions.length, this.vocab, this.norms);
    const out = inputIds.slice();
    positions.forEach((pos, i) => (out[pos] = nearest[i]!));
    return out;
  }
  privatize(input: PrivatizeInput): Float32Array {
    return input.hidden.slice();
  }
  describe(): string {
    return `text-to-text: d_χ noise (η = ${this.eta}) on word embeddings, then the nearest vocabulary token`;
  }
}

registerPrivatizer(
  "projection",
  "d_χ noise on word embeddings, then the nearest vocabulary token (text-to-text; use at k = 0); param eta",
  (p, ctx) => {
    if (!ctx.vocabEmbeddings) throw new Error("privatizer projection needs the vocabulary embedding matrix of the model");
    return new ProjectionPrivatizer(positiveParam(p, "eta", "projection"), ctx.vocabEmbeddings, ctx.specialTokenIds);
  },
);
