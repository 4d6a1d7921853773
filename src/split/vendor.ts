// The vendor's side of Split-and-Privatize: WireBatch -> top model (layers k..L-1 + head, with a
// PEFT method) -> loss, update, logits. It sees only privatized representations, the padding mask
// and (in training) labels. Used by the in-process run and by the service's jobs.
import { layerContext, type EncoderBatch, type LayerContext, type SplittableModel } from "../models/index.js";
import { getPeft, type PeftInstance, type PeftParams, type TopHooks } from "../peft/index.js";
import { AdamW, Rng, Tensor, backward, clipGradNorm, noGrad, ops, type Module } from "../tensor/index.js";
import { checkWire, predictedClasses, type WireBatch } from "../wire/index.js";

/** Applies a PEFT method to the top and freezes everything else. */
export function preparePeft(
  model: SplittableModel,
  split: number,
  spec: { name: string; params: PeftParams },
  rng: Rng,
): PeftInstance {
  model.requiresGrad(false);
  const inst = getPeft(spec.name).apply(model, split, spec.params, rng);
  for (const [, t] of inst.trainable()) t.requiresGrad = true;
  return inst;
}

export interface VendorOptions {
  model: SplittableModel;
  split: number;
  peft: PeftInstance;
  /** Training only: a vendor that only predicts has none. */
  optimizer?: AdamW;
  clip?: number;
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

export class Vendor {
  readonly trainable: Tensor[];
  constructor(readonly opts: VendorOptions) {
    this.trainable = opts.peft.trainable().map(([, t]) => t);
  }

  get modules(): Module {
    return this.opts.model;
  }

  /** One optimisation step on a privatized batch at learning rate `lr`. Call inside tidy(). */
  trainStep(wire: WireBatch, lr: number): StepResult {
    const { model, split, peft, optimizer, clip, returnGradient } = this.opts;
    if (!optimizer) throw new Error("this vendor was built for inference (no optimizer); it cannot train");
    checkWire(wire, model.config.hiddenSize);
    if (!wire.labels) throw new Error("a training batch needs labels");
    optimizer.lr = lr;
    model.train();
    const x = new Tensor(wire.hidden, [wire.batchSize, wire.seqLen, wire.dim], returnGradient === true);
    const logits = topForward(model, split, peft.hooks, x, wire);
    const loss = ops.crossEntropy(logits, wire.labels);
    backward(loss);
    const gradNorm = clipGradNorm(this.trainable, clip ?? 1);
    optimizer.step();
    optimizer.zeroGrad();
    const pred = predictedClasses(logits.data, logits.shape[1]!);
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
