// The fine-tuning loop's state and rules, written once: batch order per epoch, the learning-rate
// schedule, what a step adds to the running sums and what closing an epoch records. The
// in-process run, the service's jobs and the client all keep their loop in a LoopState.
import { AdamW, Rng, linearWarmupDecay, type Tensor } from "../tensor/index.js";
import type { JobEpoch, StepAck } from "../wire/index.js";

export interface EpochRecord extends JobEpoch {
  /** Wall time of the epoch, where the party that closes it measured one. */
  seconds?: number;
}

export interface LoopState {
  /** Epochs completed. */
  epoch: number;
  /** Steps of the current epoch completed. */
  batchInEpoch: number;
  /** Steps completed in all. */
  step: number;
  trainSeconds: number;
  examplesSeen: number;
  /** Running sums of the current epoch. */
  lossSum: number;
  correct: number;
  count: number;
  epochs: EpochRecord[];
  best: number;
  bestEpoch: number;
  /** The service's answer to the last step, kept to answer a re-sent step again. */
  lastAck: StepAck | null;
}

export function newLoopState(): LoopState {
  return {
    epoch: 0,
    batchInEpoch: 0,
    step: 0,
    trainSeconds: 0,
    examplesSeen: 0,
    lossSum: 0,
    correct: 0,
    count: 0,
    epochs: [],
    best: -1,
    bestEpoch: -1,
    lastAck: null,
  };
}

/** A state saved by an earlier version lacks fields added since: fill them in. */
export function reviveLoopState(saved: Partial<LoopState>): LoopState {
  return { ...newLoopState(), ...saved, epoch: saved.epoch ?? saved.epochs?.length ?? 0 };
}

/** The order of training examples in epoch `epoch` (0-based): the same on every side. */
export function epochOrder(seed: number, epoch: number, n: number): number[] {
  return new Rng(seed * 31 + epoch).shuffle([...Array(n).keys()]);
}

/** Indices of batch `b` of an epoch. */
export function batchAt(order: number[], b: number, batchSize: number): number[] {
  return order.slice(b * batchSize, (b + 1) * batchSize);
}

/** Learning rate before step `step` (0-based) of `total`: linear warm-up then linear decay. */
export function learningRate(hyper: { lr: number; warmupRatio: number }, step: number, total: number): number {
  return hyper.lr * linearWarmupDecay(step, Math.round(hyper.warmupRatio * total), total);
}

/** What one finished step adds to the state. */
export function recordStep(st: LoopState, r: { loss: number; correct: number; count: number }, seconds = 0): void {
  if (!Number.isFinite(r.loss)) throw new DivergedError(r.loss, st.step + 1);
  st.lossSum += r.loss * r.count;
  st.correct += r.correct;
  st.count += r.count;
  st.examplesSeen += r.count;
  st.trainSeconds += seconds;
  st.step++;
  st.batchInEpoch++;
}

/** Closes the current epoch with its dev accuracy; `improved` says whether it is the best so far. */
export function closeEpoch(st: LoopState, devAccuracy: number, seconds?: number): { record: EpochRecord; improved: boolean } {
  const record: EpochRecord = {
    epoch: st.epoch + 1,
    trainLoss: st.lossSum / Math.max(1, st.count),
    trainAccuracy: st.correct / Math.max(1, st.count),
    devAccuracy,
    ...(seconds !== undefined ? { seconds } : {}),
  };
  st.epochs.push(record);
  const improved = devAccuracy > st.best;
  if (improved) {
    st.best = devAccuracy;
    st.bestEpoch = record.epoch;
  }
  st.epoch++;
  st.batchInEpoch = 0;
  st.lossSum = 0;
  st.correct = 0;
  st.count = 0;
  return { record, improved };
}

export class DivergedError extends Error {
  constructor(
    readonly loss: number,
    readonly step: number,
  ) {
    super(`loss became ${loss} at step ${step}; lower the learning rate`);
  }
}

/** The optimizer every fine-tuning side uses: AdamW, no weight decay on biases and norms. */
export function fineTuneOptimizer(params: Tensor[], hyper: { lr: number; weightDecay: number }): AdamW {
  return new AdamW(params, { lr: hyper.lr, weightDecay: hyper.weightDecay, noDecay: (p) => p.ndim < 2 });
}
