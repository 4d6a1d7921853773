// What every architecture offers the split protocol: the embedding step, the layers one by one,
// and the task head, so that a model can be cut after any layer k (k = 0: after the embeddings)
// with hidden_states[k] being exactly what a bottom of k layers hands over.
import type { Module, Tensor } from "../tensor/index.js";
import type { EncoderBatch } from "./bert.js";
import type { EncoderConfig } from "./config.js";

export interface LayerContext {
  batch: EncoderBatch;
  /** Additive key mask [B, T] built once per batch. */
  mask: Float32Array;
}

export interface SplittableModel extends Module {
  readonly config: EncoderConfig;
  readonly numLayers: number;
  /** Checkpoint-name prefix of the embedding parameters ("bert.embeddings."). */
  readonly embeddingPrefix: string;
  /** Checkpoint-name prefix of layer i's parameters ("bert.encoder.layer.3."). */
  layerPrefix(i: number): string;
  embed(batch: EncoderBatch): Tensor;
  layer(i: number, hidden: Tensor, ctx: LayerContext): Tensor;
  /** Task logits [B, numLabels] from the last hidden state. */
  classify(hidden: Tensor, batch: EncoderBatch): Tensor;
  /**
   * The embedding output (hidden_states[0], eval mode) of every vocabulary token placed at
   * sequence index t of a right-padded batch, [V, d]: what an attacker who knows the bottom
   * compares k = 0 representations with.
   */
  embedCandidates(t: number): Float32Array;
  /** The embedding stage on given word vectors [B, T, d] (inversion by optimisation). */
  embedVectors(words: Tensor, batch: EncoderBatch): Tensor;
}

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
