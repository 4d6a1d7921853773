// Padding-row inversion: after k >= 1 layers a padding position has attended to the real tokens,
// so a wire that carries padding rows as computed (wire format version 1, and dumps of it) leaks
// a text-dependent vector without noise. This probe reads the task label from the mean padding
// row of each received example. Against version 2 (padding sent as zeros) it can only guess the
// majority class — which is how the sweep shows that the format change holds.
import { layerContext } from "../models/index.js";
import { Customer, collate, encodeExamples } from "../split/customer.js";
import { noGrad, tidy } from "../tensor/index.js";
import type { WireBatch } from "../wire/index.js";
import type { AttackContext } from "./attack.js";
import { probeAttribute, type AttributeResult } from "./attribute.js";

/** Each example's mean padding row (zeros where it has none), [n, d]. */
export function paddingFeatures(wires: WireBatch[]): { data: Float32Array; dim: number } {
  const d = wires[0]?.dim ?? 0;
  const rows: Float32Array[] = [];
  for (const w of wires)
    for (let b = 0; b < w.batchSize; b++) {
      const f = new Float32Array(d);
      let pads = 0;
      for (let t = 0; t < w.seqLen; t++) {
        if (w.attentionMask[b * w.seqLen + t]) continue;
        pads++;
        for (let j = 0; j < d; j++) f[j]! += w.hidden[(b * w.seqLen + t) * d + j]!;
      }
      if (pads) for (let j = 0; j < d; j++) f[j]! /= pads;
      rows.push(f);
    }
  const data = new Float32Array(rows.length * d);
  rows.forEach((r, i) => data.set(r, i * d));
  return { data, dim: d };
}

/**
 * What the vendor receives for these texts, in batches of 32 (so shorter sentences are padded):
 * wire version 2 as the customer sends it, or version 1 (padding rows left as the bottom computed
 * them: the undefended format the probe is shown to work on).
 */
export function receivedBatches(ctx: AttackContext, texts: string[], version: 1 | 2): WireBatch[] {
  const customer = new Customer({ model: ctx.model, split: ctx.split, privatizer: ctx.privatizer, noise: ctx.noise });
  const items = encodeExamples(
    ctx.tokenizer,
    texts.map((text) => ({ text, label: 0 })),
    ctx.maxSeqLen,
  );
  const out: WireBatch[] = [];
  for (let i = 0; i < items.length; i += 32) {
    const { batch } = collate(items.slice(i, i + 32), ctx.tokenizer.padId);
    const wire = tidy(() => customer.encode(batch));
    if (version === 1) {
      // Version 1 put the bottom's own output at padding positions.
      const raw = tidy(() =>
        noGrad(() => {
          const lctx = layerContext(batch);
          let h = ctx.model.embed(batch);
          for (let l = 0; l < ctx.split; l++) h = ctx.model.layer(l, h, lctx);
          return h.data.slice();
        }),
      );
      for (let p = 0; p < batch.attentionMask.length; p++)
        if (!batch.attentionMask[p]) wire.hidden.set(raw.subarray(p * wire.dim, (p + 1) * wire.dim), p * wire.dim);
    }
    out.push(wire);
  }
  return out;
}

/** The label from padding rows: trained on public labelled texts, scored on the customer's. */
export function paddingProbe(
  ctx: AttackContext,
  pub: { texts: string[]; labels: number[] },
  priv: { texts: string[]; labels: number[] },
  opts: { version: 1 | 2; epochs: number },
): AttributeResult {
  return probeAttribute(
    paddingFeatures(receivedBatches(ctx, pub.texts, opts.version)),
    pub.labels,
    paddingFeatures(receivedBatches(ctx, priv.texts, opts.version)),
    priv.labels,
    { epochs: opts.epochs, seed: ctx.seed },
  );
}
