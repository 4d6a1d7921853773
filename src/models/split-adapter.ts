// The split interface (SplittableModel) written once. An architecture says what its embedding
// stage is made of, which modules are its layers and where they sit in the checkpoint, and what
// its head does; embed, embedVectors, embedCandidates and layer follow from that, so that the
// vendor's and the attacker's view of the embeddings cannot drift apart between architectures.
import { Module, noGrad, ops, type Dropout, type Embedding, type LayerNorm, type Tensor } from "../tensor/index.js";
import type { EncoderBatch, EncoderConfig, LayerContext, SplittableModel } from "./types.js";

/** An embedding stage: words + positions (+ token types) -> LayerNorm (when there is one) -> dropout. */
export interface EmbeddingParts {
  readonly words: Embedding;
  readonly positions: Embedding;
  /** BERT and RoBERTa only; a batch without tokenTypeIds uses type 0. */
  readonly tokenTypes: Embedding | null;
  /** The BERT family normalises the sum; GPT-2 does not (its blocks normalise their input). */
  readonly norm: LayerNorm | null;
  readonly dropout: Dropout;
  /**
   * RoBERTa's padding_idx: positions count from it + 1 over real tokens and padding sits at it
   * (Hugging Face's create_position_ids_from_input_ids). null: positions are 0..T-1.
   */
  readonly positionPaddingIdx: number | null;
}

/** One transformer layer as the split protocol runs it. */
export interface SplitBlock {
  forward(x: Tensor, mask: Float32Array): Tensor;
}

/** Position ids [B, T] of a batch, checked against the model's position table. */
export function positionIds(parts: EmbeddingParts, batch: EncoderBatch): Int32Array {
  const { batchSize: B, seqLen: T, attentionMask } = batch;
  const pad = parts.positionPaddingIdx;
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      // Hugging Face tests input_ids != pad; the mask marks the same positions (and the
      // attacker's embedVectors has no ids).
      pos[i] = pad === null ? t : attentionMask[i] ? pad + ++count : pad;
    }
  }
  const max = pos.reduce((m, v) => Math.max(m, v), 0);
  const available = parts.positions.count;
  if (max >= available) throw new Error(`sequence length ${T} needs position ${max}, beyond the model's ${available} position embeddings`);
  return pos;
}

/** The embedding stage on word vectors [B, T, d] (looked up, or an attacker's free variables). */
export function embedWordVectors(parts: EmbeddingParts, words: Tensor, batch: EncoderBatch): Tensor {
  const shape = [batch.batchSize, batch.seqLen];
  let sum = words;
  if (parts.tokenTypes) sum = ops.add(sum, parts.tokenTypes.forward(batch.tokenTypeIds ?? new Int32Array(batch.batchSize * batch.seqLen), shape));
  sum = ops.add(sum, parts.positions.forward(positionIds(parts, batch), shape));
  return parts.dropout.forward(parts.norm ? parts.norm.forward(sum) : sum);
}

export function embedTokens(parts: EmbeddingParts, batch: EncoderBatch): Tensor {
  return embedWordVectors(parts, parts.words.forward(batch.inputIds, [batch.batchSize, batch.seqLen]), batch);
}

/** Every vocabulary token's embedding output at index t of a right-padded row, [V, d], eval mode. */
export function candidateEmbeddings(parts: EmbeddingParts, t: number): Float32Array {
  // Index t of a row whose first t + 1 tokens are real: the position any such token gets.
  const pos = positionIds(parts, { batchSize: 1, seqLen: t + 1, inputIds: new Int32Array(0), attentionMask: new Int32Array(t + 1).fill(1) })[t]!;
  return noGrad(() => {
    let row = ops.selectRows(parts.positions.weight, [pos]);
    if (parts.tokenTypes) row = ops.add(row, ops.selectRows(parts.tokenTypes.weight, [0]));
    const sum = ops.add(parts.words.weight, ops.reshape(row, [row.size]));
    return (parts.norm ? parts.norm.forward(sum) : sum).data.slice();
  });
}

/** A SplittableModel from its parts: what an architecture supplies is abstract here. */
export abstract class SplitAdapter extends Module implements SplittableModel {
  abstract readonly config: EncoderConfig;
  abstract readonly embeddingPrefix: string;
  /** Checkpoint path of the layer list ("bert.encoder.layer"); layer i's prefix is `${layerPath}.${i}.`. */
  protected abstract readonly layerPath: string;
  protected abstract embeddingParts(): EmbeddingParts;
  protected abstract blocks(): readonly SplitBlock[];
  abstract classify(hidden: Tensor, batch: EncoderBatch): Tensor;

  get numLayers(): number {
    return this.blocks().length;
  }
  layerPrefix(i: number): string {
    return `${this.layerPath}.${i}.`;
  }
  wordEmbeddings(): Tensor {
    return this.embeddingParts().words.weight;
  }
  embed(batch: EncoderBatch): Tensor {
    return embedTokens(this.embeddingParts(), batch);
  }
  embedVectors(words: Tensor, batch: EncoderBatch): Tensor {
    return embedWordVectors(this.embeddingParts(), words, batch);
  }
  embedCandidates(t: number): Float32Array {
    return candidateEmbeddings(this.embeddingParts(), t);
  }
  layer(i: number, hidden: Tensor, ctx: LayerContext): Tensor {
    return this.blocks()[i]!.forward(hidden, ctx.mask);
  }
}
