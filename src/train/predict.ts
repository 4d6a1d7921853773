// `sap predict`: a tuned adapter applied to its base model, run through the same split path as in
// training: tokenize -> bottom -> privatizer (as the adapter was trained with) -> top -> labels.
import { isAbsolute, join } from "node:path";
import { loadClassifier } from "../models/checkpoint.js";
import { loadTokenizer } from "../models/tokenizers/index.js";
import { loadPeft, readAdapterConfig } from "../peft/index.js";
import { noiseSource } from "../privacy/index.js";
import { Customer, buildPrivatizer, collate, encodeExamples } from "../split/customer.js";
import { Vendor } from "../split/vendor.js";
import { tidy } from "../tensor/index.js";
import { toPredictions, type Prediction } from "../wire/index.js";

export type { Prediction };

export function predictTexts(
  modelDir: string,
  adapterDir: string,
  texts: string[],
  opts: { noiseSeed?: number; privatizer?: { name: string; params: Record<string, string | number | boolean> } } = {},
): Prediction[] {
  const cfg = readAdapterConfig(adapterDir);
  const tok = loadTokenizer(modelDir);
  const { model } = loadClassifier(modelDir, { labels: cfg.labels });
  const { instance } = loadPeft(adapterDir, model);
  const spec = opts.privatizer ?? cfg.privatizer ?? { name: "none", params: {} };
  const params = { ...spec.params } as Record<string, string | number | boolean>;
  if (typeof params.table === "string" && !isAbsolute(params.table)) params.table = join(adapterDir, params.table);
  const privatizer = buildPrivatizer({ name: spec.name, params }, model, tok, [], cfg.labels.length);
  const customer = new Customer({ model, split: cfg.split, privatizer, noise: noiseSource(opts.noiseSeed) });
  const vendor = new Vendor({ model, split: cfg.split, peft: instance });
  const items = encodeExamples(
    tok,
    texts.map((text) => ({ text, label: 0 })),
    cfg.maxSeqLen ?? 128,
  );
  const { batch } = collate(items, tok.padId);
  const logits = tidy(() => vendor.predict(customer.encode(batch)));
  return toPredictions(texts, logits, cfg.labels);
}
