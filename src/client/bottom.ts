// The customer's copy of the model: a bottom bundle from the vendor (config, embeddings, layers
// 0..k-1, tokenizer) loaded into a model whose top is never used (so never initialised: zeros).
import { createModel, readConfig, readWeights, CheckpointError } from "../models/checkpoint.js";
import type { SplittableModel } from "../models/model.js";
import { bottomParams } from "../peft/index.js";
import { Rng, withDeferredInit } from "../tensor/index.js";

export function loadBottom(dir: string, split: number): SplittableModel {
  const config = readConfig(dir);
  const model = withDeferredInit(() => createModel(config, "classification", new Rng(0))) as SplittableModel;
  const { tensors } = readWeights(dir);
  for (const [name, p] of bottomParams(model, split)) {
    const t = tensors.get(name);
    if (!t) throw new CheckpointError(`${dir}: the bottom bundle lacks ${name} (was it cut at a smaller split than ${split}?)`);
    if (t.data.length !== p.size)
      throw new CheckpointError(`${dir}: ${name} has ${t.data.length} values, the model expects ${p.size}`);
    p.data.set(t.data);
  }
  model.requiresGrad(false);
  model.eval();
  return model;
}
