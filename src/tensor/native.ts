// Loads the C++ addon (native/) and types its surface. Shapes are checked by the callers in
// ops.ts; the addon itself only refuses to touch memory outside a buffer.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface NativeInfo {
  /** A GEMM library is linked (oneDNN or OpenBLAS). */
  blas: boolean;
  /** Which one takes the matrix products, chosen at build time. */
  backend: "onednn" | "openblas" | "portable";
  /** bf16 products are possible: oneDNN and a CPU with AVX512_BF16 (checked at run time). */
  bf16: boolean;
  threads: number;
}

/**
 * C = alpha * op(A) op(B) + beta * C, row-major with leading dimensions lda/ldb/ldc; offsets in
 * elements. With batch > 1, `batch` products run with operand X_b starting at xOff + b * strideX.
 * Defaults: no transposes, alpha 1, beta 0, offsets 0, batch 1.
 */
export interface GemmArgs {
  transA?: boolean;
  transB?: boolean;
  M: number;
  N: number;
  K: number;
  alpha?: number;
  beta?: number;
  a: Float32Array;
  aOff?: number;
  lda: number;
  strideA?: number;
  b: Float32Array;
  bOff?: number;
  ldb: number;
  strideB?: number;
  c: Float32Array;
  cOff?: number;
  ldc: number;
  strideC?: number;
  batch?: number;
  /** Operands rounded to bf16, fp32 accumulation and output; ignored unless info().bf16. */
  bf16?: boolean;
}

/** Row softmax of scale * x + mask over [rows, cols]; mask is [ceil(rows / rowsPerMask), cols]. */
export interface SoftmaxArgs {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  cols: number;
  scale: number;
  mask?: Float32Array | null;
  rowsPerMask?: number;
}

/** dx (+)= scale * y * (dy - <dy, y>) from the forward output y. */
export interface SoftmaxBackwardArgs {
  y: Float32Array;
  dy: Float32Array;
  dx: Float32Array;
  rows: number;
  cols: number;
  scale: number;
  acc: boolean;
}

/** Fields both LayerNorm directions read; mean and rstd are written by the forward. */
interface LayerNormShared {
  x: Float32Array;
  gamma: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
  rows: number;
  cols: number;
}
export interface LayerNormArgs extends LayerNormShared {
  beta: Float32Array;
  y: Float32Array;
  eps: number;
}
/** dgamma/dbeta always accumulate; any gradient may be null when not wanted. */
export interface LayerNormBackwardArgs extends LayerNormShared {
  dy: Float32Array;
  dx: Float32Array | null;
  dgamma: Float32Array | null;
  dbeta: Float32Array | null;
  acc: boolean;
}

/** Rows whose target equals ignoreIndex (default -100) are skipped; probs: softmax, written by the forward. */
export interface CrossEntropyArgs {
  targets: Int32Array;
  rows: number;
  cols: number;
  ignoreIndex?: number;
  probs: Float32Array;
}
export interface CrossEntropyForwardArgs extends CrossEntropyArgs {
  logits: Float32Array;
}
export interface CrossEntropyBackwardArgs extends CrossEntropyArgs {
  /** Upstream gradient per kept row (the mean's 1/count folded in). */
  g: number;
  dx: Float32Array;
  acc: boolean;
}

export interface AdamWArgs {
  param: Float32Array;
  grad: Float32Array;
  m: Float32Array;
  v: Float32Array;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  biasCorrection1: number;
  biasCorrection2: number;
}

/**
 * Fields both attention directions read: projections [B, T, ld] (head h in columns h*D..(h+1)*D;
 * q, k, v may be views into one packed buffer), probs [B, H, T, T] and the dropout mask.
 */
export interface AttentionArgs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  ld: number;
  B: number;
  T: number;
  H: number;
  D: number;
  scale: number;
  probs: Float32Array;
  dropP: number;
  dropMask: Uint8Array | null;
  /** The attention products in bf16 (fp32 accumulation); softmax stays fp32. */
  bf16?: boolean;
}
export interface AttentionForwardArgs extends AttentionArgs {
  /** Additive key mask [B, T]. */
  mask: Float32Array | null;
  causal: boolean;
  seed: number;
  ctx: Float32Array;
}
export interface AttentionBackwardArgs extends AttentionArgs {
  dctx: Float32Array;
  dq: Float32Array | null;
  dk: Float32Array | null;
  dv: Float32Array | null;
  accQ: boolean;
  accK: boolean;
  accV: boolean;
}

// Bindings with more than a handful of parameters take one argument object (types above); the
// short ones stay positional.
export interface NativeAddon {
  info(): NativeInfo;
  setThreads(n: number): void;
  gemm(args: GemmArgs): void;
  binary(op: BinaryOp, a: Float32Array, b: Float32Array, out: Float32Array): void;
  axpy(alpha: number, x: Float32Array, y: Float32Array): void;
  scale(x: Float32Array, alpha: number, out: Float32Array): void;
  tile(src: Float32Array, out: Float32Array): void;
  colSum(x: Float32Array, rows: number, cols: number, out: Float32Array, acc: boolean): void;
  sum(x: Float32Array): number;
  sumSquares(x: Float32Array): number;
  countNonFinite(x: Float32Array): number;
  unary(op: UnaryOp, x: Float32Array, out: Float32Array): void;
  unaryBackward(op: UnaryOp, x: Float32Array, y: Float32Array | null, dy: Float32Array, dx: Float32Array, acc: boolean): void;
  softmax(args: SoftmaxArgs): void;
  softmaxBackward(args: SoftmaxBackwardArgs): void;
  layerNorm(args: LayerNormArgs): void;
  layerNormBackward(args: LayerNormBackwardArgs): void;
  embedding(weight: Float32Array, vocab: number, dim: number, ids: Int32Array, out: Float32Array): void;
  embeddingBackward(dy: Float32Array, ids: Int32Array, dim: number, dweight: Float32Array, vocab: number): void;
  /** Returns [summed loss over kept rows, number of kept rows]. */
  crossEntropy(args: CrossEntropyForwardArgs): [number, number];
  crossEntropyBackward(args: CrossEntropyBackwardArgs): void;
  dropout(x: Float32Array, y: Float32Array, mask: Uint8Array, p: number, seed: number): void;
  dropoutBackward(dy: Float32Array, mask: Uint8Array, dx: Float32Array, p: number, acc: boolean): void;
  adamw(args: AdamWArgs): void;
  permute(x: Float32Array, out: Float32Array, shape: number[], perm: number[]): void;
  attention(args: AttentionForwardArgs): void;
  attentionBackward(args: AttentionBackwardArgs): void;
}

export const enum BinaryOp {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
}

export const enum UnaryOp {
  Gelu = 0,
  GeluNew = 1,
  Relu = 2,
  Tanh = 3,
  Exp = 4,
  Sigmoid = 5,
}

function findAddon(): string {
  // dist/src/tensor/native.js -> package root is three levels up; src/tensor/native.ts two.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "build", "Release", "sap_native.node");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(
    "sap: the native engine is not built (build/Release/sap_native.node is missing). " +
      "Run `npm ci` (or `npm run build:native`) in the package root; it needs g++ and, for speed, libdnnl-dev or libopenblas-dev.",
  );
}

const require = createRequire(import.meta.url);

// OpenBLAS's idle workers spin for ~2^28 cycles after each product by default, stealing a core
// from our own threaded kernels between GEMMs (measured: a masked-LM step 10% slower). It reads
// this when the library loads, i.e. when the addon below is required.
process.env.OPENBLAS_THREAD_TIMEOUT ??= "4";

export const native: NativeAddon = require(findAddon()) as NativeAddon;

let warned = false;
/** Engine facts; warns once when the portable GEMM is in use (neither oneDNN nor OpenBLAS at build time). */
export function engineInfo(): NativeInfo {
  const info = native.info();
  if (!info.blas && !warned && process.env.SAP_QUIET !== "1") {
    warned = true;
    process.emitWarning(
      "sap: built without oneDNN or OpenBLAS; matrix products use the portable fallback and are several times slower. " +
        "Install libdnnl-dev (or libopenblas-dev) and run `npm rebuild` for full speed.",
    );
  }
  return info;
}

/** Threads for the engine's own kernels and for OpenBLAS (at least 1). */
export function setThreads(n: number): void {
  native.setThreads(n);
}

engineInfo();
