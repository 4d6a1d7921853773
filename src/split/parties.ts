// The two sides of Split-and-Privatize, written once and used both in one process (`sap finetune`)
// and across the network (`sap serve` / `sap client`):
// - Customer: tokens -> bottom model (embeddings + layers 0..k-1) -> privatizer -> WireBatch.
//   Token ids and text never leave it.
// - Vendor: WireBatch -> top model (layers k..L-1 + head, with PEFT) -> loss, update, logits.
//   It sees only privatized representations, the padding mask and (in training) labels.
import { layerContext, type LayerContext, type SplittableModel } from "../models/model.js";
import type { EncoderBatch } from "../models/types.js";
import type { PeftInstance, TopHooks } from "../peft/types.js";
import type { NoiseSource } from "../privacy/noise.js";
import type { Privatizer } from "../privacy/privatizer.js";
import { AdamW, Tensor, backward, clipGradNorm, noGrad, ops, type Module } from "../tensor/index.js";

/** Exactly what crosses the wire for one batch. */
export interface WireBatch {
  batchSize: number;
  seqLen: number;
  dim: number;
  /** Privatized representations [B, T, d]. */
  hidden: Float32Array;
  /** 1 = real token, 0 = padding, [B, T]. */
  attentionMask: Int32Array;
  /** Training only. */
  labels?: Int32Array;
}

export interface CustomerOptions {
  model: SplittableModel;
  split: number;
  privatizer: Privatizer;
  noise: NoiseSource;
  /** U-shaped variant: the bottom has trainable parameters (a customer-side LoRA). */
  trainBottom?: { params: Tensor[]; optimizer: AdamW; clip: number };
}

export class Customer {
  private pending: Tensor | null = null;

  constructor(readonly opts: CustomerOptions) {
    const L = opts.model.numLayers;
    if (!Number.isInteger(opts.split) || opts.split < 0 || opts.split > L - 1)
      throw new Error(
        `split k = ${opts.split} is outside 0..${L - 1} for a model of ${L} layers (k = 0 cuts after the embeddings)`,
      );
  }

  /** Bottom forward + privatization. Labels are attached for training (CTI uses them too). */
  encode(batch: EncoderBatch, labels?: Int32Array): WireBatch {
    const { model, split, privatizer, noise, trainBottom } = this.opts;
    const ids = privatizer.privatizeTokens
      ? privatizer.privatizeTokens(batch.inputIds, batch.attentionMask, noise)
      : batch.inputIds;
    const b = { ...batch, inputIds: ids };
    const run = (): Tensor => {
      const ctx = layerContext(b);
      let h = model.embed(b);
      for (let i = 0; i < split; i++) h = model.layer(i, h, ctx);
      return h;
    };
    // A frozen bottom runs without dropout, whatever mode the (possibly shared) model is in: its
    // output then depends only on the weights, the batch and the privacy noise, so the split path
    // across processes (sap serve / sap client) reproduces the in-process run exactly.
    const frozen = (): Tensor => {
      const wasTraining = model.training;
      model.eval();
      try {
        return noGrad(run);
      } finally {
        if (wasTraining) model.train();
      }
    };
    // A trainable bottom (U-shaped) keeps its graph for the vendor's gradient — in training only:
    // inference (no labels) always runs frozen.
    const training = trainBottom !== undefined && labels !== undefined;
    if (training) model.train();
    const h = training ? run() : frozen();
    this.pending = training ? h : null;
    const dim = h.shape[2]!;
    const hidden = privatizer.privatize(
      { hidden: h.data, batchSize: b.batchSize, seqLen: b.seqLen, dim, attentionMask: b.attentionMask, inputIds: ids, labels },
      noise,
    );
    return { batchSize: b.batchSize, seqLen: b.seqLen, dim, hidden, attentionMask: b.attentionMask, labels };
  }

  /** U-shaped training: the vendor's gradient with respect to what it received. */
  backward(gradHidden: Float32Array): void {
    const tb = this.opts.trainBottom;
    if (!tb || !this.pending)
      throw new Error("customer: no pending bottom forward to differentiate (not U-shaped, or already done)");
    // Additive noise passes the gradient through unchanged (clipping's Jacobian is ignored).
    backward(this.pending, gradHidden);
    this.pending = null;
    clipGradNorm(tb.params, tb.clip);
    tb.optimizer.step();
    tb.optimizer.zeroGrad();
  }
}

export interface VendorOptions {
  model: SplittableModel;
  split: number;
  peft: PeftInstance;
  optimizer: AdamW;
  clip: number;
  /** Return d loss / d received representations (U-shaped variant). */
  returnGradient?: boolean;
}

export interface StepResult {
  loss: number;
  correct: number;
  count: number;
  gradNorm: number;
  gradHidden?: Float32Array;
}

/** Runs the top: hooks (soft prompts) around layers split..L-1, then the head. */
export function topForward(model: SplittableModel, split: number, hooks: TopHooks, x: Tensor, wire: WireBatch): Tensor {
  // The vendor never has token ids: the top's batch carries only sizes and the mask.
  const batch: EncoderBatch = {
    batchSize: wire.batchSize,
    seqLen: wire.seqLen,
    inputIds: new Int32Array(0),
    attentionMask: wire.attentionMask,
  };
  let ctx: LayerContext = layerContext(batch);
  let h = x;
  if (hooks.input) ({ h, ctx } = hooks.input(h, ctx));
  for (let i = split; i < model.numLayers; i++) {
    if (hooks.beforeLayer) ({ h, ctx } = hooks.beforeLayer(i, h, ctx));
    h = model.layer(i, h, ctx);
    if (hooks.afterLayer) ({ h, ctx } = hooks.afterLayer(i, h, ctx));
  }
  return model.classify(h, ctx.batch);
}

export function checkWire(wire: WireBatch, expectDim: number): void {
  const { batchSize: B, seqLen: T, dim } = wire;
  if (dim !== expectDim) throw new Error(`wire batch has representations of size ${dim}; the model expects ${expectDim}`);
  if (wire.hidden.length !== B * T * dim)
    throw new Error(`wire batch holds ${wire.hidden.length} values, expected B*T*d = ${B * T * dim}`);
  if (wire.attentionMask.length !== B * T)
    throw new Error(`wire batch mask has ${wire.attentionMask.length} entries, expected ${B * T}`);
  if (wire.labels && wire.labels.length !== B) throw new Error(`wire batch has ${wire.labels.length} labels for ${B} rows`);
}

function argmaxRows(logits: Tensor): Int32Array {
  const [B, C] = logits.shape as [number, number];
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits.data[b * C + c]! > logits.data[b * C + best]!) best = c;
    out[b] = best;
  }
  return out;
}

export class Vendor {
  readonly trainable: Tensor[];
  constructor(readonly opts: VendorOptions) {
    this.trainable = opts.peft.trainable().map(([, t]) => t);
  }

  get modules(): Module {
    return this.opts.model;
  }

  /** One optimisation step on a privatized batch. Call inside tidy(). */
  trainStep(wire: WireBatch): StepResult {
    const { model, split, peft, optimizer, clip, returnGradient } = this.opts;
    checkWire(wire, model.config.hiddenSize);
    if (!wire.labels) throw new Error("a training batch needs labels");
    model.train();
    const x = new Tensor(wire.hidden, [wire.batchSize, wire.seqLen, wire.dim], returnGradient === true);
    const logits = topForward(model, split, peft.hooks, x, wire);
    const loss = ops.crossEntropy(logits, wire.labels);
    backward(loss);
    const gradNorm = clipGradNorm(this.trainable, clip);
    optimizer.step();
    optimizer.zeroGrad();
    const pred = argmaxRows(logits);
    let correct = 0;
    for (let b = 0; b < wire.batchSize; b++) correct += pred[b] === wire.labels[b] ? 1 : 0;
    return {
      loss: loss.item(),
      correct,
      count: wire.batchSize,
      gradNorm,
      gradHidden: returnGradient ? (x.grad?.slice() ?? undefined) : undefined,
    };
  }

  /** Logits [B, C] for a privatized batch (evaluation and inference). Call inside tidy(). */
  predict(wire: WireBatch): Float32Array {
    const { model, split, peft } = this.opts;
    checkWire(wire, model.config.hiddenSize);
    model.eval();
    return noGrad(() =>
      topForward(model, split, peft.hooks, new Tensor(wire.hidden, [wire.batchSize, wire.seqLen, wire.dim]), wire),
    ).data.slice();
  }
}
