// DistilBERT as Hugging Face defines it (DistilBertForSequenceClassification): no token types,
// no pooler; the head is pre_classifier + ReLU + classifier on the [CLS] position.
import { Dropout, LayerNorm, Linear, Module, Rng, Tensor, ops } from "../tensor/index.js";
import { BertEmbeddings } from "./bert.js";
import { FeedForward, LayerStack } from "./blocks.js";
import { firstTokenRows } from "./model.js";
import { SplitAdapter, type EmbeddingParts } from "./split-adapter.js";
import type { EncoderBatch, EncoderConfig } from "./types.js";

class DistilAttention extends Module {
  readonly q_lin: Linear;
  readonly k_lin: Linear;
  readonly v_lin: Linear;
  readonly out_lin: Linear;
  constructor(
    private readonly cfg: EncoderConfig,
    private readonly rng: Rng,
  ) {
    super();
    const h = cfg.hiddenSize;
    const o = { std: cfg.initializerRange };
    this.q_lin = this.child("q_lin", new Linear(h, h, rng, o));
    this.k_lin = this.child("k_lin", new Linear(h, h, rng, o));
    this.v_lin = this.child("v_lin", new Linear(h, h, rng, o));
    this.out_lin = this.child("out_lin", new Linear(h, h, rng, o));
  }
  forward(x: Tensor, mask: Float32Array): Tensor {
    const ctx = ops.attention(this.q_lin.forward(x), this.k_lin.forward(x), this.v_lin.forward(x), {
      heads: this.cfg.numHeads,
      mask,
      dropout: this.training ? this.cfg.attentionDropout : 0,
      rng: this.rng,
    });
    return this.out_lin.forward(ctx);
  }
}

export class DistilLayer extends Module {
  readonly attention: DistilAttention;
  readonly sa_layer_norm: LayerNorm;
  readonly ffn: FeedForward;
  readonly output_layer_norm: LayerNorm;
  constructor(cfg: EncoderConfig, rng: Rng) {
    super();
    const o = { std: cfg.initializerRange };
    this.attention = this.child("attention", new DistilAttention(cfg, rng));
    this.sa_layer_norm = this.child("sa_layer_norm", new LayerNorm(cfg.hiddenSize, 1e-12));
    const lin1 = new Linear(cfg.hiddenSize, cfg.intermediateSize, rng, o);
    const lin2 = new Linear(cfg.intermediateSize, cfg.hiddenSize, rng, o);
    this.ffn = this.child("ffn", new FeedForward(cfg, rng, ["lin1", lin1], ["lin2", lin2]));
    this.output_layer_norm = this.child("output_layer_norm", new LayerNorm(cfg.hiddenSize, 1e-12));
  }
  forward(x: Tensor, mask: Float32Array): Tensor {
    const sa = this.sa_layer_norm.forward(ops.add(this.attention.forward(x, mask), x));
    return this.output_layer_norm.forward(ops.add(this.ffn.forward(sa), sa));
  }
}

class DistilBertModel extends Module {
  readonly embeddings: BertEmbeddings;
  readonly transformer: LayerStack<DistilLayer>;
  constructor(cfg: EncoderConfig, rng: Rng) {
    super();
    this.embeddings = this.child("embeddings", new BertEmbeddings(cfg, rng, { tokenTypes: false }));
    this.transformer = this.child("transformer", new LayerStack(cfg.numLayers, () => new DistilLayer(cfg, rng)));
  }
}

export class DistilBertForSequenceClassification extends SplitAdapter {
  readonly distilbert: DistilBertModel;
  readonly pre_classifier: Linear;
  readonly classifier: Linear;
  readonly dropout: Dropout;
  readonly embeddingPrefix = "distilbert.embeddings.";
  protected readonly layerPath = "distilbert.transformer.layer";

  constructor(
    readonly config: EncoderConfig,
    rng: Rng,
  ) {
    super();
    const o = { std: config.initializerRange };
    this.distilbert = this.child("distilbert", new DistilBertModel(config, rng));
    this.pre_classifier = this.child("pre_classifier", new Linear(config.hiddenSize, config.hiddenSize, rng, o));
    this.classifier = this.child("classifier", new Linear(config.hiddenSize, config.numLabels, rng, o));
    this.dropout = this.child("dropout", new Dropout(config.classifierDropout, rng));
  }

  protected embeddingParts(): EmbeddingParts {
    return this.distilbert.embeddings.parts;
  }
  protected blocks(): DistilLayer[] {
    return this.distilbert.transformer.layer.items;
  }
  classify(hidden: Tensor, batch: EncoderBatch): Tensor {
    const first = ops.selectRows(hidden, firstTokenRows(batch));
    return this.classifier.forward(this.dropout.forward(ops.relu(this.pre_classifier.forward(first))));
  }
}
