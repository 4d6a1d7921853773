// Basic layers with torch.nn's parameter names and default initialisation.
import { Module } from "./module.js";
import * as ops from "./ops.js";
import { Rng, init } from "./random.js";
import { Tensor } from "./tensor.js";

/** Something added to a Linear's output (LoRA and friends): y' = adapter(x, y). */
export interface LinearAdapter extends Module {
  apply(x: Tensor, y: Tensor): Tensor;
}

export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly adapters: LinearAdapter[] = [];
  /** "out_in": torch.nn.Linear's [out, in]; "in_out": GPT-2's Conv1D [in, out]. */
  readonly layout: "out_in" | "in_out";

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    opts: { bias?: boolean; std?: number; layout?: "out_in" | "in_out" } = {},
  ) {
    super();
    this.layout = opts.layout ?? "out_in";
    const shape = this.layout === "out_in" ? [outFeatures, inFeatures] : [inFeatures, outFeatures];
    // torch.nn.Linear defaults; models re-initialise with their own std (BERT: 0.02).
    this.weight = this.param(
      "weight",
      opts.std !== undefined ? init.normal(shape, opts.std, rng) : init.kaimingUniform(shape, inFeatures, rng),
    );
    this.bias =
      opts.bias === false
        ? null
        : this.param(
            "bias",
            opts.std !== undefined ? init.zeros([outFeatures]) : init.uniform([outFeatures], 1 / Math.sqrt(inFeatures), rng),
          );
  }

  forward(x: Tensor): Tensor {
    let y = ops.linear(x, this.weight, this.bias, this.layout);
    for (const a of this.adapters) y = a.apply(x, y);
    return y;
  }

  /** Registers an adapter as a child (its parameters become "<name>.<param>"). */
  attachAdapter(name: string, adapter: LinearAdapter): void {
    this.child(name, adapter);
    this.adapters.push(adapter);
  }

  /** Removes every adapter (the base layer again). */
  detachAdapters(): void {
    for (const [name, m] of this.namedChildren()) if (this.adapters.includes(m as LinearAdapter)) this.removeChild(name);
    this.adapters.length = 0;
  }
}

export class LayerNorm extends Module {
  weight: Tensor;
  bias: Tensor;

  constructor(
    readonly size: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.param("weight", init.ones([size]));
    this.bias = this.param("bias", init.zeros([size]));
  }

  forward(x: Tensor): Tensor {
    return ops.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class Embedding extends Module {
  weight: Tensor;

  constructor(
    readonly count: number,
    readonly dim: number,
    rng: Rng,
    std = 1,
  ) {
    super();
    this.weight = this.param("weight", init.normal([count, dim], std, rng));
  }

  forward(ids: Int32Array, shape: readonly number[]): Tensor {
    return ops.embedding(this.weight, ids, shape);
  }
}

/** Dropout that is active only in training mode. */
export class Dropout extends Module {
  constructor(
    readonly p: number,
    private readonly rng: Rng,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? ops.dropout(x, this.p, this.rng) : x;
  }
}
