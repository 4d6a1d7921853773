// The customer's side of Split-and-Privatize: tokenized examples -> batches -> bottom model
// (embeddings + layers 0..k-1) -> privatizer -> WireBatch. Token ids and text never leave it.
// Written once for the in-process run (`sap finetune`), the networked client and the attacks'
// simulations of the customer.
import type { Example } from "../data/index.js";
import { layerContext, type EncoderBatch, type SplittableModel } from "../models/index.js";
import type { Tokenizer } from "../models/tokenizers/index.js";
import { DEFAULT_LORA_TARGETS, LoraAdapter, bottomParams, findLinears } from "../peft/index.js";
import { createPrivatizer, type NoiseSource, type Privatizer } from "../privacy/index.js";
import { AdamW, Rng, Tensor, backward, clipGradNorm, noGrad } from "../tensor/index.js";
import type { MechanismSpec, WireBatch } from "../wire/index.js";

export interface Encoded {
  ids: Int32Array;
  typeIds: Int32Array;
  label: number;
}

export function encodeExamples(tok: Tokenizer, examples: Example[], maxLen: number): Encoded[] {
  return examples.map((e) => {
    const enc = tok.encode(e.text, e.textPair, { maxLength: maxLen, truncation: true });
    return { ids: Int32Array.from(enc.ids), typeIds: Int32Array.from(enc.typeIds), label: e.label };
  });
}

/** Pads a slice of encoded examples to its longest member. */
export function collate(items: Encoded[], padId: number): { batch: EncoderBatch; labels: Int32Array } {
  const B = items.length;
  const T = Math.max(...items.map((x) => x.ids.length));
  const inputIds = new Int32Array(B * T).fill(padId);
  const attentionMask = new Int32Array(B * T);
  const tokenTypeIds = new Int32Array(B * T);
  items.forEach((x, b) => {
    inputIds.set(x.ids, b * T);
    tokenTypeIds.set(x.typeIds, b * T);
    attentionMask.fill(1, b * T, b * T + x.ids.length);
  });
  return {
    batch: { batchSize: B, seqLen: T, inputIds, attentionMask, tokenTypeIds },
    labels: Int32Array.from(items, (x) => x.label),
  };
}

/** Builds the privatizer, giving mechanisms what they learn from (CTI: the training set). */
export function buildPrivatizer(
  spec: MechanismSpec,
  model: SplittableModel,
  tok: Tokenizer,
  train: Encoded[],
  numLabels: number,
): Privatizer {
  const embeddings = model.wordEmbeddings();
  return createPrivatizer(spec.name, spec.params, {
    trainingSet: {
      inputIds: train.map((x) => x.ids),
      labels: train.map((x) => x.label),
      numLabels,
      vocabSize: model.config.vocabSize,
    },
    vocabEmbeddings: { data: embeddings.data, rows: embeddings.shape[0]!, dim: embeddings.shape[1]! },
    specialTokenIds: new Set([tok.clsId, tok.sepId, tok.padId, tok.bosId, tok.eosId].filter((x): x is number => x !== undefined)),
  });
}

/** The customer's trainable bottom parameters for the U-shaped variant. */
export function prepareBottom(model: SplittableModel, split: number, kind: "lora" | "full", rng: Rng): Tensor[] {
  if (kind === "full") {
    const ps = bottomParams(model, split).map(([, t]) => t);
    for (const p of ps) p.requiresGrad = true;
    return ps;
  }
  if (split === 0) throw new Error("a bottom LoRA needs at least one bottom layer (--split >= 1)");
  const targets = DEFAULT_LORA_TARGETS[model.config.modelType]!;
  const out: Tensor[] = [];
  for (const [, lin] of findLinears(model, 0, split, targets)) {
    const a = new LoraAdapter(lin, { rank: 8, alpha: 16, dropout: 0 }, rng);
    lin.attachAdapter("lora", a);
    a.A.requiresGrad = true;
    a.B.requiresGrad = true;
    out.push(a.A, a.B);
  }
  return out;
}

export interface CustomerOptions {
  model: SplittableModel;
  split: number;
  privatizer: Privatizer;
  noise: NoiseSource;
  /** U-shaped variant: the bottom has trainable parameters (a customer-side LoRA). */
  trainBottom?: { params: Tensor[]; optimizer: AdamW; clip: number };
}

/**
 * After k >= 1 layers a padding position has attended to the real tokens, so its row is a function
 * of the text: it leaves as zeros (the vendor's top masks padding out, so nothing is lost).
 */
export function zeroPadding(hidden: Float32Array, mask: Int32Array, dim: number): void {
  for (let i = 0; i < mask.length; i++) if (!mask[i]) hidden.fill(0, i * dim, (i + 1) * dim);
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

  /** Bottom forward + privatization. Labels are attached for training (CTI uses them too); `noise` overrides the customer's source. */
  encode(batch: EncoderBatch, labels?: Int32Array, noise: NoiseSource = this.opts.noise): WireBatch {
    const { model, split, privatizer, trainBottom } = this.opts;
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
    zeroPadding(hidden, b.attentionMask, dim);
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
