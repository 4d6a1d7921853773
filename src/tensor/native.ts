// Loads the C++ addon (native/) and types its surface. Shapes are checked by the callers in
// ops.ts; the addon itself only refuses to touch memory outside a buffer.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface NativeInfo {
  blas: boolean;
  threads: number;
}

export interface NativeAddon {
  info(): NativeInfo;
  setThreads(n: number): void;
  gemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    aOff: number,
    lda: number,
    B: Float32Array,
    bOff: number,
    ldb: number,
    beta: number,
    C: Float32Array,
    cOff: number,
    ldc: number,
  ): void;
  gemmBatched(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    aOff: number,
    lda: number,
    strideA: number,
    B: Float32Array,
    bOff: number,
    ldb: number,
    strideB: number,
    beta: number,
    C: Float32Array,
    cOff: number,
    ldc: number,
    strideC: number,
    batch: number,
  ): void;
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
  softmax(
    x: Float32Array,
    y: Float32Array,
    rows: number,
    cols: number,
    scale: number,
    mask: Float32Array | null,
    rowsPerMask: number,
  ): void;
  softmaxBackward(
    y: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    rows: number,
    cols: number,
    scale: number,
    acc: boolean,
  ): void;
  layerNorm(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  layerNormBackward(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array | null,
    dgamma: Float32Array | null,
    dbeta: Float32Array | null,
    rows: number,
    cols: number,
    acc: boolean,
  ): void;
  embedding(weight: Float32Array, vocab: number, dim: number, ids: Int32Array, out: Float32Array): void;
  embeddingBackward(dy: Float32Array, ids: Int32Array, dim: number, dweight: Float32Array, vocab: number): void;
  crossEntropy(
    logits: Float32Array,
    targets: Int32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
    probs: Float32Array,
  ): [number, number];
  crossEntropyBackward(
    probs: Float32Array,
    targets: Int32Array,
    rows: number,
    cols: number,
    ignoreIndex: number,
    g: number,
    dx: Float32Array,
    acc: boolean,
  ): void;
  dropout(x: Float32Array, y: Float32Array, mask: Uint8Array, p: number, seed: number): void;
  dropoutBackward(dy: Float32Array, mask: Uint8Array, dx: Float32Array, p: number, acc: boolean): void;
  adamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    biasCorrection1: number,
    biasCorrection2: number,
  ): void;
  permute(x: Float32Array, out: Float32Array, shape: number[], perm: number[]): void;
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    ld: number,
    B: number,
    T: number,
    H: number,
    D: number,
    scale: number,
    mask: Float32Array | null,
    causal: boolean,
    probs: Float32Array,
    ctx: Float32Array,
    dropP: number,
    seed: number,
    dropMask: Uint8Array | null,
  ): void;
  attentionBackward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    ld: number,
    B: number,
    T: number,
    H: number,
    D: number,
    scale: number,
    probs: Float32Array,
    dctx: Float32Array,
    dq: Float32Array | null,
    dk: Float32Array | null,
    dv: Float32Array | null,
    accQ: boolean,
    accK: boolean,
    accV: boolean,
    dropP: number,
    dropMask: Uint8Array | null,
  ): void;
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
      "Run `npm ci` (or `npm run build:native`) in the package root; it needs g++ and, for speed, libopenblas-dev.",
  );
}

const require = createRequire(import.meta.url);

// OpenBLAS's idle workers spin for ~2^28 cycles after each product by default, stealing a core
// from our own threaded kernels between GEMMs (measured: a masked-LM step 10% slower). It reads
// this when the library loads, i.e. when the addon below is required.
process.env.OPENBLAS_THREAD_TIMEOUT ??= "4";

export const native: NativeAddon = require(findAddon()) as NativeAddon;

let warned = false;
/** Engine facts; warns once when the portable GEMM is in use (no OpenBLAS at build time). */
export function engineInfo(): NativeInfo {
  const info = native.info();
  if (!info.blas && !warned && process.env.SAP_QUIET !== "1") {
    warned = true;
    process.emitWarning(
      "sap: built without OpenBLAS; matrix products use the portable fallback and are several times slower. " +
        "Install libopenblas-dev and run `npm rebuild` for full speed.",
    );
  }
  return info;
}

engineInfo();
