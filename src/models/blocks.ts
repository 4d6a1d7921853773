// Pieces more than one architecture is built from: the activation by config name, the layer list,
// and the position-wise feed-forward that DistilBERT and GPT-2 share (under their own names).
import { Dropout, Module, ModuleList, ops, type Linear, type Rng, type Tensor } from "../tensor/index.js";
import type { Activation, BertConfig } from "./types.js";

export function activation(name: Activation, x: Tensor): Tensor {
  switch (name) {
    case "gelu":
      return ops.gelu(x);
    case "gelu_new":
      return ops.geluNew(x);
    case "relu":
      return ops.relu(x);
  }
}

/** A projection and the checkpoint name it is stored under. */
export type NamedLinear = readonly [name: string, layer: Linear];

/** dropout(out(act(in(x)))): DistilBERT's ffn (lin1, lin2) and GPT-2's mlp (c_fc, c_proj). */
export class FeedForward extends Module {
  readonly in: Linear;
  readonly out: Linear;
  readonly dropout: Dropout;
  private readonly act: Activation;

  constructor(cfg: BertConfig, rng: Rng, inner: NamedLinear, outer: NamedLinear) {
    super();
    this.in = this.child(inner[0], inner[1]);
    this.out = this.child(outer[0], outer[1]);
    this.dropout = this.child("dropout", new Dropout(cfg.hiddenDropout, rng));
    this.act = cfg.hiddenAct;
  }

  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.out.forward(activation(this.act, this.in.forward(x))));
  }
}

/** The list of layers under one name (BERT's encoder.layer, DistilBERT's transformer.layer). */
export class LayerStack<L extends Module> extends Module {
  readonly layer: ModuleList<L>;
  constructor(count: number, make: () => L) {
    super();
    this.layer = this.child("layer", new ModuleList<L>());
    for (let i = 0; i < count; i++) this.layer.push(make());
  }
}
