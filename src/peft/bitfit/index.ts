// BitFit (Ben Zaken et al. 2022): train only the bias terms of the top layers, plus the head.
import { registerPeft } from "../registry.js";
import { headParams, isTopLayerParam } from "../targets.js";
import type { PeftInstance, PeftMethod } from "../types.js";

export const bitfit: PeftMethod = {
  name: "bitfit",
  summary: "only the biases of the top layers (and the head) train",
  params: [],
  apply(model, split): PeftInstance {
    return {
      method: "bitfit",
      params: {},
      trainable: () => [
        ...model.namedParameters().filter(([n]) => n.endsWith(".bias") && isTopLayerParam(model, split, n)),
        ...headParams(model),
      ],
      hooks: {},
    };
  },
};

registerPeft(bitfit);
