// Differentiable operations. Each op is defined once here with its backward; the heavy math
// runs in the native addon, TypeScript only checks shapes and wires gradients.
import { alloc, allocBytes, release } from "./memory.js";
import { BinaryOp, UnaryOp, native } from "./native.js";
import { gemmBf16 } from "./precision.js";
import { Tensor, accumulateGrad, gradSink, record, shapeStr, sizeOf, type Shape } from "./tensor.js";

const addInto = (x: Float32Array, y: Float32Array): void => native.axpy(1, x, y);

function fail(op: string, msg: string): never {
  throw new Error(`${op}: ${msg}`);
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

// ---------------------------------------------------------------- matrix products

/**
 * C (+)= op(A) · op(B) for contiguous row-major operands (op = transpose where asked); with
 * `batch`, that many such products at contiguous strides. Leading dimensions follow from the shapes.
 */
function mm(o: {
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** Add to C instead of overwriting it. */
  acc?: boolean;
  batch?: number;
}): void {
  const { M, N, K, transA = false, transB = false } = o;
  native.gemm({
    transA,
    transB,
    M,
    N,
    K,
    beta: o.acc ? 1 : 0,
    a: o.a,
    lda: transA ? M : K,
    strideA: M * K,
    b: o.b,
    ldb: transB ? K : N,
    strideB: K * N,
    c: o.c,
    ldc: N,
    strideC: M * N,
    batch: o.batch ?? 1,
    bf16: gemmBf16(),
  });
}

/**
 * Matrix product. a: [..., m, k]; b: [k, n] (shared across the batch) or [..., k, n] with the
 * same leading dims as a. Result [..., m, n].
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim < 2 || b.ndim < 2) fail("matmul", `needs at least 2-D operands, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const m = a.shape[a.ndim - 2]!,
    k = a.shape[a.ndim - 1]!;
  const kb = b.shape[b.ndim - 2]!,
    n = b.shape[b.ndim - 1]!;
  if (k !== kb) fail("matmul", `inner dimensions differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`);
  const batchShape = a.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const out = alloc(batch * m * n);
  if (b.ndim === 2) {
    // Shared right operand: one GEMM over all rows of a.
    mm({ a: a.data, b: b.data, c: out, M: batch * m, N: n, K: k });
    return record("matmul", out, [...batchShape, m, n], [a, b], (g) => {
      const ga = gradSink(a);
      if (ga) mm({ a: g, b: b.data, c: ga.buf, M: batch * m, N: k, K: n, transB: true, acc: ga.acc });
      const gb = gradSink(b);
      if (gb) mm({ a: a.data, b: g, c: gb.buf, M: k, N: n, K: batch * m, transA: true, acc: gb.acc });
    });
  }
  if (!sameShape(batchShape, b.shape.slice(0, -2)))
    fail("matmul", `batch dimensions differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`);
  mm({ a: a.data, b: b.data, c: out, M: m, N: n, K: k, batch });
  return record("bmm", out, [...batchShape, m, n], [a, b], (g) => {
    const ga = gradSink(a);
    if (ga) mm({ a: g, b: b.data, c: ga.buf, M: m, N: k, K: n, transB: true, acc: ga.acc, batch });
    const gb = gradSink(b);
    if (gb) mm({ a: a.data, b: g, c: gb.buf, M: k, N: n, K: m, transA: true, acc: gb.acc, batch });
  });
}

/**
 * y = x W^T + b with W stored [out, in] as torch.nn.Linear stores it, or y = x W + b with
 * layout "in_out" (GPT-2's Conv1D). x: [..., in] -> [..., out]. The bias is written first and
 * the GEMM accumulates onto it.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, layout: "out_in" | "in_out" = "out_in"): Tensor {
  if (weight.ndim !== 2) fail("linear", `weight must be 2-D, got ${shapeStr(weight.shape)}`);
  const io = layout === "in_out";
  const [outF, inF] = (io ? [weight.shape[1], weight.shape[0]] : weight.shape) as [number, number];
  if (x.shape[x.ndim - 1] !== inF)
    fail("linear", `input ${shapeStr(x.shape)} does not end in ${inF} (weight ${shapeStr(weight.shape)})`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF))
    fail("linear", `bias ${shapeStr(bias.shape)} does not match ${outF} outputs`);
  const rows = x.size / inF;
  const out = alloc(rows * outF);
  if (bias) native.tile(bias.data, out);
  mm({ a: x.data, b: weight.data, c: out, M: rows, N: outF, K: inF, transB: !io, acc: bias !== null && bias !== undefined });
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record("linear", out, [...x.shape.slice(0, -1), outF], inputs, (g) => {
    const gx = gradSink(x);
    if (gx) mm({ a: g, b: weight.data, c: gx.buf, M: rows, N: inF, K: outF, transB: io, acc: gx.acc });
    const gw = gradSink(weight);
    // dW = dy^T x  ([out, in]),  or  x^T dy  ([in, out]).
    if (gw)
      if (io) mm({ a: x.data, b: g, c: gw.buf, M: inF, N: outF, K: rows, transA: true, acc: gw.acc });
      else mm({ a: g, b: x.data, c: gw.buf, M: outF, N: inF, K: rows, transA: true, acc: gw.acc });
    if (bias) {
      const gb = gradSink(bias);
      if (gb) native.colSum(g, rows, outF, gb.buf, gb.acc);
    }
  });
}

// ---------------------------------------------------------------- element-wise binary

/** Shape of a op b under NumPy broadcasting, or an error naming both shapes. */
export function broadcastShape(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) fail(op, `shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** True when `small` tiles `big` by repetition (its shape is a suffix of big's, leading 1s allowed). */
function isSuffixOf(small: Shape, big: Shape): boolean {
  let s = [...small];
  while (s.length && s[0] === 1) s = s.slice(1);
  if (s.length > big.length) return false;
  for (let i = 0; i < s.length; i++) if (s[s.length - 1 - i] !== big[big.length - 1 - i]) return false;
  return true;
}

/** Expands x (broadcastable to `shape`) to a full buffer — the slow general path. */
function expandTo(x: Tensor, shape: Shape): Float32Array {
  const n = sizeOf(shape);
  if (x.size === n) return x.data;
  if (isSuffixOf(x.shape, shape)) {
    const out = alloc(n);
    native.tile(x.data, out);
    return out;
  }
  const out = alloc(n);
  const nd = shape.length;
  const xStrides = broadcastStrides(x.shape, nd);
  const idx = new Array<number>(nd).fill(0);
  for (let o = 0; o < n; o++) {
    let off = 0;
    for (let i = 0; i < nd; i++) off += idx[i]! * xStrides[i]!;
    out[o] = x.data[off]!;
    for (let i = nd - 1; i >= 0; i--) {
      if (++idx[i]! < shape[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** Strides of `shape` read as an `nd`-dimensional broadcast operand: 0 along every broadcast axis. */
function broadcastStrides(shape: Shape, nd: number): number[] {
  const padded = [...new Array<number>(nd - shape.length).fill(1), ...shape];
  const strides = new Array<number>(nd);
  for (let i = nd - 1, s = 1; i >= 0; i--) {
    strides[i] = padded[i] === 1 ? 0 : s;
    s *= padded[i]!;
  }
  return strides;
}

/** Sums a full-size gradient down to the shape of a broadcast operand. */
function reduceTo(g: Float32Array, full: Shape, target: Tensor, sink: { buf: Float32Array; acc: boolean }): void {
  if (g.length === target.size) {
    if (sink.acc) native.axpy(1, g, sink.buf);
    else sink.buf.set(g);
    return;
  }
  if (isSuffixOf(target.shape, full)) {
    native.colSum(g, g.length / target.size, target.size, sink.buf, sink.acc);
    return;
  }
  const nd = full.length;
  const tStrides = broadcastStrides(target.shape, nd);
  const acc = new Float64Array(target.size);
  const idx = new Array<number>(nd).fill(0);
  for (let o = 0; o < g.length; o++) {
    let off = 0;
    for (let i = 0; i < nd; i++) off += idx[i]! * tStrides[i]!;
    acc[off]! += g[o]!;
    for (let i = nd - 1; i >= 0; i--) {
      if (++idx[i]! < full[i]!) break;
      idx[i] = 0;
    }
  }
  for (let i = 0; i < acc.length; i++) sink.buf[i] = (sink.acc ? sink.buf[i]! : 0) + acc[i]!;
}

function binaryOp(name: string, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShape(name, a.shape, b.shape);
  const n = sizeOf(shape);
  const out = alloc(n);
  const aFull = a.size === n;
  const bTiles = b.size === n || (n > 0 && isSuffixOf(b.shape, shape));
  const ad = aFull ? a.data : expandTo(a, shape);
  const bd = bTiles ? b.data : expandTo(b, shape);
  if (n > 0) native.binary(op, ad, bd, out);
  return record(name, out, shape, [a, b], (g) => {
    const ga = gradSink(a);
    if (ga) {
      let d = g;
      if (op === BinaryOp.Mul || op === BinaryOp.Div) {
        d = alloc(n);
        native.binary(op, g, bd, d); // d(a*b)/da = b ; d(a/b)/da = 1/b
      }
      reduceTo(d, shape, a, ga);
      if (d !== g) release(d);
    }
    const gb = gradSink(b);
    if (gb) {
      const d = alloc(n);
      if (op === BinaryOp.Add) d.set(g);
      else if (op === BinaryOp.Sub) native.scale(g, -1, d);
      else if (op === BinaryOp.Mul) native.binary(BinaryOp.Mul, g, ad, d);
      else {
        // d(a/b)/db = -a / b^2 = -out / b
        native.binary(BinaryOp.Mul, g, out, d);
        native.binary(BinaryOp.Div, d, bd, d);
        native.scale(d, -1, d);
      }
      reduceTo(d, shape, b, gb);
      release(d);
    }
  });
}

export const add = (a: Tensor, b: Tensor): Tensor => binaryOp("add", BinaryOp.Add, a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binaryOp("sub", BinaryOp.Sub, a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binaryOp("mul", BinaryOp.Mul, a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binaryOp("div", BinaryOp.Div, a, b);

/** alpha * x + beta (scalars). */
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  const out = alloc(x.size);
  native.scale(x.data, alpha, out);
  if (beta !== 0) native.binary(BinaryOp.Add, out, Float32Array.of(beta), out);
  return record("affine", out, x.shape, [x], (g) => {
    const gx = gradSink(x);
    if (!gx) return;
    if (gx.acc) native.axpy(alpha, g, gx.buf);
    else native.scale(g, alpha, gx.buf);
  });
}

export const scale = (x: Tensor, alpha: number): Tensor => affine(x, alpha, 0);

// ---------------------------------------------------------------- element-wise unary

function unaryOp(name: string, op: UnaryOp, x: Tensor): Tensor {
  const out = alloc(x.size);
  native.unary(op, x.data, out);
  return record(name, out, x.shape, [x], (g) => {
    const gx = gradSink(x);
    if (gx) native.unaryBackward(op, x.data, out, g, gx.buf, gx.acc);
  });
}

/** GELU with the exact erf, as BERT's "gelu". */
export const gelu = (x: Tensor): Tensor => unaryOp("gelu", UnaryOp.Gelu, x);
/** GELU with the tanh approximation, as GPT-2's "gelu_new". */
export const geluNew = (x: Tensor): Tensor => unaryOp("gelu_new", UnaryOp.GeluNew, x);
export const relu = (x: Tensor): Tensor => unaryOp("relu", UnaryOp.Relu, x);
export const tanh = (x: Tensor): Tensor => unaryOp("tanh", UnaryOp.Tanh, x);
export const exp = (x: Tensor): Tensor => unaryOp("exp", UnaryOp.Exp, x);
export const sigmoid = (x: Tensor): Tensor => unaryOp("sigmoid", UnaryOp.Sigmoid, x);

// ---------------------------------------------------------------- shape

/** Same data, new shape (one dimension may be -1). Shares the buffer. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const known = s.reduce((p, d, i) => (i === neg ? p : p * d), 1);
    if (known === 0 || x.size % known !== 0)
      fail("reshape", `cannot infer -1 reshaping ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
    s[neg] = x.size / known;
  }
  if (sizeOf(s) !== x.size) fail("reshape", `cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`);
  return record("reshape", x.data, s, [x], (g) => accumulateGrad(x, g, true, addInto));
}

/** Axes reordered: out.shape[i] = x.shape[perm[i]]. Copies. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.ndim || [...perm].sort((p, q) => p - q).some((p, i) => p !== i))
    fail("permute", `[${perm.join(", ")}] is not a permutation of ${x.ndim} axes`);
  const shape = perm.map((p) => x.shape[p]!);
  const out = alloc(x.size);
  native.permute(x.data, out, x.shape, [...perm]);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return record("permute", out, shape, [x], (g) => {
    const gx = gradSink(x);
    if (!gx) return;
    if (!gx.acc) {
      native.permute(g, gx.buf, shape, inverse);
      return;
    }
    const tmp = alloc(x.size);
    native.permute(g, tmp, shape, inverse);
    native.axpy(1, tmp, gx.buf);
    release(tmp);
  });
}

export function transpose(x: Tensor, d0: number, d1: number): Tensor {
  const perm = x.shape.map((_, i) => i);
  const a = d0 < 0 ? x.ndim + d0 : d0;
  const b = d1 < 0 ? x.ndim + d1 : d1;
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Splits a shape at `dim` into (outer, size at dim, inner) for block copies. */
function blocks(shape: Shape, dim: number): [number, number, number] {
  return [sizeOf(shape.slice(0, dim)), shape[dim]!, sizeOf(shape.slice(dim + 1))];
}

/** x[..., start:end, ...] along `dim`. */
export function slice(x: Tensor, dim: number, start: number, end: number): Tensor {
  const d = dim < 0 ? x.ndim + dim : dim;
  const len = x.shape[d];
  if (len === undefined) fail("slice", `dimension ${dim} out of range for ${shapeStr(x.shape)}`);
  if (start < 0 || end > len || start > end) fail("slice", `range ${start}:${end} out of bounds for size ${len} at dim ${d}`);
  const [outer, , inner] = blocks(x.shape, d);
  const width = end - start;
  const shape = [...x.shape];
  shape[d] = width;
  const out = alloc(outer * width * inner);
  for (let o = 0; o < outer; o++) out.set(x.data.subarray((o * len + start) * inner, (o * len + end) * inner), o * width * inner);
  return record("slice", out, shape, [x], (g) => {
    const gx = gradSink(x, true);
    if (!gx) return;
    for (let o = 0; o < outer; o++) {
      const src = g.subarray(o * width * inner, (o + 1) * width * inner);
      const dst = gx.buf.subarray((o * len + start) * inner, (o * len + end) * inner);
      if (gx.acc) native.axpy(1, src, dst);
      else dst.set(src);
    }
  });
}

/** Joins tensors along `dim`; all other dimensions must agree. */
export function concat(xs: readonly Tensor[], dim: number): Tensor {
  if (xs.length === 0) fail("concat", "needs at least one tensor");
  const first = xs[0]!;
  const d = dim < 0 ? first.ndim + dim : dim;
  for (const x of xs)
    if (x.ndim !== first.ndim || x.shape.some((s, i) => i !== d && s !== first.shape[i]))
      fail("concat", `shapes ${xs.map((t) => shapeStr(t.shape)).join(", ")} differ outside dim ${d}`);
  const total = xs.reduce((s, x) => s + x.shape[d]!, 0);
  const shape = [...first.shape];
  shape[d] = total;
  const [outer, , inner] = blocks(shape, d);
  const out = alloc(sizeOf(shape));
  let at = 0;
  const offsets: number[] = [];
  for (const x of xs) {
    const w = x.shape[d]!;
    offsets.push(at);
    for (let o = 0; o < outer; o++) out.set(x.data.subarray(o * w * inner, (o + 1) * w * inner), (o * total + at) * inner);
    at += w;
  }
  return record("concat", out, shape, xs, (g) => {
    xs.forEach((x, i) => {
      const gx = gradSink(x);
      if (!gx) return;
      const w = x.shape[d]!;
      for (let o = 0; o < outer; o++) {
        const src = g.subarray((o * total + offsets[i]!) * inner, (o * total + offsets[i]! + w) * inner);
        const dst = gx.buf.subarray(o * w * inner, (o + 1) * w * inner);
        if (gx.acc) native.axpy(1, src, dst);
        else dst.set(src);
      }
    });
  });
}

/** Rows of a [N, D] (or [..., D] flattened) tensor picked by index: out[i] = x[rows[i]]. */
export function selectRows(x: Tensor, rows: readonly number[]): Tensor {
  const dim = x.shape[x.ndim - 1]!;
  const n = x.size / dim;
  const out = alloc(rows.length * dim);
  rows.forEach((r, i) => {
    if (!Number.isInteger(r) || r < 0 || r >= n) fail("selectRows", `row ${r} out of range [0, ${n})`);
    out.set(x.data.subarray(r * dim, (r + 1) * dim), i * dim);
  });
  return record("selectRows", out, [rows.length, dim], [x], (g) => {
    const gx = gradSink(x, true);
    if (!gx) return;
    rows.forEach((r, i) => native.axpy(1, g.subarray(i * dim, (i + 1) * dim), gx.buf.subarray(r * dim, (r + 1) * dim)));
  });
}

// ---------------------------------------------------------------- reductions

/** Sum of all elements (a scalar tensor). */
export function sum(x: Tensor): Tensor {
  const out = Float32Array.of(native.sum(x.data));
  return record("sum", out, [], [x], (g) => {
    const gx = gradSink(x, true);
    if (gx) native.binary(BinaryOp.Add, gx.buf, Float32Array.of(g[0]!), gx.buf);
  });
}

export function mean(x: Tensor): Tensor {
  return scale(sum(x), 1 / x.size);
}

/** Sum over one dimension (kept as size 1 when keepDim). */
export function sumDim(x: Tensor, dim: number, keepDim = false): Tensor {
  const d = dim < 0 ? x.ndim + dim : dim;
  if (d < 0 || d >= x.ndim) fail("sumDim", `dimension ${dim} out of range for ${shapeStr(x.shape)}`);
  const [outer, len, inner] = blocks(x.shape, d);
  const out = alloc(outer * inner);
  for (let o = 0; o < outer; o++) {
    const dst = out.subarray(o * inner, (o + 1) * inner);
    native.colSum(x.data.subarray(o * len * inner, (o + 1) * len * inner), len, inner, dst, false);
  }
  const shape = keepDim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
  return record("sumDim", out, shape, [x], (g) => {
    const gx = gradSink(x, true);
    if (!gx) return;
    for (let o = 0; o < outer; o++) {
      const dst = gx.buf.subarray(o * len * inner, (o + 1) * len * inner);
      native.binary(BinaryOp.Add, dst, g.subarray(o * inner, (o + 1) * inner), dst);
    }
  });
}

export function meanDim(x: Tensor, dim: number, keepDim = false): Tensor {
  const d = dim < 0 ? x.ndim + dim : dim;
  return scale(sumDim(x, d, keepDim), 1 / x.shape[d]!);
}

// ---------------------------------------------------------------- fused kernels

/**
 * Softmax over the last dimension of (scale * x + mask). mask is additive with shape
 * [rows / rowsPerMask, cols] (e.g. a [B, T] key mask for [B, H, T, T] scores).
 */
export function softmax(x: Tensor, opts: { scale?: number; mask?: Float32Array; rowsPerMask?: number } = {}): Tensor {
  const cols = x.shape[x.ndim - 1]!;
  const rows = x.size / cols;
  const sc = opts.scale ?? 1;
  const out = alloc(x.size);
  native.softmax({ x: x.data, y: out, rows, cols, scale: sc, mask: opts.mask ?? null, rowsPerMask: opts.rowsPerMask ?? rows });
  return record("softmax", out, x.shape, [x], (g) => {
    const gx = gradSink(x);
    if (gx) native.softmaxBackward({ y: out, dy: g, dx: gx.buf, rows, cols, scale: sc, acc: gx.acc });
  });
}

/** LayerNorm over the last dimension with affine gamma/beta. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const cols = x.shape[x.ndim - 1]!;
  if (gamma.size !== cols || beta.size !== cols)
    fail("layerNorm", `gamma/beta of size ${gamma.size}/${beta.size} do not match last dim ${cols} of ${shapeStr(x.shape)}`);
  const rows = x.size / cols;
  const out = alloc(x.size);
  const mean = alloc(rows);
  const rstd = alloc(rows);
  native.layerNorm({ x: x.data, gamma: gamma.data, beta: beta.data, y: out, mean, rstd, rows, cols, eps });
  return record("layerNorm", out, x.shape, [x, gamma, beta], (g) => {
    const gx = gradSink(x);
    // gamma/beta gradients always accumulate in the kernel, so a fresh buffer starts at zero.
    const gg = gradSink(gamma, true);
    const gb = gradSink(beta, true);
    native.layerNormBackward({
      x: x.data,
      gamma: gamma.data,
      mean,
      rstd,
      rows,
      cols,
      dy: g,
      dx: gx?.buf ?? null,
      dgamma: gg?.buf ?? null,
      dbeta: gb?.buf ?? null,
      acc: gx?.acc ?? false,
    });
  });
}

/** Rows of `weight` [vocab, dim] for each id; output shape [...idsShape, dim]. */
export function embedding(weight: Tensor, ids: Int32Array, idsShape: Shape): Tensor {
  if (weight.ndim !== 2) fail("embedding", `weight must be [vocab, dim], got ${shapeStr(weight.shape)}`);
  if (sizeOf(idsShape) !== ids.length) fail("embedding", `ids shape ${shapeStr(idsShape)} does not match ${ids.length} ids`);
  const [vocab, dim] = weight.shape as [number, number];
  const out = alloc(ids.length * dim);
  native.embedding(weight.data, vocab, dim, ids, out);
  return record("embedding", out, [...idsShape, dim], [weight], (g) => {
    const gw = gradSink(weight, true);
    if (gw) native.embeddingBackward(g, ids, dim, gw.buf, vocab);
  });
}

/** Mean cross-entropy of logits [N, C] against integer targets; rows equal to ignoreIndex are skipped. */
export function crossEntropy(logits: Tensor, targets: Int32Array, ignoreIndex = -100): Tensor {
  const cols = logits.shape[logits.ndim - 1]!;
  const rows = logits.size / cols;
  if (targets.length !== rows) fail("crossEntropy", `${targets.length} targets for ${rows} rows of logits`);
  const probs = alloc(logits.size);
  const [total, count] = native.crossEntropy({ logits: logits.data, targets, rows, cols, ignoreIndex, probs });
  const loss = count > 0 ? total / count : Number.NaN;
  return record("crossEntropy", Float32Array.of(loss), [], [logits], (g) => {
    const gx = gradSink(logits);
    if (gx && count > 0)
      native.crossEntropyBackward({ probs, targets, rows, cols, ignoreIndex, g: g[0]! / count, dx: gx.buf, acc: gx.acc });
  });
}

/** Source of dropout seeds; models pass their seeded Rng so runs are reproducible. */
export interface SeedSource {
  nextSeed(): number;
}

/** Inverted dropout: zero with probability p, scale the rest by 1/(1-p). Identity when p = 0. */
export function dropout(x: Tensor, p: number, rng: SeedSource): Tensor {
  if (p < 0 || p >= 1) fail("dropout", `probability ${p} must be in [0, 1)`);
  if (p === 0) return x;
  const out = alloc(x.size);
  const mask = allocBytes(x.size);
  native.dropout(x.data, out, mask, p, rng.nextSeed());
  return record("dropout", out, x.shape, [x], (g) => {
    const gx = gradSink(x);
    if (gx) native.dropoutBackward(g, mask, gx.buf, p, gx.acc);
  });
}

export interface AttentionOptions {
  heads: number;
  /** Additive key mask [B, T] (0 keep, large negative drop). */
  mask?: Float32Array | null;
  /** Hide keys after each query (GPT-2). */
  causal?: boolean;
  /** Dropout on the attention probabilities (training only). */
  dropout?: number;
  rng?: SeedSource;
  /** Defaults to 1/sqrt(head dim). */
  scale?: number;
}

/**
 * Multi-head scaled dot-product attention on projections q, k, v: [B, T, H*D] each.
 * Heads are read in place with strided GEMMs (no split/merge copies). Output [B, T, H*D].
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  if (q.ndim !== 3 || !sameShape(q.shape, k.shape) || !sameShape(q.shape, v.shape))
    fail(
      "attention",
      `q, k, v must share a [B, T, H*D] shape, got ${shapeStr(q.shape)}, ${shapeStr(k.shape)}, ${shapeStr(v.shape)}`,
    );
  const [B, T, HD] = q.shape as [number, number, number];
  return attentionImpl([q, k, v], [q.data, k.data, v.data], HD, B, T, HD, opts, (sinks, grads) => {
    // The kernel writes dv, dq, dk in turn per head; when inputs alias, every write must add.
    const aliased = q === k || q === v || k === v;
    const s = [gradSink(q, aliased), gradSink(k, aliased), gradSink(v, aliased)];
    if (aliased) for (const x of s) if (x) x.acc = true;
    sinks.push(...s);
    grads.push(...s.map((x) => x?.buf ?? null));
  });
}

/** Attention on one packed projection [B, T, 3*H*D] laid out q | k | v (GPT-2's c_attn). */
export function attentionPacked(qkv: Tensor, opts: AttentionOptions): Tensor {
  if (qkv.ndim !== 3 || qkv.shape[2]! % 3 !== 0) fail("attentionPacked", `expected [B, T, 3*H*D], got ${shapeStr(qkv.shape)}`);
  const [B, T, W] = qkv.shape as [number, number, number];
  const HD = W / 3;
  const views = [qkv.data, qkv.data.subarray(HD), qkv.data.subarray(2 * HD)];
  return attentionImpl([qkv], views, W, B, T, HD, opts, (sinks, grads) => {
    const s = gradSink(qkv);
    sinks.push(s, s, s);
    grads.push(...(s ? [s.buf, s.buf.subarray(HD), s.buf.subarray(2 * HD)] : [null, null, null]));
  });
}

type GradSinkResult = ReturnType<typeof gradSink>;

function attentionImpl(
  inputs: Tensor[],
  qkv: Float32Array[],
  ld: number,
  B: number,
  T: number,
  HD: number,
  opts: AttentionOptions,
  sinksFor: (sinks: GradSinkResult[], grads: Array<Float32Array | null>) => void,
): Tensor {
  const H = opts.heads;
  if (!Number.isInteger(H) || H < 1 || HD % H !== 0) fail("attention", `${HD} features do not split into ${H} heads`);
  const D = HD / H;
  const sc = opts.scale ?? 1 / Math.sqrt(D);
  const mask = opts.mask ?? null;
  if (mask && mask.length !== B * T) fail("attention", `mask has ${mask.length} entries, expected B*T = ${B * T}`);
  const p = opts.dropout ?? 0;
  if (p < 0 || p >= 1) fail("attention", `dropout ${p} must be in [0, 1)`);
  if (p > 0 && !opts.rng) fail("attention", "dropout needs an rng");
  const causal = opts.causal ?? false;
  const probs = alloc(B * H * T * T);
  const ctx = alloc(B * T * HD);
  const dropMask = p > 0 ? allocBytes(B * H * T * T) : null;
  const [q, k, v] = qkv as [Float32Array, Float32Array, Float32Array];
  const seed = p > 0 ? opts.rng!.nextSeed() : 0;
  // One precision for both directions, fixed when the forward ran.
  const bf16 = gemmBf16();
  native.attention({ q, k, v, ld, B, T, H, D, scale: sc, probs, dropP: p, dropMask, mask, causal, seed, ctx, bf16 });
  return record("attention", ctx, [B, T, HD], inputs, (g) => {
    const sinks: GradSinkResult[] = [];
    const grads: Array<Float32Array | null> = [];
    sinksFor(sinks, grads);
    const [gq, gk, gv] = sinks;
    native.attentionBackward({
      q,
      k,
      v,
      ld,
      B,
      T,
      H,
      D,
      scale: sc,
      probs,
      dropP: p,
      dropMask,
      dctx: g,
      dq: grads[0]!,
      dk: grads[1]!,
      dv: grads[2]!,
      accQ: gq?.acc ?? false,
      accK: gk?.acc ?? false,
      accV: gv?.acc ?? false,
      bf16,
    });
  });
}
