// `sap predict`: a tuned adapter applied to its base model, run through the same split path as in
// training: tokenize -> bottom -> privatizer (as the adapter was trained with) -> top -> labels.
import { isAbsolute, join } from "node:path";
import { loadClassifier } from "../models/checkpoint.js";
import { loadTokenizer } from "../models/tokenizers/index.js";
import { loadPeft, readAdapterConfig } from "../peft/index.js";
import { noiseSource } from "../privacy/index.js";
import { Customer, Vendor } from "../split/parties.js";
import { AdamW, tidy } from "../tensor/index.js";
import { buildPrivatizer, collate } from "./finetune.js";

export interface Prediction {
  text: string;
  label: string;
  probabilities: Record<string, number>;
}

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
  const vendor = new Vendor({ model, split: cfg.split, peft: instance, optimizer: new AdamW([], { lr: 1 }), clip: 1 });
  const maxLen = cfg.maxSeqLen ?? 128;
  const items = texts.map((t) => {
    const e = tok.encode(t, undefined, { maxLength: maxLen, truncation: true });
    return { ids: Int32Array.from(e.ids), typeIds: Int32Array.from(e.typeIds), label: 0 };
  });
  const { batch } = collate(items, tok.padId);
  const logits = tidy(() => vendor.predict(customer.encode(batch)));
  const C = cfg.labels.length;
  return texts.map((text, b) => {
    const row = Array.from(logits.subarray(b * C, (b + 1) * C));
    const mx = Math.max(...row);
    const ex = row.map((v) => Math.exp(v - mx));
    const z = ex.reduce((a, c) => a + c, 0);
    const probs = Object.fromEntries(cfg.labels.map((l, i) => [l, ex[i]! / z]));
    const best = row.indexOf(mx);
    return { text, label: cfg.labels[best]!, probabilities: probs };
  });
}
