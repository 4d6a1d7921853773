// LoRA on the top layers' attention projections (peft's defaults: query and value), merge/unmerge.
import { DEFAULT_LORA_TARGETS, findLinears, headParams, isTopLayerParam, listParam, numParam } from "../targets.js";
import { registerPeft } from "../registry.js";
import type { PeftInstance, PeftMethod } from "../types.js";
import { LoraAdapter } from "./layer.js";

export { LoraAdapter, type LoraParams } from "./layer.js";

export const lora: PeftMethod = {
  name: "lora",
  summary: "low-rank updates B·A on chosen Linear layers (rank, alpha, dropout, targets)",
  params: [
    { name: "rank", type: "int", default: 8, min: 1, max: 1024, help: "rank r of the update B·A" },
    { name: "alpha", type: "number", default: 16, min: 0, minExclusive: true, help: "scaling α (the update is scaled by α/r)" },
    {
      name: "dropout",
      type: "number",
      default: 0.1,
      min: 0,
      max: 1,
      maxExclusive: true,
      flag: "lora-dropout",
      help: "dropout on the LoRA input",
    },
    {
      name: "targets",
      type: "list",
      help: "Linear layers to adapt, by name suffix (default: the architecture's query and value)",
    },
  ],
  apply(model, split, params, rng): PeftInstance {
    const rank = numParam(params, "rank", 8, (n) => Number.isInteger(n) && n >= 1, "a positive integer");
    const alpha = numParam(params, "alpha", 16, (n) => n > 0, "positive");
    const dropout = numParam(params, "dropout", 0.1, (n) => n >= 0 && n < 1, "in [0, 1)");
    const targets = listParam(params.targets, DEFAULT_LORA_TARGETS[model.config.modelType]!);
    const linears = findLinears(model, split, model.numLayers, targets);
    if (split < model.numLayers && !linears.length)
      throw new Error(`lora: no Linear layer matches targets ${targets.join(", ")} in the top layers`);
    const adapters: LoraAdapter[] = [];
    for (const [, lin] of linears) {
      const a = new LoraAdapter(lin, { rank, alpha, dropout }, rng);
      lin.attachAdapter("lora", a);
      adapters.push(a);
    }
    return {
      method: "lora",
      params: { rank, alpha, dropout, targets },
      // Top layers only: a U-shaped run's bottom LoRA is the customer's and never goes into the vendor's adapter.
      trainable: () => [
        ...model.namedParameters().filter(([n]) => /\.lora\.(A|B)$/.test(n) && isTopLayerParam(model, split, n)),
        ...headParams(model),
      ],
      hooks: {},
      merge: () => adapters.forEach((a) => a.merge()),
      unmerge: () => adapters.forEach((a) => a.unmerge()),
    };
  },
};

registerPeft(lora);
