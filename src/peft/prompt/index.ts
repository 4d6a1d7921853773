// Prompt tuning (Lester et al. 2021) on the vendor side: n trainable vectors inserted into the
// sequence that enters the top model (after the first token); only they and the head train.
import { Module, init, type Tensor } from "../../tensor/index.js";
import { registerPeft } from "../registry.js";
import { headParams, numParam } from "../targets.js";
import type { PeftInstance, PeftMethod } from "../types.js";
import { insertSoftTokens } from "./soft-tokens.js";

/** Holds soft-token vectors as a registered parameter ("<name>.weight"). */
export class SoftTokens extends Module {
  readonly weight: Tensor;
  constructor(weight: Tensor) {
    super();
    this.weight = this.param("weight", weight);
  }
}

export const prompt: PeftMethod = {
  name: "prompt",
  summary: "trainable soft-prompt vectors at the top's input (tokens)",
  params: [
    {
      name: "tokens",
      type: "int",
      default: 10,
      min: 1,
      max: 512,
      flag: "prompt-tokens",
      help: "soft-prompt vectors at the top's input",
    },
  ],
  apply(model, _split, params, rng): PeftInstance {
    const n = numParam(params, "tokens", 10, (x) => Number.isInteger(x) && x >= 1, "a positive integer");
    const p = model.addModule("peft_prompt", new SoftTokens(init.normal([n, model.config.hiddenSize], 0.02, rng))).weight;
    return {
      method: "prompt",
      params: { tokens: n },
      // headParams includes peft_prompt.weight: it sits outside the embeddings and layers.
      trainable: () => headParams(model),
      hooks: { input: (h, ctx) => insertSoftTokens(h, p, ctx) },
    };
  },
};

registerPeft(prompt);
