// What a fine-tuning run trains on and how, and the one set of training defaults that the
// in-process run, the service's jobs, the client, the sweep and the CLI all start from.
import type { Dataset } from "../data/index.js";
import type { PeftParams } from "../peft/index.js";
import type { Hyper, MechanismSpec } from "../wire/index.js";

export const TRAINING_DEFAULTS = {
  split: 2,
  epochs: 3,
  batchSize: 32,
  lr: 5e-4,
  warmupRatio: 0.06,
  weightDecay: 0.01,
  clip: 1,
  maxSeqLen: 64,
  seed: 42,
  privatizer: "none",
  peft: "lora",
} as const;

/** Shared by the in-process and networked paths. */
export interface TrainingSpec {
  dataset: Dataset;
  split: number;
  privatizer: MechanismSpec;
  peft: { name: string; params: PeftParams };
  epochs: number;
  batchSize: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  clip: number;
  maxSeqLen: number;
  /** Seed of shuffling, initialisation and dropout. */
  seed: number;
  /** Seed of the privacy noise; undefined = CSPRNG (node:crypto). */
  noiseSeed?: number;
  /**
   * Privatize every example afresh each epoch (each release composes: n epochs at η give nη).
   * Default off: each example is privatized once and that release is re-sent (split/release.ts).
   */
  freshNoise?: boolean;
}

/** The vendor's share of a training spec: what it needs to run the optimisation. */
export function hyperOf(spec: TrainingSpec, stepsPerEpoch: number): Hyper {
  return {
    epochs: spec.epochs,
    stepsPerEpoch,
    batchSize: spec.batchSize,
    lr: spec.lr,
    warmupRatio: spec.warmupRatio,
    weightDecay: spec.weightDecay,
    clip: spec.clip,
    seed: spec.seed,
    maxSeqLen: spec.maxSeqLen,
  };
}
