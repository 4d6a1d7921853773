// Prefix tuning in its deep-prompt form (P-tuning v2, Liu et al. 2022): before each top layer, n
// trainable vectors join the sequence (after the first token) so every token can attend to them;
// after the layer they are dropped, and the next layer gets its own.
import { ModuleList, init } from "../../tensor/index.js";
import { SoftTokens } from "../prompt/index.js";
import { insertSoftTokens, removeSoftTokens } from "../prompt/soft-tokens.js";
import { registerPeft } from "../registry.js";
import { headParams, numParam } from "../targets.js";
import type { PeftInstance, PeftMethod } from "../types.js";
import type { LayerContext } from "../../models/model.js";

export const prefix: PeftMethod = {
  name: "prefix",
  summary: "trainable per-layer prefix vectors in every top layer (tokens)",
  params: [
    { name: "tokens", type: "int", default: 10, min: 1, max: 512, flag: "prompt-tokens", help: "prefix vectors per top layer" },
  ],
  apply(model, split, params, rng): PeftInstance {
    const n = numParam(params, "tokens", 10, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
    const list = model.addModule("peft_prefix", new ModuleList<SoftTokens>());
    const byLayer = new Map<number, SoftTokens>();
    for (let i = split; i < model.numLayers; i++)
      byLayer.set(i, list.push(new SoftTokens(init.normal([n, model.config.hiddenSize], 0.02, rng))));
    const saved: LayerContext[] = [];
    return {
      method: "prefix",
      params: { tokens: n },
      trainable: () => headParams(model),
      hooks: {
        beforeLayer: (i, h, ctx) => {
          saved.push(ctx);
          return insertSoftTokens(h, byLayer.get(i)!.weight, ctx);
        },
        afterLayer: (_i, h) => removeSoftTokens(h, n, saved.pop()!),
      },
    };
  },
};

registerPeft(prefix);
