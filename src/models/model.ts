// Running a SplittableModel (see types.ts): the additive mask, layers [from, to), every hidden
// state, the full forward pass, and the rows task heads read.
import type { Tensor } from "../tensor/index.js";
import type { EncoderBatch, LayerContext, SplittableModel } from "./types.js";

export type { EncoderBatch, LayerContext, SplittableModel } from "./types.js";

export function layerContext(batch: EncoderBatch): LayerContext {
  return { batch, mask: additiveMask(batch.attentionMask) };
}

/** torch.finfo(torch.float32).min: what Hugging Face adds to masked attention scores. */
export const MASK_MIN = -3.4028234663852886e38;

export function additiveMask(mask: Int32Array): Float32Array {
  return Float32Array.from(mask, (m) => (m ? 0 : MASK_MIN));
}

/** Runs layers [from, to) on a hidden state. */
export function runLayers(model: SplittableModel, hidden: Tensor, ctx: LayerContext, from: number, to: number): Tensor {
  let h = hidden;
  for (let i = from; i < to; i++) h = model.layer(i, h, ctx);
  return h;
}

/** Every hidden state: [embedding output, layer 1 output, ..., layer L output]. */
export function hiddenStates(model: SplittableModel, batch: EncoderBatch): Tensor[] {
  const ctx = layerContext(batch);
  const states = [model.embed(batch)];
  for (let i = 0; i < model.numLayers; i++) states.push(model.layer(i, states[i]!, ctx));
  return states;
}

/** Full forward pass to logits. */
export function classifyBatch(model: SplittableModel, batch: EncoderBatch): Tensor {
  const ctx = layerContext(batch);
  return model.classify(runLayers(model, model.embed(batch), ctx, 0, model.numLayers), batch);
}

/** Index (b * T + t) of each row's last real token: where GPT-2 style heads read. */
export function lastTokenRows(batch: EncoderBatch): number[] {
  const { batchSize: B, seqLen: T, attentionMask } = batch;
  return Array.from({ length: B }, (_, b) => {
    let last = 0;
    for (let t = 0; t < T; t++) if (attentionMask[b * T + t]) last = t;
    return b * T + last;
  });
}

export function firstTokenRows(batch: EncoderBatch): number[] {
  return Array.from({ length: batch.batchSize }, (_, b) => b * batch.seqLen);
}
