// The interface every mechanism implements, and the registry that builds one by name.
// A privatizer maps the bottom model's output [B, T, d] to what leaves the customer's machine;
// padding positions are left as they are here; the Customer then sends them as zeros.
import { ParamError, parseParams, shortJson, type Declared, type ParamRecord } from "../params/index.js";
import type { NoiseSource } from "./noise.js";

export interface PrivatizeInput {
  /** Hidden states, row-major [B, T, d]; not modified. */
  hidden: Float32Array;
  batchSize: number;
  seqLen: number;
  dim: number;
  /** 1 = real token, 0 = padding, [B, T]. */
  attentionMask: Int32Array;
  /** Token ids [B, T] (token-adaptive mechanisms look budgets up by id). */
  inputIds: Int32Array;
  /** Class labels [B] when known (training rows); undefined at inference. */
  labels?: Int32Array;
}

export interface Privatizer {
  readonly name: string;
  /** Parameters as given, for reports and wire descriptions. */
  readonly params: Record<string, number | string | boolean>;
  /** A new array: the privatized representations. */
  privatize(input: PrivatizeInput, noise: NoiseSource): Float32Array;
  /**
   * Text-level mechanisms replace tokens before the bottom model runs (projection); the
   * representation-level step is then the identity. Input ids [B, T] and mask are not modified.
   */
  privatizeTokens?(inputIds: Int32Array, attentionMask: Int32Array, noise: NoiseSource): Int32Array;
  /** One line for reports. */
  describe(): string;
  /** What the mechanism guarantees, in its own terms, at the cut statistics of the customer's data. */
  guarantee?(at: CutStatistics): Guarantee;
}

/** Measured on the customer's own data at the cut, before any noise. */
export interface CutStatistics {
  dim: number;
  /** Median ‖h‖ of a token's representation. */
  medianNorm: number;
  /** Median distance from a token's representation to the nearest one of a different token. */
  medianNearest: number;
  /** The sample's real token ids (token-adaptive mechanisms report the spread of their budgets). */
  tokenIds: Int32Array;
}

export interface Guarantee {
  /** The formal statement, with numbers. */
  statement: string;
  /** E‖z‖ per token, when the mechanism adds noise. */
  expectedNoiseNorm?: number;
}

export interface PrivatizerContext {
  /** Vocabulary embedding matrix [V, d], for mechanisms that project back to tokens. */
  vocabEmbeddings?: { data: Float32Array; rows: number; dim: number };
  /** Special token ids ([CLS], [SEP], [PAD]) that text-level mechanisms leave alone. */
  specialTokenIds?: ReadonlySet<number>;
  /** Statistics a mechanism learns from the customer's training set (CTI). */
  trainingSet?: { inputIds: Int32Array[]; labels: number[]; numLabels: number; vocabSize: number };
}

/** A mechanism as registered: its declared parameters (one of them the budget) and its constructor. */
export interface MechanismEntry extends Declared {
  /** `params` are already checked against the declarations, defaults filled in. */
  create(params: ParamRecord, ctx: PrivatizerContext): Privatizer;
}

const registry = new Map<string, MechanismEntry>();

export function registerPrivatizer(entry: MechanismEntry): void {
  const budgets = entry.params.filter((p) => p.budget);
  if (budgets.length > 1) throw new Error(`privatizer ${entry.name} declares ${budgets.length} budget parameters; one at most`);
  registry.set(entry.name, entry);
}

export function mechanismEntry(name: string): MechanismEntry {
  const e = registry.get(name);
  if (!e) throw new ParamError(`unknown privatizer ${shortJson(name)} (available: ${[...registry.keys()].join(", ")})`);
  return e;
}

/** Checks params against the mechanism's declarations (unknown, mistyped or out-of-range ones refused). */
export function checkMechanismParams(name: string, params: Record<string, unknown>): ParamRecord {
  return parseParams(`privatizer ${name}`, mechanismEntry(name).params, params);
}

export function createPrivatizer(name: string, params: Record<string, unknown>, ctx: PrivatizerContext = {}): Privatizer {
  return mechanismEntry(name).create(checkMechanismParams(name, params), ctx);
}

export function listPrivatizers(): MechanismEntry[] {
  return [...registry.values()];
}
