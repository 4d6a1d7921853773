// The attacker's view and the interface every inversion attack implements. An honest-but-curious
// vendor sees exactly the WireBatch the customer sent (privatized representations and the padding
// mask), knows the bottom model's weights (it shipped them) and the privatizer's parameters.
import type { SplittableModel } from "../models/model.js";
import type { Tokenizer } from "../models/tokenizers/index.js";
import type { NoiseSource } from "../privacy/noise.js";
import type { Privatizer } from "../privacy/privatizer.js";
import type { WireBatch } from "../wire/index.js";

export interface AttackContext {
  /** The bottom's weights (the whole model object; only embeddings + layers < split are used). */
  model: SplittableModel;
  split: number;
  tokenizer: Tokenizer;
  /** The customer's mechanism with the same parameters (for attacks that simulate it). */
  privatizer: Privatizer;
  noise: NoiseSource;
  /** Public text the attacker may use for training (never the customer's data). */
  publicTexts: string[];
  maxSeqLen: number;
  seed: number;
}

export interface InversionAttack {
  readonly name: string;
  /** Training on public data, if the attack learns anything. */
  prepare?(ctx: AttackContext, onProgress?: (done: number, total: number) => void): void;
  /** Guessed token ids [B, T] for one observed batch (−1 where no guess). */
  invert(wire: WireBatch, ctx: AttackContext): Int32Array;
}
