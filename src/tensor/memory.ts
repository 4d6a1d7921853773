// Deterministic buffer reuse. Activations and gradients are recycled through a pool keyed by
// length instead of waiting for V8's garbage collector: fresh allocations cost page faults
// (measured: ~25% of a BERT-base layer step) and let RSS drift with GC timing.
//
// `tidy(fn)` opens a scope: every buffer allocated inside goes back to the pool when fn returns,
// except the data of the tensors fn returns or passes to keep(). Outside any scope, buffers are
// simply left to the garbage collector.
/** What a scope needs of a tensor (structural, so this file does not import tensor.ts, which imports it). */
interface ScopedTensor {
  data: Float32Array;
  shape: readonly number[];
  node: unknown;
}

// Idle ArrayBuffers by byte capacity. Capacities are rounded up to 8 steps per power of two
// (at most 12.5% slack), so batches whose sizes vary a little (masked-LM rows) still reuse memory.
const free = new Map<number, ArrayBuffer[]>();
const pooled = new WeakSet<ArrayBuffer>();
let pooledBytes = 0;
let freshBytes = 0;
/** Upper bound on idle pooled memory; beyond it released buffers go to the GC. */
let poolLimitBytes = 4 * 1024 ** 3;

type View = Float32Array | Uint8Array;

interface Scope {
  buffers: View[];
  kept: Set<View>;
}
const scopes: Scope[] = [];

/**
 * A buffer of n floats with UNSPECIFIED contents (use allocZeroed when the caller reads before
 * writing). Registered with the innermost tidy scope, if any.
 */
function capacityBytes(n: number): number {
  const bytes = Math.max(64, n * 4);
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const step = Math.max(16, pow / 8);
  return Math.ceil(bytes / step) * step;
}

function takeBuffer(cap: number): ArrayBuffer {
  const ab = free.get(cap)?.pop();
  if (ab) {
    pooled.delete(ab);
    pooledBytes -= ab.byteLength;
    return ab;
  }
  // Fresh memory costs a page fault per 4 KiB on first touch (~20 µs each measured here).
  freshBytes += cap;
  return new ArrayBuffer(cap);
}

export function alloc(n: number): Float32Array {
  const buf = new Float32Array(takeBuffer(capacityBytes(n)), 0, n);
  scopes[scopes.length - 1]?.buffers.push(buf);
  return buf;
}

/** A pooled byte buffer (dropout masks) with unspecified contents. */
export function allocBytes(n: number): Uint8Array {
  const buf = new Uint8Array(takeBuffer(capacityBytes(Math.ceil(n / 4))), 0, n);
  scopes[scopes.length - 1]?.buffers.push(buf);
  return buf;
}

export function allocZeroed(n: number): Float32Array {
  return alloc(n).fill(0);
}

/** Returns a buffer to the pool. Releasing twice is harmless; kept buffers are never released. */
export function release(buf: View): void {
  const ab = buf.buffer as ArrayBuffer;
  if (pooled.has(ab) || buf.length === 0) return;
  for (const s of scopes) if (s.kept.has(buf)) return;
  if (pooledBytes + ab.byteLength > poolLimitBytes) return;
  // Only whole buffers from alloc() (offset 0, bucketed capacity) are recycled: a view into a
  // buffer someone else owns may still be live.
  if (buf.byteOffset !== 0 || ab.byteLength !== capacityBytes(Math.ceil(buf.byteLength / 4))) return;
  pooled.add(ab);
  pooledBytes += ab.byteLength;
  let list = free.get(ab.byteLength);
  if (!list) free.set(ab.byteLength, (list = []));
  list.push(ab);
}

/** Marks tensors whose data must survive the innermost scope. Returns its argument. */
export function keep<T extends ScopedTensor | ScopedTensor[]>(t: T): T {
  const s = scopes[scopes.length - 1];
  if (s) for (const x of Array.isArray(t) ? t : [t]) s.kept.add(x.data);
  return t;
}

function collectTensors(v: unknown, out: ScopedTensor[], depth = 0): void {
  // Typed arrays are skipped whole: enumerating a [B, T, d] payload's values cost ~20% of a client step.
  if (!v || typeof v !== "object" || depth > 2 || ArrayBuffer.isView(v)) return;
  if ((v as ScopedTensor).data instanceof Float32Array && Array.isArray((v as ScopedTensor).shape)) {
    out.push(v as ScopedTensor);
    return;
  }
  for (const x of Array.isArray(v) ? v : Object.values(v as object)) collectTensors(x, out, depth + 1);
}

/**
 * Runs fn in a memory scope. Tensors in the result (a Tensor, an array or a plain object of them)
 * stay valid; every other buffer allocated inside is recycled, so the graph built inside must not
 * be used after the scope ends.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { buffers: [], kept: new Set() };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const b of scope.buffers) release(b);
    throw e;
  }
  const out: ScopedTensor[] = [];
  collectTensors(result, out);
  for (const t of out) scope.kept.add(t.data);
  scopes.pop();
  const parent = scopes[scopes.length - 1];
  for (const b of scope.buffers) {
    if (scope.kept.has(b)) parent?.buffers.push(b);
    else release(b);
  }
  // Kept tensors are not graph roots any more: their recorded nodes point at released buffers.
  for (const t of out) t.node = null;
  return result;
}

/** Pool diagnostics; freshBytes counts every byte ever allocated anew (not from the pool). */
export function memoryStats(): { pooledBytes: number; pooledBuffers: number; freshBytes: number; scopes: number } {
  let n = 0;
  for (const l of free.values()) n += l.length;
  return { pooledBytes, pooledBuffers: n, freshBytes, scopes: scopes.length };
}

/** Drops every idle pooled buffer (for the garbage collector) and sets the idle limit. */
export function trimPool(limitBytes = poolLimitBytes): void {
  free.clear();
  pooledBytes = 0;
  poolLimitBytes = limitBytes;
}
