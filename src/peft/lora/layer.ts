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

  constructor(base: Linear, params: LoraParams, rng: Rng) {
    super();
    if (!Number.isInteger(params.rank) || params.rank < 1)
      throw new Error(`LoRA rank must be a positive integer, got ${params.rank}`);
    this.scaling = params.alpha / params.rank;
    // peft's default: A ~ kaiming_uniform(a = sqrt(5)), B = 0.
    this.A = this.param("A", init.kaimingUniform([params.rank, base.inFeatures], base.inFeatures, rng));
    this.B = this.param("B", init.zeros([base.outFeatures, params.rank]));
    this.drop = this.child("dropout", new Dropout(params.dropout, rng));
  }

  apply(x: Tensor, y: Tensor): Tensor {
    const update = ops.linear(ops.linear(this.drop.forward(x), this.A), this.B);
    return ops.add(y, ops.scale(update, this.scaling));
  }
}
