// Learned inversion with a small transformer decoder: like the per-token MLP (learned.ts) the
// vendor trains on public text passed through the bottom it shipped and the customer's privatizer,
// but the decoder reads the whole privatized sequence at once (self-attention over the positions)
// and predicts every token back. Context lets it denoise: a token whose own vector is swamped by
// d_χ noise can still be guessed from its neighbours, which a per-token classifier cannot do.
// Non-autoregressive (one pass, all positions), the form used against per-token split-learning
// representations; output classes are the frequent public tokens plus "other" (no guess).
import { BertLayer, type BertConfig } from "../models/bert.js";
import { additiveMask } from "../models/model.js";
import {
  AdamW,
  Dropout,
  Embedding,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  Rng,
  Tensor,
  backward,
  clipGradNorm,
  linearWarmupDecay,
  noGrad,
  ops,
  tidy,
} from "../tensor/index.js";
import type { WireBatch } from "../wire/index.js";
import type { AttackContext, InversionAttack } from "./attack.js";
import { frequentTokenClasses, guessesFromLogits, simulateCustomerBatches, type SimulatedBatch } from "./learned.js";

export interface DecoderOptions {
  hidden: number;
  layers: number;
  heads: number;
  epochs: number;
  maxClasses: number;
  lr: number;
  /** Sentences per training batch. */
  batchSize: number;
  /** Cap on public sentences used. */
  maxTexts: number;
}

export const DEFAULT_DECODER_OPTIONS: DecoderOptions = {
  hidden: 256,
  layers: 2,
  heads: 4,
  // 4 epochs at 1e-3 left it below the per-token MLP; 12 at 2e-3 beat it (experiments/privacy-mini-v2).
  epochs: 12,
  maxClasses: 5000,
  lr: 2e-3,
  batchSize: 32,
  maxTexts: 4000,
};

class InversionDecoder extends Module {
  readonly inNorm: LayerNorm;
  readonly inProj: Linear;
  readonly positions: Embedding;
  readonly embNorm: LayerNorm;
  readonly dropout: Dropout;
  readonly layers: ModuleList<BertLayer>;
  readonly out: Linear;

  constructor(dim: number, maxLen: number, classes: number, o: DecoderOptions, rng: Rng) {
    super();
    const cfg: BertConfig = {
      vocabSize: classes,
      hiddenSize: o.hidden,
      numLayers: o.layers,
      numHeads: o.heads,
      intermediateSize: 4 * o.hidden,
      hiddenAct: "gelu",
      maxPositions: maxLen,
      typeVocabSize: 1,
      layerNormEps: 1e-12,
      hiddenDropout: 0.1,
      attentionDropout: 0.1,
      padTokenId: 0,
      initializerRange: 0.02,
      numLabels: classes,
    };
    // The privatized vectors' scale depends on η (‖noise‖ ≈ d/η): normalise them first.
    this.inNorm = this.child("in_norm", new LayerNorm(dim, 1e-5));
    this.inProj = this.child("in_proj", new Linear(dim, o.hidden, rng, { std: 0.02 }));
    this.positions = this.child("positions", new Embedding(maxLen, o.hidden, rng, 0.02));
    this.embNorm = this.child("emb_norm", new LayerNorm(o.hidden, 1e-12));
    this.dropout = this.child("dropout", new Dropout(0.1, rng));
    this.layers = this.child("layers", new ModuleList<BertLayer>());
    for (let i = 0; i < o.layers; i++) this.layers.push(new BertLayer(cfg, rng));
    this.out = this.child("out", new Linear(o.hidden, classes, rng, { std: 0.02 }));
  }

  /** Logits [B*T, classes] for a wire batch. */
  forward(wire: WireBatch): Tensor {
    const { batchSize: B, seqLen: T, dim: d } = wire;
    if (T > this.positions.count)
      throw new Error(`transformer inversion: sequences of ${T} tokens exceed the ${this.positions.count} it was trained for`);
    const x = this.inProj.forward(this.inNorm.forward(new Tensor(wire.hidden, [B, T, d])));
    const pos = Int32Array.from({ length: B * T }, (_, i) => i % T);
    let h = this.dropout.forward(this.embNorm.forward(ops.add(x, this.positions.forward(pos, [B, T]))));
    const mask = additiveMask(wire.attentionMask);
    for (const layer of this.layers.items) h = layer.forward(h, mask);
    return ops.reshape(this.out.forward(h), [B * T, -1]);
  }
}

export class TransformerInversionAttack implements InversionAttack {
  readonly name = "transformer";
  private decoder: InversionDecoder | null = null;
  private classIds: number[] = [];
  private classOf = new Map<number, number>();

  constructor(readonly opts: DecoderOptions = DEFAULT_DECODER_OPTIONS) {}

  prepare(ctx: AttackContext, onProgress?: (done: number, total: number) => void): void {
    const texts = ctx.publicTexts.slice(0, this.opts.maxTexts);
    if (!texts.length) throw new Error("transformer inversion needs public texts to train on");
    const batches = simulateCustomerBatches(ctx, texts, this.opts.batchSize);
    const realIds = function* (): Generator<number> {
      for (const b of batches) for (let j = 0; j < b.inputIds.length; j++) if (b.wire.attentionMask[j]) yield b.inputIds[j]!;
    };
    ({ classIds: this.classIds, classOf: this.classOf } = frequentTokenClasses(realIds(), this.opts.maxClasses));
    const other = this.classIds.length;
    const rng = new Rng(ctx.seed);
    const dim = batches[0]!.wire.dim;
    const decoder = new InversionDecoder(dim, ctx.maxSeqLen, other + 1, this.opts, rng);
    const params = decoder.parameters();
    const opt = new AdamW(params, { lr: this.opts.lr, weightDecay: 0.01, noDecay: (p) => p.ndim < 2 });
    const total = batches.length * this.opts.epochs;
    const warmup = Math.ceil(total / 10);
    decoder.train();
    let step = 0;
    for (let e = 0; e < this.opts.epochs; e++) {
      for (const bi of rng.shuffle([...batches.keys()])) {
        const b: SimulatedBatch = batches[bi]!;
        const rows: number[] = [];
        const targets: number[] = [];
        for (let j = 0; j < b.inputIds.length; j++)
          if (b.wire.attentionMask[j]) {
            rows.push(j);
            targets.push(this.classOf.get(b.inputIds[j]!) ?? other);
          }
        opt.lr = this.opts.lr * linearWarmupDecay(step, warmup, total);
        tidy(() => {
          const logits = ops.selectRows(decoder.forward(b.wire), rows);
          backward(ops.crossEntropy(logits, Int32Array.from(targets)));
          clipGradNorm(params, 1);
          opt.step();
          opt.zeroGrad();
        });
        step++;
        onProgress?.(step, total);
      }
    }
    decoder.eval();
    this.decoder = decoder;
  }

  invert(wire: WireBatch): Int32Array {
    if (!this.decoder) throw new Error("transformer inversion: call prepare() first");
    const logits = tidy(() => noGrad(() => this.decoder!.forward(wire).data.slice()));
    return guessesFromLogits(logits, this.classIds, wire.attentionMask);
  }
}
