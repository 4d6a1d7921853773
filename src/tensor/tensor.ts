// The float32 Tensor and reverse-mode autograd at the level of whole operations: each op in
// ops.ts records one node whose hand-written backward accumulates into its inputs' gradients.
import { alloc, release } from "./memory.js";

export type Shape = readonly number[];

/** One recorded operation: how to push the output's gradient to the inputs. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  backward(grad: Float32Array): void;
}

let gradEnabled = true;

/** Runs fn with gradient recording off (inference, evaluation, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid dimension ${d} in shape [${shape.join(", ")}]`);
    n *= d;
  }
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export class Tensor {
  readonly data: Float32Array;
  readonly shape: number[];
  /** Gradient storage; kept across zeroGrad() so each step reuses it (see gradSink). */
  private gradBuf: Float32Array | null = null;
  private gradValid = false;
  requiresGrad: boolean;
  /** Set on tensors produced by a recorded op; null on leaves. */
  node: GradNode | null = null;
  name: string | undefined;

  constructor(data: Float32Array, shape: Shape, requiresGrad = false) {
    const n = sizeOf(shape);
    if (data.length !== n) throw new Error(`tensor data has ${data.length} elements but shape ${shapeStr(shape)} needs ${n}`);
    this.data = data;
    this.shape = [...shape];
    this.requiresGrad = requiresGrad;
  }

  static zeros(shape: Shape, requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(sizeOf(shape)), shape, requiresGrad);
  }

  static full(shape: Shape, value: number, requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape, requiresGrad);
  }

  static from(values: ArrayLike<number>, shape?: Shape, requiresGrad = false): Tensor {
    return new Tensor(Float32Array.from(values), shape ?? [values.length], requiresGrad);
  }

  static scalar(value: number): Tensor {
    return new Tensor(Float32Array.of(value), []);
  }

  /** The accumulated gradient, or null when none has been computed since the last reset. */
  get grad(): Float32Array | null {
    return this.gradValid ? this.gradBuf : null;
  }

  /** Setting null resets the gradient but keeps the storage for reuse. */
  set grad(g: Float32Array | null) {
    if (g === null) {
      this.gradValid = false;
      return;
    }
    if (g.length !== this.size) throw new Error(`gradient of ${g.length} values for a tensor of ${this.size}`);
    this.gradBuf = g;
    this.gradValid = true;
  }

  /** Detaches and returns the gradient storage (autograd uses this to recycle it). */
  takeGrad(): Float32Array | null {
    const g = this.gradValid ? this.gradBuf : null;
    this.gradBuf = null;
    this.gradValid = false;
    return g;
  }

  /** Storage for a gradient about to be (re)written: valid=true afterwards. @internal */
  gradStorage(): { buf: Float32Array; fresh: boolean; valid: boolean } {
    const valid = this.gradValid;
    if (!this.gradBuf) {
      // Leaves (parameters, inputs) own persistent storage; intermediates borrow from the pool.
      this.gradBuf = this.node ? alloc(this.size) : new Float32Array(this.size);
      this.gradValid = true;
      return { buf: this.gradBuf, fresh: !this.node, valid: false };
    }
    this.gradValid = true;
    return { buf: this.gradBuf, fresh: false, valid };
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new Error(`item() needs a one-element tensor, got shape ${shapeStr(this.shape)}`);
    return this.data[0]!;
  }

  /** A leaf copy sharing nothing with the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, false);
  }

  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape, false);
  }

  zeroGrad(): void {
    this.gradValid = false;
  }

  toString(): string {
    return `Tensor${shapeStr(this.shape)}${this.name ? ` ${this.name}` : ""}`;
  }
}

/** Creates the output tensor of an op; records the node when any input needs a gradient. */
export function record(
  op: string,
  data: Float32Array,
  shape: Shape,
  inputs: readonly Tensor[],
  backward: (grad: Float32Array) => void,
): Tensor {
  const needs = gradEnabled && inputs.some((t) => t.requiresGrad);
  const out = new Tensor(data, shape, needs);
  if (needs) out.node = { op, inputs, backward };
  return out;
}

/**
 * Where an op's backward writes the gradient of `t`: the existing gradient (acc = true: add into
 * it) or storage whose contents are stale (acc = false: overwrite it). Kernels that can only
 * accumulate ask for `zero`, which clears stale storage. Null when `t` needs no gradient.
 */
export function gradSink(t: Tensor, zero = false): { buf: Float32Array; acc: boolean } | null {
  if (!t.requiresGrad) return null;
  const s = t.gradStorage();
  if (s.valid) return { buf: s.buf, acc: true };
  if (zero && !s.fresh) s.buf.fill(0);
  return { buf: s.buf, acc: false };
}

/**
 * Adds g into t's gradient. With adopt, g may become the gradient of an intermediate tensor
 * (the caller gives it up); leaves always copy, as their storage outlives any scope.
 */
export function accumulateGrad(
  t: Tensor,
  g: Float32Array,
  adopt: boolean,
  add: (x: Float32Array, y: Float32Array) => void,
): void {
  if (!t.requiresGrad) return;
  if (t.grad) {
    add(g, t.grad);
    return;
  }
  if (adopt && t.node && !t.takeGrad()) {
    t.grad = g;
    return;
  }
  gradSink(t)!.buf.set(g);
}

/**
 * Reverse-mode sweep from `root`. Non-leaf gradients and graph nodes are dropped as soon as
 * they have been propagated, so activations are released right after the backward pass.
 */
export function backward(root: Tensor, grad?: Float32Array): void {
  if (!root.requiresGrad) throw new Error("backward(): the tensor does not require a gradient (nothing to differentiate)");
  if (!grad && root.size !== 1)
    throw new Error(`backward(): pass a gradient for a non-scalar output of shape ${shapeStr(root.shape)}`);
  if (grad && grad.length !== root.size) throw new Error("backward(): gradient size does not match the output");
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS post-order: graphs of deep models overflow a recursive one.
  const stack: Array<[Tensor, number]> = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node ? t.node.inputs : [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const child = inputs[i]!;
      if (child.node && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  root.grad = grad ? grad.slice() : Float32Array.of(1);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    const node = t.node!;
    const g = t.takeGrad();
    t.node = null;
    if (!g) continue;
    node.backward(g);
    // The gradient of an intermediate is dead once propagated, unless an input adopted it.
    if (t !== root && !node.inputs.some((x) => x.grad === g)) release(g);
  }
}
