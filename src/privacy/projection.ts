// Text-to-text privatization: each real token's word embedding gets d_χ noise and is replaced by
// the token whose embedding is nearest (L2), as in SANTEXT/CusText-style mechanisms. What leaves
// the customer is then an ordinary embedding of other tokens; meaningful at split k = 0.
import { Tensor, nearestRows, rowSquaredNorms } from "../tensor/index.js";
import { sampleDchi } from "./dchi.js";
import type { NoiseSource } from "./noise.js";
import { positiveBudget } from "../params/index.js";
import { registerPrivatizer, type Guarantee, type PrivatizeInput, type Privatizer } from "./privatizer.js";

export interface VocabEmbeddings {
  data: Float32Array;
  rows: number;
  dim: number;
}

export class ProjectionPrivatizer implements Privatizer {
  readonly name = "projection";
  private readonly rows: Tensor;
  // Squared row norms, computed once: the vocabulary does not change between batches.
  private readonly norms: Float32Array;
  constructor(
    readonly eta: number,
    readonly vocab: VocabEmbeddings,
    /** Ids never substituted or chosen ([CLS], [SEP], [PAD]): structure, not content. */
    readonly keepIds: ReadonlySet<number> = new Set(),
  ) {
    this.rows = new Tensor(vocab.data, [vocab.rows, vocab.dim]);
    this.norms = rowSquaredNorms(this.rows);
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
    // Special tokens are never the nearest neighbour of a content token.
    const { indices: nearest } = nearestRows(new Tensor(queries, [positions.length, d]), this.rows, {
      metric: "l2",
      rowNorms: this.norms,
      exclude: this.keepIds,
    });
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
  guarantee(): Guarantee {
    return {
      statement: `d_χ-privacy per token on word embeddings: ε(w, w′) = ${this.eta}·‖e(w) − e(w′)‖; what is sent is post-processing of the replaced tokens`,
    };
  }
}

registerPrivatizer({
  name: "projection",
  summary: "text-to-text: d_χ noise on word embeddings, then the nearest vocabulary token (use at k = 0)",
  params: [positiveBudget("eta", "η: the d_χ budget on word embeddings", [5, 10, 25, 50])],
  create: (p, ctx) => {
    if (!ctx.vocabEmbeddings) throw new Error("privatizer projection needs the vocabulary embedding matrix of the model");
    return new ProjectionPrivatizer(p.eta as number, ctx.vocabEmbeddings, ctx.specialTokenIds);
  },
});
