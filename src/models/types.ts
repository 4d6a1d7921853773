// The model types the rest of the code base shares: batches, configs and the split interface.
// Types only (no implementation imported), so that split/, peft/, train/ and every architecture
// can depend on them without depending on one another.
import type { Module, Tensor } from "../tensor/index.js";

export type Activation = "gelu" | "gelu_new" | "relu";

/** The dimensions and hyper-parameters every architecture is built from. */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  hiddenAct: Activation;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  hiddenDropout: number;
  attentionDropout: number;
  padTokenId: number;
  initializerRange: number;
  numLabels: number;
}

export type ModelType = "bert" | "roberta" | "distilbert" | "gpt2";

export interface EncoderConfig extends BertConfig {
  modelType: ModelType;
  /** DistilBERT's classifier dropout; BERT/RoBERTa use classifier_dropout or hidden dropout. */
  classifierDropout: number;
  labels: string[];
  /** The raw config.json, written back unchanged (with our edits) on save. */
  raw: Record<string, unknown>;
}

/** A batch of token ids, row-major [B, T], with its mask (1 = real token, 0 = padding). */
export interface EncoderBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds?: Int32Array;
}

export interface LayerContext {
  batch: EncoderBatch;
  /** Additive key mask [B, T] built once per batch. */
  mask: Float32Array;
}

/**
 * What every architecture offers the split protocol: the embedding step, the layers one by one,
 * and the task head, so that a model can be cut after any layer k (k = 0: after the embeddings)
 * with hidden_states[k] being exactly what a bottom of k layers hands over.
 */
export interface SplittableModel extends Module {
  readonly config: EncoderConfig;
  readonly numLayers: number;
  /** Checkpoint-name prefix of the embedding parameters ("bert.embeddings."). */
  readonly embeddingPrefix: string;
  /** Checkpoint-name prefix of layer i's parameters ("bert.encoder.layer.3."). */
  layerPrefix(i: number): string;
  /** The word-embedding matrix [V, d] (word_embeddings / wte): what inversion attacks and projection privatizers compare with. */
  wordEmbeddings(): Tensor;
  embed(batch: EncoderBatch): Tensor;
  layer(i: number, hidden: Tensor, ctx: LayerContext): Tensor;
  /** Task logits [B, numLabels] from the last hidden state. */
  classify(hidden: Tensor, batch: EncoderBatch): Tensor;
  /**
   * The embedding output (hidden_states[0], eval mode) of every vocabulary token placed at
   * sequence index t of a right-padded batch, [V, d]: what an attacker who knows the bottom
   * compares k = 0 representations with.
   */
  embedCandidates(t: number): Float32Array;
  /** The embedding stage on given word vectors [B, T, d] (inversion by optimisation). */
  embedVectors(words: Tensor, batch: EncoderBatch): Tensor;
}
