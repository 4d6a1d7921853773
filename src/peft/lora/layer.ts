// LoRA (Hu et al. 2021): y = W x + b + (alpha / r) * B A dropout(x), with A [r, in] and B [out, r].
// B starts at zero so the adapted model starts equal to the base model.
import { Dropout, Module, Rng, init, ops, type Linear, type LinearAdapter, type Tensor } from "../../tensor/index.js";

export interface LoraParams {
  rank: number;
  alpha: number;
  dropout: number;
}

export class LoraAdapter extends Module implements LinearAdapter {
  readonly A: Tensor;
  readonly B: Tensor;
  readonly scaling: number;
  private readonly drop: Dropout;
  private readonly base: Linear;
  /** True while B·A is folded into the base weight (the adapter then adds nothing). */
  merged = false;

  constructor(base: Linear, params: LoraParams, rng: Rng) {
    super();
    if (!Number.isInteger(params.rank) || params.rank < 1)
      throw new Error(`LoRA rank must be a positive integer, got ${params.rank}`);
    this.scaling = params.alpha / params.rank;
    // peft's default: A ~ kaiming_uniform(a = sqrt(5)), B = 0.
    this.A = this.param("A", init.kaimingUniform([params.rank, base.inFeatures], base.inFeatures, rng));
    this.B = this.param("B", init.zeros([base.outFeatures, params.rank]));
    this.base = base;
    this.drop = this.child("dropout", new Dropout(params.dropout, rng));
  }

  apply(x: Tensor, y: Tensor): Tensor {
    if (this.merged) return y;
    const update = ops.linear(ops.linear(this.drop.forward(x), this.A), this.B);
    return ops.add(y, ops.scale(update, this.scaling));
  }

  /** W += scaling · B A (for inference without the extra products). */
  merge(): void {
    if (!this.merged) this.fold(1);
    this.merged = true;
  }

  /** Undoes merge(): W −= scaling · B A. */
  unmerge(): void {
    if (this.merged) this.fold(-1);
    this.merged = false;
  }

  private fold(sign: number): void {
    const { inFeatures: inF, outFeatures: outF, layout } = this.base;
    const r = this.A.shape[0]!;
    const W = this.base.weight.data;
    const A = this.A.data;
    const B = this.B.data;
    const s = sign * this.scaling;
    // delta[o][i] = Σ_j B[o][j] A[j][i]; stored [out, in] or, for Conv1D, [in, out].
    for (let o = 0; o < outF; o++)
      for (let i = 0; i < inF; i++) {
        let d = 0;
        for (let j = 0; j < r; j++) d += B[o * r + j]! * A[j * inF + i]!;
        W[layout === "out_in" ? o * inF + i : i * outF + o]! += s * d;
      }
  }
}
