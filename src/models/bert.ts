// BERT as Hugging Face defines it (BertModel, BertForSequenceClassification, BertForMaskedLM),
// with the same parameter names so checkpoints map one-to-one. The encoder is exposed layer by
// layer so that the split protocol can cut it after any layer k.
import { Dropout, Embedding, LayerNorm, Linear, Module, Rng, Tensor, ops } from "../tensor/index.js";
import { LayerStack, activation } from "./blocks.js";
import { additiveMask, firstTokenRows } from "./model.js";
import { SplitAdapter, embedTokens, type EmbeddingParts } from "./split-adapter.js";
import type { BertConfig, EncoderBatch, EncoderConfig } from "./types.js";

export type { BertConfig, EncoderBatch } from "./types.js";
export { additiveMask };

export class BertSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;

  constructor(
    readonly cfg: BertConfig,
    private readonly rng: Rng,
  ) {
    super();
    const h = cfg.hiddenSize;
    const std = cfg.initializerRange;
    this.query = this.child("query", new Linear(h, h, rng, { std }));
    this.key = this.child("key", new Linear(h, h, rng, { std }));
    this.value = this.child("value", new Linear(h, h, rng, { std }));
  }

  forward(x: Tensor, mask: Float32Array | null): Tensor {
    const q = this.query.forward(x);
    const k = this.key.forward(x);
    const v = this.value.forward(x);
    const p = this.training ? this.cfg.attentionDropout : 0;
    return ops.attention(q, k, v, { heads: this.cfg.numHeads, mask, dropout: p, rng: this.rng });
  }
}

/** dense -> dropout -> LayerNorm(x + residual): BertSelfOutput and BertOutput alike. */
export class BertResidualOutput extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(cfg: BertConfig, inSize: number, rng: Rng) {
    super();
    this.dense = this.child("dense", new Linear(inSize, cfg.hiddenSize, rng, { std: cfg.initializerRange }));
    this.LayerNorm = this.child("LayerNorm", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
    this.dropout = this.child("dropout", new Dropout(cfg.hiddenDropout, rng));
  }

  forward(x: Tensor, residual: Tensor): Tensor {
    return this.LayerNorm.forward(ops.add(this.dropout.forward(this.dense.forward(x)), residual));
  }
}

class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;
  constructor(cfg: BertConfig, rng: Rng) {
    super();
    this.self = this.child("self", new BertSelfAttention(cfg, rng));
    this.output = this.child("output", new BertResidualOutput(cfg, cfg.hiddenSize, rng));
  }
}

class BertIntermediate extends Module {
  readonly dense: Linear;
  constructor(
    private readonly cfg: BertConfig,
    rng: Rng,
  ) {
    super();
    this.dense = this.child("dense", new Linear(cfg.hiddenSize, cfg.intermediateSize, rng, { std: cfg.initializerRange }));
  }
  forward(x: Tensor): Tensor {
    return activation(this.cfg.hiddenAct, this.dense.forward(x));
  }
}

export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;

  constructor(cfg: BertConfig, rng: Rng) {
    super();
    this.attention = this.child("attention", new BertAttention(cfg, rng));
    this.intermediate = this.child("intermediate", new BertIntermediate(cfg, rng));
    this.output = this.child("output", new BertResidualOutput(cfg, cfg.intermediateSize, rng));
  }

  /** x: [B, T, H]; mask: additive [B, T] or null. */
  forward(x: Tensor, mask: Float32Array | null): Tensor {
    const a = this.attention.output.forward(this.attention.self.forward(x, mask), x);
    return this.output.forward(this.intermediate.forward(a), a);
  }
}

export interface BertEmbeddingsOptions {
  /** DistilBERT has none. */
  tokenTypes?: boolean;
  /** RoBERTa's numbering of positions (EmbeddingParts.positionPaddingIdx). */
  roberta?: boolean;
}

/** BertEmbeddings, and DistilBERT's Embeddings (the same names without token types). */
export class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding | null;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(
    readonly cfg: BertConfig,
    rng: Rng,
    private readonly opts: BertEmbeddingsOptions = {},
  ) {
    super();
    const std = cfg.initializerRange;
    this.word_embeddings = this.child("word_embeddings", new Embedding(cfg.vocabSize, cfg.hiddenSize, rng, std));
    this.position_embeddings = this.child("position_embeddings", new Embedding(cfg.maxPositions, cfg.hiddenSize, rng, std));
    this.token_type_embeddings =
      opts.tokenTypes === false ? null : this.child("token_type_embeddings", new Embedding(cfg.typeVocabSize, cfg.hiddenSize, rng, std));
    this.LayerNorm = this.child("LayerNorm", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
    this.dropout = this.child("dropout", new Dropout(cfg.hiddenDropout, rng));
  }

  get parts(): EmbeddingParts {
    return {
      words: this.word_embeddings,
      positions: this.position_embeddings,
      tokenTypes: this.token_type_embeddings,
      norm: this.LayerNorm,
      dropout: this.dropout,
      positionPaddingIdx: this.opts.roberta ? this.cfg.padTokenId : null,
    };
  }

  forward(batch: EncoderBatch): Tensor {
    return embedTokens(this.parts, batch);
  }
}

export class BertPooler extends Module {
  readonly dense: Linear;
  constructor(cfg: BertConfig, rng: Rng) {
    super();
    this.dense = this.child("dense", new Linear(cfg.hiddenSize, cfg.hiddenSize, rng, { std: cfg.initializerRange }));
  }
  /** tanh(dense(first token)). */
  forward(hidden: Tensor): Tensor {
    const [B, T] = hidden.shape as [number, number, number];
    const first = ops.selectRows(hidden, Array.from({ length: B }, (_, b) => b * T));
    return ops.tanh(this.dense.forward(first));
  }
}

export class BertModel extends Module {
  readonly embeddings: BertEmbeddings;
  readonly encoder: LayerStack<BertLayer>;
  readonly pooler: BertPooler | null;

  constructor(
    readonly cfg: BertConfig,
    rng: Rng,
    opts: { pooler?: boolean; roberta?: boolean } = {},
  ) {
    super();
    this.embeddings = this.child("embeddings", new BertEmbeddings(cfg, rng, { roberta: opts.roberta }));
    this.encoder = this.child("encoder", new LayerStack(cfg.numLayers, () => new BertLayer(cfg, rng)));
    this.pooler = opts.pooler === false ? null : this.child("pooler", new BertPooler(cfg, rng));
  }

  get layers(): BertLayer[] {
    return this.encoder.layer.items;
  }

  /** All hidden states: [embedding output, layer 1 output, ..., layer L output]. */
  hiddenStates(batch: EncoderBatch): Tensor[] {
    const mask = additiveMask(batch.attentionMask);
    const states = [this.embeddings.forward(batch)];
    for (const layer of this.layers) states.push(layer.forward(states[states.length - 1]!, mask));
    return states;
  }
}

/** Shared by BERT and RoBERTa sequence classifiers: embeddings and layers of a BertModel. */
abstract class BertLikeClassifier extends SplitAdapter {
  protected abstract get base(): BertModel;
  protected abstract get baseName(): string;

  get embeddingPrefix(): string {
    return `${this.baseName}.embeddings.`;
  }
  protected get layerPath(): string {
    return `${this.baseName}.encoder.layer`;
  }
  protected embeddingParts(): EmbeddingParts {
    return this.base.embeddings.parts;
  }
  protected blocks(): BertLayer[] {
    return this.base.layers;
  }
}

export class BertForSequenceClassification extends BertLikeClassifier {
  readonly bert: BertModel;
  readonly dropout: Dropout;
  readonly classifier: Linear;

  constructor(
    readonly config: EncoderConfig,
    rng: Rng,
  ) {
    super();
    this.bert = this.child("bert", new BertModel(config, rng));
    this.dropout = this.child("dropout", new Dropout(config.classifierDropout, rng));
    this.classifier = this.child("classifier", new Linear(config.hiddenSize, config.numLabels, rng, { std: config.initializerRange }));
  }

  protected get base(): BertModel {
    return this.bert;
  }
  protected get baseName(): string {
    return "bert";
  }

  /** Pooled output: tanh(dense(hidden at [CLS])). */
  pool(hidden: Tensor): Tensor {
    return this.bert.pooler!.forward(hidden);
  }

  classify(hidden: Tensor): Tensor {
    return this.classifier.forward(this.dropout.forward(this.pool(hidden)));
  }
}

/** RobertaClassificationHead: dense + tanh + out_proj on the <s> token. */
class RobertaClassificationHead extends Module {
  readonly dense: Linear;
  readonly dropout: Dropout;
  readonly out_proj: Linear;
  constructor(cfg: EncoderConfig, rng: Rng) {
    super();
    this.dense = this.child("dense", new Linear(cfg.hiddenSize, cfg.hiddenSize, rng, { std: cfg.initializerRange }));
    this.dropout = this.child("dropout", new Dropout(cfg.classifierDropout, rng));
    this.out_proj = this.child("out_proj", new Linear(cfg.hiddenSize, cfg.numLabels, rng, { std: cfg.initializerRange }));
  }
  forward(first: Tensor): Tensor {
    const x = ops.tanh(this.dense.forward(this.dropout.forward(first)));
    return this.out_proj.forward(this.dropout.forward(x));
  }
}

export class RobertaForSequenceClassification extends BertLikeClassifier {
  readonly roberta: BertModel;
  readonly classifier: RobertaClassificationHead;

  constructor(
    readonly config: EncoderConfig,
    rng: Rng,
  ) {
    super();
    this.roberta = this.child("roberta", new BertModel(config, rng, { pooler: false, roberta: true }));
    this.classifier = this.child("classifier", new RobertaClassificationHead(config, rng));
  }

  protected get base(): BertModel {
    return this.roberta;
  }
  protected get baseName(): string {
    return "roberta";
  }

  classify(hidden: Tensor, batch: EncoderBatch): Tensor {
    return this.classifier.forward(ops.selectRows(hidden, firstTokenRows(batch)));
  }
}

/** BertLMPredictionHead: transform (dense, act, LayerNorm) then the tied decoder + bias. */
class BertPredictionTransform extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  constructor(
    private readonly cfg: EncoderConfig,
    rng: Rng,
  ) {
    super();
    this.dense = this.child("dense", new Linear(cfg.hiddenSize, cfg.hiddenSize, rng, { std: cfg.initializerRange }));
    this.LayerNorm = this.child("LayerNorm", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
  }
  forward(x: Tensor): Tensor {
    return this.LayerNorm.forward(activation(this.cfg.hiddenAct, this.dense.forward(x)));
  }
}

/** The MLM prediction head: a transform, then the tied decoder's bias over the vocabulary. */
class BertLMPredictions extends Module {
  readonly transform: BertPredictionTransform;
  readonly bias: Tensor;
  constructor(transform: BertPredictionTransform, vocabSize: number) {
    super();
    this.transform = this.child("transform", transform);
    this.bias = this.param("bias", Tensor.zeros([vocabSize]));
  }
}

class BertOnlyMLMHead extends Module {
  readonly predictions: BertLMPredictions;
  constructor(cfg: EncoderConfig, rng: Rng) {
    super();
    this.predictions = this.child("predictions", new BertLMPredictions(new BertPredictionTransform(cfg, rng), cfg.vocabSize));
  }
}

/**
 * BertForMaskedLM (decoder tied to the word embeddings, as Hugging Face ties it; the checkpoint
 * stores it once). Logits are computed only at the positions asked for: the vocabulary
 * projection is the most expensive matrix in a small model.
 */
export class BertForMaskedLM extends Module {
  readonly bert: BertModel;
  readonly cls: BertOnlyMLMHead;

  constructor(
    readonly config: EncoderConfig,
    rng: Rng,
  ) {
    super();
    this.bert = this.child("bert", new BertModel(config, rng, { pooler: false }));
    this.cls = this.child("cls", new BertOnlyMLMHead(config, rng));
  }

  /** Vocabulary logits [rows.length, V] at flat positions `rows` (b * T + t). */
  mlmLogits(batch: EncoderBatch, rows: number[]): Tensor {
    const states = this.bert.hiddenStates(batch);
    const h = ops.selectRows(states[states.length - 1]!, rows);
    const t = this.cls.predictions.transform.forward(h);
    return ops.linear(t, this.wordEmbeddings(), this.cls.predictions.bias);
  }

  wordEmbeddings(): Tensor {
    return this.bert.embeddings.word_embeddings.weight;
  }
}
