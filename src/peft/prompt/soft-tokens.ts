// Inserting trainable vectors into a hidden sequence right after position 0 (so first-token heads
// still read [CLS]/<s>), and taking them out again; shared by prompt and prefix tuning.
import { additiveMask, type LayerContext } from "../../models/model.js";
import { Tensor, ops } from "../../tensor/index.js";

/** h [B, T, H] -> [B, T + n, H] with P [n, H] at positions 1..n of every row. */
export function insertSoftTokens(h: Tensor, p: Tensor, ctx: LayerContext): { h: Tensor; ctx: LayerContext } {
  const [B, T, H] = h.shape as [number, number, number];
  const n = p.shape[0]!;
  const prompts = ops.add(Tensor.zeros([B, n, H]), p);
  const out = ops.concat([ops.slice(h, 1, 0, 1), prompts, ops.slice(h, 1, 1, T)], 1);
  const m = new Int32Array(B * (T + n));
  const old = ctx.batch.attentionMask;
  for (let b = 0; b < B; b++) {
    m[b * (T + n)] = old[b * T]!;
    for (let j = 0; j < n; j++) m[b * (T + n) + 1 + j] = 1;
    for (let t = 1; t < T; t++) m[b * (T + n) + n + t] = old[b * T + t]!;
  }
  const batch = { ...ctx.batch, seqLen: T + n, attentionMask: m, inputIds: new Int32Array(0), tokenTypeIds: undefined };
  return { h: out, ctx: { batch, mask: additiveMask(m) } };
}

/** Undoes insertSoftTokens: drops positions 1..n. */
export function removeSoftTokens(h: Tensor, n: number, original: LayerContext): { h: Tensor; ctx: LayerContext } {
  const T = h.shape[1]!;
  return { h: ops.concat([ops.slice(h, 1, 0, 1), ops.slice(h, 1, 1 + n, T)], 1), ctx: original };
}
