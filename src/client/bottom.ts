// The customer's copy of the model: a bottom bundle from the vendor (config, embeddings, layers
// 0..k-1, tokenizer) loaded into a model whose top is never used (so never initialised: zeros).
import { createModel, readConfig, readWeights, CheckpointError } from "../models/checkpoint.js";
import type { SplittableModel } from "../models/model.js";
import { bottomParams } from "../peft/index.js";
import { Rng, withDeferredInit } from "../tensor/index.js";
import { join } from "node:path";
import { loadTokenizer, type Tokenizer } from "../models/tokenizers/index.js";
import { noiseSource, type NoiseSource, type Privatizer } from "../privacy/index.js";
import { Customer, buildPrivatizer, encodeExamples, type Encoded } from "../split/customer.js";
import type { TrainingSpec } from "../split/spec.js";
import type { SapClient } from "./sdk.js";

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

/** Everything the customer runs locally for a job: the vendor's bottom, the tokenizer, the encoded data, the mechanism. */
export async function customerSide(
  client: SapClient,
  opts: Pick<TrainingSpec, "dataset" | "split" | "maxSeqLen" | "privatizer" | "noiseSeed"> & { model: string; cacheDir: string },
): Promise<{
  model: SplittableModel;
  tok: Tokenizer;
  train: Encoded[];
  dev: Encoded[];
  privatizer: Privatizer;
  noise: NoiseSource;
  customer: Customer;
}> {
  const { dataset } = opts;
  const bottomDir = join(opts.cacheDir, opts.model, `k${opts.split}`);
  await client.downloadBottom(opts.model, opts.split, bottomDir);
  const model = loadBottom(bottomDir, opts.split);
  const tok = loadTokenizer(bottomDir);
  const train = encodeExamples(tok, dataset.train, opts.maxSeqLen);
  const dev = encodeExamples(tok, dataset.dev, opts.maxSeqLen);
  if (!train.length) throw new Error(`dataset ${dataset.name} has no training examples`);
  const privatizer = buildPrivatizer(opts.privatizer, model, tok, train, dataset.labels.length);
  const noise = noiseSource(opts.noiseSeed);
  const customer = new Customer({ model, split: opts.split, privatizer, noise });
  return { model, tok, train, dev, privatizer, noise, customer };
}
