// The interface every mechanism implements, and the registry that builds one by name.
// A privatizer maps the bottom model's output [B, T, d] to what leaves the customer's machine;
// padding positions are never touched (they carry no token).
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
}

export type PrivatizerFactory = (params: Record<string, string | number | boolean>, ctx: PrivatizerContext) => Privatizer;

export interface PrivatizerContext {
  /** Vocabulary embedding matrix [V, d], for mechanisms that project back to tokens. */
  vocabEmbeddings?: { data: Float32Array; rows: number; dim: number };
  /** Special token ids ([CLS], [SEP], [PAD]) that text-level mechanisms leave alone. */
  specialTokenIds?: ReadonlySet<number>;
  /** Statistics a mechanism learns from the customer's training set (CTI). */
  trainingSet?: { inputIds: Int32Array[]; labels: number[]; numLabels: number; vocabSize: number };
}

const registry = new Map<string, { factory: PrivatizerFactory; doc: string }>();

export function registerPrivatizer(name: string, doc: string, factory: PrivatizerFactory): void {
  registry.set(name, { factory, doc });
}

export function createPrivatizer(
  name: string,
  params: Record<string, string | number | boolean>,
  ctx: PrivatizerContext = {},
): Privatizer {
  const e = registry.get(name);
  if (!e) throw new Error(`unknown privatizer "${name}" (available: ${[...registry.keys()].join(", ")})`);
  return e.factory(params, ctx);
}

export function listPrivatizers(): Array<{ name: string; doc: string }> {
  return [...registry].map(([name, e]) => ({ name, doc: e.doc }));
}

/** Reads a required positive numeric parameter with a clear error. */
export function positiveParam(
  params: Record<string, string | number | boolean>,
  key: string,
  mech: string,
  fallback?: number,
): number {
  const v = params[key] ?? fallback;
  const n = typeof v === "number" ? v : Number(v);
  if (v === undefined || !Number.isFinite(n) || n <= 0)
    throw new Error(`privatizer ${mech}: parameter ${key} must be a positive number, got ${String(v)}`);
  return n;
}
