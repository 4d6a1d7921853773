// Attribute inference: from what crosses the wire, predict a private attribute the task does not
// need (IMDB's 1–10 star rating when the task is positive/negative). The attacker pools each
// sentence's privatized token vectors (mean over real tokens) and trains an MLP on public
// examples whose attribute it knows, then predicts the customer's.
import { AdamW, Linear, Module, Rng, Tensor, backward, noGrad, ops, tidy } from "../tensor/index.js";
import { Customer, collate } from "../split/customer.js";
import type { AttackContext } from "./attack.js";

class AttributeMLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(d: number, classes: number, rng: Rng) {
    super();
    this.fc1 = this.child("fc1", new Linear(d, 128, rng));
    this.fc2 = this.child("fc2", new Linear(128, classes, rng));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(ops.relu(this.fc1.forward(x)));
  }
}

/** Mean privatized vector of each text's real tokens, [n, d]. */
export function pooledRepresentations(ctx: AttackContext, texts: string[]): { data: Float32Array; dim: number } {
  const customer = new Customer({ model: ctx.model, split: ctx.split, privatizer: ctx.privatizer, noise: ctx.noise });
  const rows: Float32Array[] = [];
  let dim = 0;
  for (let i = 0; i < texts.length; i += 32) {
    const items = texts.slice(i, i + 32).map((t) => {
      const e = ctx.tokenizer.encode(t, undefined, { maxLength: ctx.maxSeqLen, truncation: true });
      return { ids: Int32Array.from(e.ids), typeIds: Int32Array.from(e.typeIds), label: 0 };
    });
    const { batch } = collate(items, ctx.tokenizer.padId);
    const wire = tidy(() => customer.encode(batch));
    dim = wire.dim;
    for (let b = 0; b < batch.batchSize; b++) {
      const v = new Float32Array(dim);
      let n = 0;
      for (let t = 0; t < batch.seqLen; t++) {
        if (!batch.attentionMask[b * batch.seqLen + t]) continue;
        n++;
        const off = (b * batch.seqLen + t) * dim;
        for (let j = 0; j < dim; j++) v[j]! += wire.hidden[off + j]!;
      }
      for (let j = 0; j < dim; j++) v[j]! /= Math.max(1, n);
      rows.push(v);
    }
  }
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => data.set(r, i * dim));
  return { data, dim };
}

export interface AttributeResult {
  accuracy: number;
  /** Always guessing the most common public value. */
  majorityBaseline: number;
  classes: number;
  trainExamples: number;
  testExamples: number;
}

/** Trains on (publicTexts, publicAttr), reports accuracy on (privateTexts, privateAttr). */
export function attributeInference(
  ctx: AttackContext,
  publicTexts: string[],
  publicAttr: number[],
  privateTexts: string[],
  privateAttr: number[],
  epochs = 30,
): AttributeResult {
  const pub = pooledRepresentations(ctx, publicTexts);
  const priv = pooledRepresentations(ctx, privateTexts);
  return probeAttribute(pub, publicAttr, priv, privateAttr, { epochs, seed: ctx.seed });
}

/** An MLP probe trained on public features with known attribute values, scored on the private ones. */
export function probeAttribute(
  pub: { data: Float32Array; dim: number },
  publicAttr: number[],
  priv: { data: Float32Array; dim: number },
  privateAttr: number[],
  opts: { epochs: number; seed: number },
): AttributeResult {
  const { epochs } = opts;
  const values = [...new Set([...publicAttr, ...privateAttr])].sort((a, b) => a - b);
  const cls = new Map(values.map((v, i) => [v, i]));
  const d = pub.dim;
  // Standardise features with the public statistics (the attacker has nothing else).
  const mu = new Float32Array(d);
  const sd = new Float32Array(d);
  const n = publicAttr.length;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j]! += pub.data[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sd[j]! += (pub.data[i * d + j]! - mu[j]!) ** 2 / n;
  const norm = (x: Float32Array): Float32Array => Float32Array.from(x, (v, k) => (v - mu[k % d]!) / Math.sqrt(sd[k % d]! + 1e-6));
  const X = new Tensor(norm(pub.data), [n, d]);
  const y = Int32Array.from(publicAttr, (a) => cls.get(a)!);
  const rng = new Rng(opts.seed);
  const mlp = new AttributeMLP(d, values.length, rng);
  const opt = new AdamW(mlp.parameters(), { lr: 3e-3, weightDecay: 1e-4 });
  for (let e = 0; e < epochs; e++) {
    const order = rng.shuffle([...Array(n).keys()]);
    for (let s = 0; s < n; s += 64) {
      const idx = order.slice(s, s + 64);
      const xb = new Tensor(new Float32Array(idx.length * d), [idx.length, d]);
      idx.forEach((r, i) => xb.data.set(X.data.subarray(r * d, (r + 1) * d), i * d));
      tidy(() => {
        backward(
          ops.crossEntropy(
            mlp.forward(xb),
            Int32Array.from(idx, (r) => y[r]!),
          ),
        );
        opt.step();
        opt.zeroGrad();
      });
    }
  }
  const m = privateAttr.length;
  const logits = tidy(() => noGrad(() => mlp.forward(new Tensor(norm(priv.data), [m, d])).data.slice()));
  let correct = 0;
  const C = values.length;
  for (let i = 0; i < m; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[i * C + c]! > logits[i * C + best]!) best = c;
    correct += values[best] === privateAttr[i] ? 1 : 0;
  }
  const counts = new Map<number, number>();
  for (const a of publicAttr) counts.set(a, (counts.get(a) ?? 0) + 1);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return {
    accuracy: m ? correct / m : Number.NaN,
    majorityBaseline: m ? privateAttr.filter((a) => a === majority).length / m : Number.NaN,
    classes: C,
    trainExamples: n,
    testExamples: m,
  };
}
