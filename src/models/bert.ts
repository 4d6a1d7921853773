// BERT as Hugging Face defines it (BertModel, BertForSequenceClassification, BertForMaskedLM),
// with the same parameter names so checkpoints map one-to-one. The encoder is exposed layer by
// layer so that the split protocol can cut it after any layer k.
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, Rng, Tensor, ops } from "../tensor/index.js";

export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  hiddenAct: "gelu" | "gelu_new" | "relu";
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  hiddenDropout: number;
  attentionDropout: number;
  padTokenId: number;
  initializerRange: number;
  numLabels: number;
}

/** A batch of token ids, row-major [B, T], with its mask (1 = real token, 0 = padding). */
export interface EncoderBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds?: Int32Array;
}

/** torch.finfo(torch.float32).min: what Hugging Face adds to masked attention scores. */
export const MASK_MIN = -3.4028234663852886e38;

export function additiveMask(mask: Int32Array): Float32Array {
  return Float32Array.from(mask, (m) => (m ? 0 : MASK_MIN));
}

export function activation(name: BertConfig["hiddenAct"], x: Tensor): Tensor {
  switch (name) {
    case "gelu":
      return ops.gelu(x);
    case "gelu_new":
      return ops.geluNew(x);
    case "relu":
      return ops.relu(x);
  }
}

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

export class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(
    readonly cfg: BertConfig,
    rng: Rng,
  ) {
    super();
    const std = cfg.initializerRange;
    this.word_embeddings = this.child("word_embeddings", new Embedding(cfg.vocabSize, cfg.hiddenSize, rng, std));
    this.position_embeddings = this.child("position_embeddings", new Embedding(cfg.maxPositions, cfg.hiddenSize, rng, std));
    this.token_type_embeddings = this.child("token_type_embeddings", new Embedding(cfg.typeVocabSize, cfg.hiddenSize, rng, std));
    this.LayerNorm = this.child("LayerNorm", new LayerNorm(cfg.hiddenSize, cfg.layerNormEps));
    this.dropout = this.child("dropout", new Dropout(cfg.hiddenDropout, rng));
  }

  /** Position ids; BERT counts 0..T-1 (RoBERTa overrides). */
  positionIds(batch: EncoderBatch): Int32Array {
    const { batchSize: B, seqLen: T } = batch;
    if (T > this.cfg.maxPositions) throw new Error(`sequence length ${T} exceeds the model's ${this.cfg.maxPositions} positions`);
    const pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) pos[b * T + t] = t;
    return pos;
  }

  forward(batch: EncoderBatch): Tensor {
    const shape = [batch.batchSize, batch.seqLen];
    const words = this.word_embeddings.forward(batch.inputIds, shape);
    const pos = this.position_embeddings.forward(this.positionIds(batch), shape);
    const types = this.token_type_embeddings.forward(batch.tokenTypeIds ?? new Int32Array(batch.inputIds.length), shape);
    return this.dropout.forward(this.LayerNorm.forward(ops.add(ops.add(words, types), pos)));
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

class BertEncoder extends Module {
  readonly layer: ModuleList<BertLayer>;
  constructor(cfg: BertConfig, rng: Rng) {
    super();
    this.layer = this.child("layer", new ModuleList<BertLayer>());
    for (let i = 0; i < cfg.numLayers; i++) this.layer.push(new BertLayer(cfg, rng));
  }
}

export class BertModel extends Module {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null;

  constructor(
    readonly cfg: BertConfig,
    rng: Rng,
    opts: { pooler?: boolean } = {},
  ) {
    super();
    this.embeddings = this.child("embeddings", new BertEmbeddings(cfg, rng));
    this.encoder = this.child("encoder", new BertEncoder(cfg, rng));
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

export class BertForSequenceClassification extends Module {
  readonly bert: BertModel;
  readonly dropout: Dropout;
  readonly classifier: Linear;

  constructor(
    readonly cfg: BertConfig,
    rng: Rng,
  ) {
    super();
    this.bert = this.child("bert", new BertModel(cfg, rng));
    this.dropout = this.child("dropout", new Dropout(cfg.hiddenDropout, rng));
    this.classifier = this.child("classifier", new Linear(cfg.hiddenSize, cfg.numLabels, rng, { std: cfg.initializerRange }));
  }

  /** Logits [B, numLabels] from the last hidden state. */
  head(hidden: Tensor): Tensor {
    return this.classifier.forward(this.dropout.forward(this.bert.pooler!.forward(hidden)));
  }

  forward(batch: EncoderBatch): { logits: Tensor; hiddenStates: Tensor[]; pooled: Tensor } {
    const hiddenStates = this.bert.hiddenStates(batch);
    const last = hiddenStates[hiddenStates.length - 1]!;
    const pooled = this.bert.pooler!.forward(last);
    const logits = this.classifier.forward(this.dropout.forward(pooled));
    return { logits, hiddenStates, pooled };
  }
}
