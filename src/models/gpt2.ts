// GPT-2 as Hugging Face defines it: Conv1D weights stored [in, out], pre-LayerNorm blocks,
// gelu_new, causal attention, lm_head tied to wte. For classification, a bias-free `score`
// layer reads the last real token (GPT2ForSequenceClassification).
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, Rng, Tensor, init, ops } from "../tensor/index.js";
import { FeedForward } from "./blocks.js";
import { lastTokenRows, layerContext, runLayers } from "./model.js";
import { SplitAdapter, type EmbeddingParts } from "./split-adapter.js";
import type { EncoderBatch, EncoderConfig } from "./types.js";

/** Hugging Face's Conv1D: y = x W + b with W [in, out] — a Linear with the other layout. */
export class Conv1D extends Linear {
  constructor(inF: number, outF: number, rng: Rng, std: number) {
    super(inF, outF, rng, { std, layout: "in_out" });
  }
}

/** GPT-2 initialises the projections into the residual stream with std / sqrt(2 * layers). */
function residualStd(cfg: EncoderConfig): number {
  return cfg.initializerRange / Math.sqrt(2 * cfg.numLayers);
}

class GPT2Attention extends Module {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  readonly resid_dropout: Dropout;
  constructor(
    private readonly cfg: EncoderConfig,
    private readonly rng: Rng,
  ) {
    super();
    const h = cfg.hiddenSize;
    this.c_attn = this.child("c_attn", new Conv1D(h, 3 * h, rng, cfg.initializerRange));
    this.c_proj = this.child("c_proj", new Conv1D(h, h, rng, residualStd(cfg)));
    this.resid_dropout = this.child("resid_dropout", new Dropout(cfg.hiddenDropout, rng));
  }
  forward(x: Tensor, mask: Float32Array): Tensor {
    const ctx = ops.attentionPacked(this.c_attn.forward(x), {
      heads: this.cfg.numHeads,
      mask,
      causal: true,
      dropout: this.training ? this.cfg.attentionDropout : 0,
      rng: this.rng,
    });
    return this.resid_dropout.forward(this.c_proj.forward(ctx));
  }
}

export class GPT2Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: GPT2Attention;
  readonly ln_2: LayerNorm;
  readonly mlp: FeedForward;
  constructor(cfg: EncoderConfig, rng: Rng) {
    super();
    this.ln_1 = this.child("ln_1", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
    this.attn = this.child("attn", new GPT2Attention(cfg, rng));
    this.ln_2 = this.child("ln_2", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
    const cFc = new Conv1D(cfg.hiddenSize, cfg.intermediateSize, rng, cfg.initializerRange);
    const cProj = new Conv1D(cfg.intermediateSize, cfg.hiddenSize, rng, residualStd(cfg));
    this.mlp = this.child("mlp", new FeedForward(cfg, rng, ["c_fc", cFc], ["c_proj", cProj]));
  }
  forward(x: Tensor, mask: Float32Array): Tensor {
    const a = ops.add(this.attn.forward(this.ln_1.forward(x), mask), x);
    return ops.add(this.mlp.forward(this.ln_2.forward(a)), a);
  }
}

export class GPT2Model extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly drop: Dropout;
  readonly h: ModuleList<GPT2Block>;
  readonly ln_f: LayerNorm;
  constructor(
    readonly cfg: EncoderConfig,
    rng: Rng,
  ) {
    super();
    this.wte = this.child("wte", new Embedding(cfg.vocabSize, cfg.hiddenSize, rng, cfg.initializerRange));
    this.wpe = this.child("wpe", new Embedding(cfg.maxPositions, cfg.hiddenSize, rng, cfg.initializerRange));
    this.drop = this.child("drop", new Dropout(cfg.hiddenDropout, rng));
    this.h = this.child("h", new ModuleList<GPT2Block>());
    for (let i = 0; i < cfg.numLayers; i++) this.h.push(new GPT2Block(cfg, rng));
    this.ln_f = this.child("ln_f", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
  }
  /** wte + wpe -> drop: no LayerNorm, no token types. */
  get embeddings(): EmbeddingParts {
    return { words: this.wte, positions: this.wpe, tokenTypes: null, norm: null, dropout: this.drop, positionPaddingIdx: null };
  }
}

abstract class GPT2Base extends SplitAdapter {
  abstract readonly transformer: GPT2Model;
  /** Both wte. and wpe. */
  readonly embeddingPrefix = "transformer.w";
  protected readonly layerPath = "transformer.h";
  protected embeddingParts(): EmbeddingParts {
    return this.transformer.embeddings;
  }
  protected blocks(): GPT2Block[] {
    return this.transformer.h.items;
  }
}

export class GPT2LMHeadModel extends GPT2Base {
  readonly transformer: GPT2Model;
  constructor(
    readonly config: EncoderConfig,
    rng: Rng,
  ) {
    super();
    this.transformer = this.child("transformer", new GPT2Model(config, rng));
  }

  /** Next-token logits [B, T, V] (lm_head tied to wte). */
  lmLogits(hidden: Tensor): Tensor {
    return ops.linear(this.transformer.ln_f.forward(hidden), this.wordEmbeddings());
  }

  /** Mean next-token cross-entropy over real (unpadded) positions. */
  lmLoss(batch: EncoderBatch): { loss: Tensor; logits: Tensor; lnF: Tensor } {
    const h = runLayers(this, this.embed(batch), layerContext(batch), 0, this.numLayers);
    const lnF = this.transformer.ln_f.forward(h);
    const logits = ops.linear(lnF, this.wordEmbeddings());
    const { batchSize: B, seqLen: T, inputIds, attentionMask } = batch;
    const targets = new Int32Array(B * T).fill(-100);
    for (let b = 0; b < B; b++)
      for (let t = 0; t + 1 < T; t++) if (attentionMask[b * T + t + 1]) targets[b * T + t] = inputIds[b * T + t + 1]!;
    const loss = ops.crossEntropy(ops.reshape(logits, [B * T, this.config.vocabSize]), targets);
    return { loss, logits, lnF };
  }

  classify(): Tensor {
    throw new Error("GPT2LMHeadModel has no classification head; load it as GPT2ForSequenceClassification");
  }
}

export class GPT2ForSequenceClassification extends GPT2Base {
  readonly transformer: GPT2Model;
  readonly score: Module & { weight: Tensor };
  constructor(
    readonly config: EncoderConfig,
    rng: Rng,
  ) {
    super();
    this.transformer = this.child("transformer", new GPT2Model(config, rng));
    const score = new ScoreHead(config, rng);
    this.score = this.child("score", score);
  }
  classify(hidden: Tensor, batch: EncoderBatch): Tensor {
    // ln_f is per token, so select the last real tokens first.
    const last = this.transformer.ln_f.forward(ops.selectRows(hidden, lastTokenRows(batch)));
    return ops.linear(last, this.score.weight);
  }
}

class ScoreHead extends Module {
  weight: Tensor;
  constructor(cfg: EncoderConfig, rng: Rng) {
    super();
    this.weight = this.param("weight", init.normal([cfg.numLabels, cfg.hiddenSize], cfg.initializerRange, rng));
  }
}
