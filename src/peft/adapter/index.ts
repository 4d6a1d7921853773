// Bottleneck adapters (Houlsby et al. 2019): y + up(gelu(down(y))) after each attention output
// and FFN output projection of the top layers; `up` starts at zero so training starts from the
// base model.
import { Linear, Module, Rng, ops, type LinearAdapter, type Tensor } from "../../tensor/index.js";
import { registerPeft } from "../registry.js";
import { ADAPTER_TARGETS, findLinears, headParams, isTopLayerParam, listParam, numParam } from "../targets.js";
import type { PeftInstance, PeftMethod } from "../types.js";

export class BottleneckAdapter extends Module implements LinearAdapter {
  readonly down: Linear;
  readonly up: Linear;
  constructor(size: number, bottleneck: number, rng: Rng) {
    super();
    this.down = this.child("down", new Linear(size, bottleneck, rng, { std: 0.02 }));
    this.up = this.child("up", new Linear(bottleneck, size, rng, { std: 0.02 }));
    this.up.weight.data.fill(0);
  }
  apply(_x: Tensor, y: Tensor): Tensor {
    return ops.add(y, this.up.forward(ops.gelu(this.down.forward(y))));
  }
}

export const adapter: PeftMethod = {
  name: "adapter",
  summary: "bottleneck adapters after attention and FFN outputs (bottleneck size)",
  params: [
    { name: "bottleneck", type: "int", default: 64, min: 1, max: 4096, help: "bottleneck width of each adapter" },
    {
      name: "targets",
      type: "list",
      help: "Linear layers followed by an adapter, by name suffix (default: attention and FFN outputs)",
    },
  ],
  apply(model, split, params, rng): PeftInstance {
    const size = numParam(params, "bottleneck", 64, (n) => Number.isInteger(n) && n >= 1, "a positive integer");
    const targets = listParam(params.targets, ADAPTER_TARGETS[model.config.modelType]!);
    for (const [, lin] of findLinears(model, split, model.numLayers, targets))
      lin.attachAdapter("adapter", new BottleneckAdapter(lin.outFeatures, size, rng));
    return {
      method: "adapter",
      params: { bottleneck: size, targets },
      trainable: () => [
        ...model.namedParameters().filter(([n]) => n.includes(".adapter.") && isTopLayerParam(model, split, n)),
        ...headParams(model),
      ],
      hooks: {},
    };
  },
};

registerPeft(adapter);
