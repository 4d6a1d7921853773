// Learned inversion: the vendor passes public text through the bottom it shipped and through the
// customer's privatizer (same parameters), then trains a per-token classifier (MLP) to predict
// the token back from its privatized representation. Output classes: the most frequent tokens of
// the public data plus "other" (no guess).
import { Linear, Module, Rng, AdamW, backward, noGrad, ops, tidy, Tensor } from "../tensor/index.js";
import { Customer, collate } from "../split/customer.js";
import type { WireBatch } from "../wire/index.js";
import type { AttackContext, InversionAttack } from "./attack.js";

export interface LearnedOptions {
  hidden: number;
  epochs: number;
  maxClasses: number;
  lr: number;
  batchTokens: number;
  /** Cap on public sentences used. */
  maxTexts: number;
}

class InverterMLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(d: number, h: number, classes: number, rng: Rng) {
    super();
    this.fc1 = this.child("fc1", new Linear(d, h, rng));
    this.fc2 = this.child("fc2", new Linear(h, classes, rng));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(ops.gelu(this.fc1.forward(x)));
  }
}

/** One batch as the customer would send it, with the token ids the attacker wants back. */
export interface SimulatedBatch {
  wire: WireBatch;
  /** [B, T] token ids (padding included; `wire.attentionMask` says which are real). */
  inputIds: Int32Array;
}

/** Public texts through the customer's own pipeline (bottom + privatizer), batch by batch. */
export function simulateCustomerBatches(ctx: AttackContext, texts: string[], batchSize = 32): SimulatedBatch[] {
  const customer = new Customer({ model: ctx.model, split: ctx.split, privatizer: ctx.privatizer, noise: ctx.noise });
  const out: SimulatedBatch[] = [];
  for (let i = 0; i < texts.length; i += batchSize) {
    const items = texts.slice(i, i + batchSize).map((t) => {
      const e = ctx.tokenizer.encode(t, undefined, { maxLength: ctx.maxSeqLen, truncation: true });
      return { ids: Int32Array.from(e.ids), typeIds: Int32Array.from(e.typeIds), label: 0 };
    });
    const { batch } = collate(items, ctx.tokenizer.padId);
    const wire = tidy(() => {
      ctx.model.eval();
      return customer.encode(batch);
    });
    out.push({ wire, inputIds: batch.inputIds });
  }
  return out;
}

/** Privatized token vectors and their ids for texts (real tokens only, flattened). */
export function simulateCustomer(
  ctx: AttackContext,
  texts: string[],
  batchSize = 32,
): { vectors: Float32Array; ids: Int32Array; dim: number } {
  const vecs: Float32Array[] = [];
  const ids: number[] = [];
  let dim = 0;
  for (const { wire, inputIds } of simulateCustomerBatches(ctx, texts, batchSize)) {
    dim = wire.dim;
    for (let j = 0; j < wire.batchSize * wire.seqLen; j++) {
      if (!wire.attentionMask[j]) continue;
      vecs.push(wire.hidden.subarray(j * dim, (j + 1) * dim));
      ids.push(inputIds[j]!);
    }
  }
  const vectors = new Float32Array(vecs.length * dim);
  vecs.forEach((v, i) => vectors.set(v, i * dim));
  return { vectors, ids: Int32Array.from(ids), dim };
}

/** Per-token guesses from class logits [N, classes + 1]: the best class's token id, −1 for "other" or padding. */
export function guessesFromLogits(logits: Float32Array, classIds: number[], mask: Int32Array): Int32Array {
  const C = classIds.length + 1;
  const guess = new Int32Array(mask.length).fill(-1);
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[i * C + c]! > logits[i * C + best]!) best = c;
    guess[i] = best < classIds.length ? classIds[best]! : -1;
  }
  return guess;
}

/** The attacker's output classes: the most frequent public tokens; everything else is "other". */
export function frequentTokenClasses(
  ids: Iterable<number>,
  maxClasses: number,
): { classIds: number[]; classOf: Map<number, number> } {
  const freq = new Map<number, number>();
  for (const id of ids) freq.set(id, (freq.get(id) ?? 0) + 1);
  const classIds = [...freq.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, maxClasses)
    .map(([id]) => id);
  return { classIds, classOf: new Map(classIds.map((id, i) => [id, i])) };
}

export class LearnedInversionAttack implements InversionAttack {
  readonly name = "mlp";
  private mlp: InverterMLP | null = null;
  private classIds: number[] = [];
  private classOf = new Map<number, number>();

  constructor(
    readonly opts: LearnedOptions = { hidden: 512, epochs: 3, maxClasses: 5000, lr: 2e-3, batchTokens: 256, maxTexts: 4000 },
  ) {}

  prepare(ctx: AttackContext, onProgress?: (done: number, total: number) => void): void {
    const texts = ctx.publicTexts.slice(0, this.opts.maxTexts);
    if (!texts.length) throw new Error("learned inversion needs public texts to train on");
    const { vectors, ids, dim } = simulateCustomer(ctx, texts);
    ({ classIds: this.classIds, classOf: this.classOf } = frequentTokenClasses(ids, this.opts.maxClasses));
    const other = this.classIds.length;
    const targets = Int32Array.from(ids, (id) => this.classOf.get(id) ?? other);
    const rng = new Rng(ctx.seed);
    const mlp = new InverterMLP(dim, this.opts.hidden, other + 1, rng);
    const opt = new AdamW(mlp.parameters(), { lr: this.opts.lr, weightDecay: 0 });
    const n = ids.length;
    const steps = Math.ceil(n / this.opts.batchTokens) * this.opts.epochs;
    let step = 0;
    for (let e = 0; e < this.opts.epochs; e++) {
      const order = rng.shuffle([...Array(n).keys()]);
      for (let s = 0; s < n; s += this.opts.batchTokens) {
        const idx = order.slice(s, s + this.opts.batchTokens);
        const x = new Tensor(new Float32Array(idx.length * dim), [idx.length, dim]);
        idx.forEach((j, i) => x.data.set(vectors.subarray(j * dim, (j + 1) * dim), i * dim));
        const y = Int32Array.from(idx, (j) => targets[j]!);
        opt.lr = this.opts.lr * (1 - step / steps);
        tidy(() => {
          backward(ops.crossEntropy(mlp.forward(x), y));
          opt.step();
          opt.zeroGrad();
        });
        step++;
        onProgress?.(step, steps);
      }
    }
    this.mlp = mlp;
  }

  invert(wire: WireBatch): Int32Array {
    if (!this.mlp) throw new Error("learned inversion: call prepare() first");
    const { batchSize: B, seqLen: T, dim: d } = wire;
    const logits = tidy(() => noGrad(() => this.mlp!.forward(new Tensor(wire.hidden, [B * T, d])).data.slice()));
    return guessesFromLogits(logits, this.classIds, wire.attentionMask);
  }
}
