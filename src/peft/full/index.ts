// Full fine-tuning of the top (every parameter of layers split..L-1 and the head): the baseline.
import { registerPeft } from "../registry.js";
import { topParams } from "../targets.js";
import type { PeftInstance, PeftMethod } from "../types.js";

export const full: PeftMethod = {
  name: "full",
  summary: "every top parameter trains (baseline)",
  params: [],
  apply(model, split): PeftInstance {
    return { method: "full", params: {}, trainable: () => topParams(model, split), hooks: {} };
  },
};

registerPeft(full);
