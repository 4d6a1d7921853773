// Every differentiable op: forward against a float64 reference where one is simple to write,
// and its gradient against finite differences. Table-driven so a new op is one row.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng, Tensor, backward, gradcheck, ops, randTensor, type Tensor as T } from "../../src/tensor/index.js";

const rng = new Rng(1234);
const constSeed = { nextSeed: () => 424242 };

interface Case {
  name: string;
  inputs: () => Tensor[];
  f: (xs: T[]) => T;
  tol?: number;
  eps?: number;
  maxElements?: number;
}

const r = (shape: number[], o: { scale?: number; awayFromZero?: number } = {}): Tensor => randTensor(shape, rng, o);

const mask = new Float32Array([0, 0, -1e9, 0, 0, 0, 0, -3.4e38]); // [B=2, T=4]

const cases: Case[] = [
  { name: "matmul shared rhs", inputs: () => [r([2, 3, 4]), r([4, 5])], f: ([a, b]) => ops.matmul(a!, b!) },
  { name: "matmul batched", inputs: () => [r([2, 3, 4]), r([2, 4, 5])], f: ([a, b]) => ops.matmul(a!, b!) },
  { name: "linear with bias", inputs: () => [r([2, 3, 4]), r([5, 4]), r([5])], f: ([x, w, b]) => ops.linear(x!, w!, b!) },
  {
    name: "linear in_out layout (Conv1D)",
    inputs: () => [r([2, 3, 4]), r([4, 5]), r([5])],
    f: ([x, w, b]) => ops.linear(x!, w!, b!, "in_out"),
  },
  { name: "linear without bias", inputs: () => [r([3, 4]), r([2, 4])], f: ([x, w]) => ops.linear(x!, w!) },
  { name: "add same shape", inputs: () => [r([3, 4]), r([3, 4])], f: ([a, b]) => ops.add(a!, b!) },
  { name: "add suffix broadcast", inputs: () => [r([2, 3, 4]), r([4])], f: ([a, b]) => ops.add(a!, b!) },
  { name: "add general broadcast", inputs: () => [r([3, 1]), r([1, 4])], f: ([a, b]) => ops.add(a!, b!) },
  { name: "sub broadcast", inputs: () => [r([2, 3]), r([2, 1])], f: ([a, b]) => ops.sub(a!, b!) },
  { name: "mul broadcast", inputs: () => [r([2, 3, 4]), r([3, 4])], f: ([a, b]) => ops.mul(a!, b!) },
  { name: "mul scalar tensor", inputs: () => [r([2, 3]), r([1])], f: ([a, b]) => ops.mul(a!, b!) },
  { name: "div", inputs: () => [r([2, 3]), r([2, 3], { awayFromZero: 1 })], f: ([a, b]) => ops.div(a!, b!) },
  { name: "affine", inputs: () => [r([2, 3])], f: ([a]) => ops.affine(a!, -1.5, 0.25) },
  { name: "gelu", inputs: () => [r([3, 5], { scale: 2 })], f: ([a]) => ops.gelu(a!) },
  { name: "gelu_new", inputs: () => [r([3, 5], { scale: 2 })], f: ([a]) => ops.geluNew(a!) },
  { name: "relu", inputs: () => [r([3, 5], { awayFromZero: 0.1 })], f: ([a]) => ops.relu(a!) },
  { name: "tanh", inputs: () => [r([3, 5])], f: ([a]) => ops.tanh(a!) },
  { name: "exp", inputs: () => [r([3, 5])], f: ([a]) => ops.exp(a!) },
  { name: "sigmoid", inputs: () => [r([3, 5])], f: ([a]) => ops.sigmoid(a!) },
  { name: "reshape", inputs: () => [r([2, 6])], f: ([a]) => ops.mul(ops.reshape(a!, [3, -1]), ops.reshape(a!, [3, 4])) },
  { name: "permute", inputs: () => [r([2, 3, 4])], f: ([a]) => ops.permute(a!, [2, 0, 1]) },
  { name: "transpose", inputs: () => [r([2, 3, 4])], f: ([a]) => ops.transpose(a!, 1, 2) },
  { name: "slice", inputs: () => [r([2, 5, 3])], f: ([a]) => ops.slice(a!, 1, 1, 4) },
  {
    name: "concat",
    inputs: () => [r([2, 2, 3]), r([2, 1, 3])],
    f: ([a, b]) => ops.concat([a!, b!, a!], 1),
  },
  { name: "selectRows", inputs: () => [r([4, 3])], f: ([a]) => ops.selectRows(a!, [3, 0, 3]) },
  { name: "sum", inputs: () => [r([3, 4])], f: ([a]) => ops.sum(a!) },
  { name: "mean", inputs: () => [r([3, 4])], f: ([a]) => ops.mean(a!) },
  { name: "sumDim", inputs: () => [r([2, 3, 4])], f: ([a]) => ops.sumDim(a!, 1) },
  { name: "meanDim keepDim", inputs: () => [r([2, 3, 4])], f: ([a]) => ops.meanDim(a!, -1, true) },
  { name: "softmax", inputs: () => [r([3, 6])], f: ([a]) => ops.softmax(a!) },
  {
    name: "softmax with scale and mask",
    inputs: () => [r([2, 3, 4])],
    f: ([a]) => ops.softmax(a!, { scale: 0.7, mask, rowsPerMask: 3 }),
  },
  {
    name: "layerNorm",
    inputs: () => [r([3, 8]), r([8]), r([8])],
    f: ([x, g, b]) => ops.layerNorm(x!, g!, b!, 1e-12),
    eps: 3e-3,
  },
  {
    name: "embedding",
    inputs: () => [r([6, 3])],
    f: ([w]) => ops.embedding(w!, Int32Array.from([1, 5, 1, 0]), [2, 2]),
  },
  {
    name: "crossEntropy with ignore",
    inputs: () => [r([4, 5])],
    f: ([x]) => ops.crossEntropy(x!, Int32Array.from([2, -100, 0, 4])),
  },
  { name: "dropout", inputs: () => [r([4, 8])], f: ([x]) => ops.dropout(x!, 0.3, constSeed) },
  {
    name: "attention with mask",
    inputs: () => [r([2, 4, 6]), r([2, 4, 6]), r([2, 4, 6])],
    f: ([q, k, v]) => ops.attention(q!, k!, v!, { heads: 2, mask }),
  },
  {
    name: "attention with dropout",
    inputs: () => [r([2, 4, 6]), r([2, 4, 6]), r([2, 4, 6])],
    f: ([q, k, v]) => ops.attention(q!, k!, v!, { heads: 3, dropout: 0.25, rng: constSeed }),
  },
  {
    name: "causal attention with mask",
    inputs: () => [r([2, 4, 6]), r([2, 4, 6]), r([2, 4, 6])],
    f: ([q, k, v]) => ops.attention(q!, k!, v!, { heads: 2, mask, causal: true }),
  },
  {
    name: "packed causal attention (GPT-2 layout)",
    inputs: () => [r([2, 4, 12])],
    f: ([qkv]) => ops.attentionPacked(qkv!, { heads: 2, causal: true }),
  },
  {
    name: "self-attention sharing one input",
    inputs: () => [r([1, 3, 4])],
    f: ([x]) => ops.attention(x!, x!, x!, { heads: 2 }),
  },
];

describe("gradient checks (finite differences)", () => {
  for (const c of cases) {
    it(c.name, () => {
      gradcheck(c.name, c.f, c.inputs(), { tol: c.tol, eps: c.eps, maxElements: c.maxElements });
    });
  }

  it("detects a wrong gradient", () => {
    // A deliberately broken op: forward is 2x, backward claims 3x. The checker must refuse it.
    const broken = (x: Tensor): Tensor => {
      const y = ops.affine(x, 2);
      const node = y.node;
      if (!node) return y; // finite-difference probes run without recording
      const orig = node.backward;
      (node as { backward: (g: Float32Array) => void }).backward = (g) => orig(Float32Array.from(g, (v) => v * 1.5));
      return y;
    };
    assert.throws(() => gradcheck("broken", ([x]) => broken(x!), [r([3])]), /differs|analytic/);
  });
});

function erf(x: number): number {
  // Abramowitz & Stegun 7.1.26 is too coarse for a reference; use the series / continued fraction.
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = t,
      term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}

describe("forward values against float64 references", () => {
  it("gelu, gelu_new, tanh, exp, sigmoid over a wide range", () => {
    const xs = Float32Array.from({ length: 2001 }, (_, i) => -10 + i * 0.01);
    const x = new Tensor(xs, [xs.length]);
    // gelu's absolute slack: 1 + erf(x) cancels for x << 0 in float32 (PyTorch's too).
    const refs: Array<[string, T, (v: number) => number, number?]> = [
      ["gelu", ops.gelu(x), (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)), 1e-6],
      ["gelu_new", ops.geluNew(x), (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))), 1e-6],
      ["tanh", ops.tanh(x), Math.tanh],
      ["exp", ops.exp(x), Math.exp],
      ["sigmoid", ops.sigmoid(x), (v) => 1 / (1 + Math.exp(-v))],
    ];
    for (const [name, y, f, absTol = 1e-7] of refs) {
      for (let i = 0; i < xs.length; i++) {
        const ref = f(xs[i]!);
        const err = Math.abs(y.data[i]! - ref) / Math.max(1e-6, Math.abs(ref));
        assert.ok(err < 2e-6 || Math.abs(y.data[i]! - ref) < absTol, `${name}(${xs[i]}) = ${y.data[i]} vs ${ref}`);
      }
    }
  });

  it("matmul and linear match a naive product", () => {
    const a = r([5, 7]);
    const w = r([3, 7]);
    const b = r([3]);
    const y = ops.linear(a, w, b);
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 3; j++) {
        let s = b.data[j]!;
        for (let p = 0; p < 7; p++) s += a.data[i * 7 + p]! * w.data[j * 7 + p]!;
        assert.ok(Math.abs(y.data[i * 3 + j]! - s) < 1e-4);
      }
  });

  it("softmax rows sum to 1, masked keys get 0, NaN propagates", () => {
    const x = r([2, 4]);
    const y = ops.softmax(x, { mask, rowsPerMask: 1 });
    for (let row = 0; row < 2; row++) {
      const s = y.data.slice(row * 4, row * 4 + 4).reduce((p, v) => p + v, 0);
      assert.ok(Math.abs(s - 1) < 1e-6);
    }
    assert.equal(y.data[2], 0);
    assert.equal(y.data[7], 0);
    const bad = Tensor.from([1, Number.NaN, 2]);
    assert.ok(ops.softmax(bad).data.every((v) => Number.isNaN(v)));
    assert.ok(Number.isNaN(ops.gelu(bad).data[1]!));
    assert.equal(ops.exp(Tensor.from([Number.POSITIVE_INFINITY])).data[0], Number.POSITIVE_INFINITY);
  });

  it("layerNorm normalises each row", () => {
    const x = r([4, 16], { scale: 3 });
    const y = ops.layerNorm(x, Tensor.full([16], 1), Tensor.zeros([16]), 1e-5);
    for (let row = 0; row < 4; row++) {
      const v = y.data.slice(row * 16, row * 16 + 16);
      const m = v.reduce((p, q) => p + q, 0) / 16;
      const var_ = v.reduce((p, q) => p + (q - m) ** 2, 0) / 16;
      assert.ok(Math.abs(m) < 1e-5 && Math.abs(var_ - 1) < 1e-3);
    }
  });

  it("crossEntropy matches log-softmax", () => {
    const x = Tensor.from([1, 2, 3, 0.5, -1, 0], [2, 3]);
    const loss = ops.crossEntropy(x, Int32Array.from([2, 0])).item();
    const l0 = -(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
    const l1 = -(0.5 - Math.log(Math.exp(0.5) + Math.exp(-1) + Math.exp(0)));
    assert.ok(Math.abs(loss - (l0 + l1) / 2) < 1e-6);
  });

  it("dropout keeps about 1-p of the entries and rescales them", () => {
    const x = Tensor.full([100000], 1);
    const y = ops.dropout(x, 0.1, new Rng(3));
    const kept = y.data.filter((v) => v !== 0);
    assert.ok(Math.abs(kept.length / 100000 - 0.9) < 0.005, `kept ${kept.length}`);
    assert.ok(kept.every((v) => Math.abs(v - 1 / 0.9) < 1e-6));
  });

  it("attention equals softmax(QK^T/sqrt(d))V per head", () => {
    const [B, Tn, H, D] = [1, 3, 2, 2];
    const q = r([B, Tn, H * D]);
    const k = r([B, Tn, H * D]);
    const v = r([B, Tn, H * D]);
    const out = ops.attention(q, k, v, { heads: H });
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Tn; i++) {
        const s = [...Array(Tn).keys()].map((j) => {
          let d = 0;
          for (let c = 0; c < D; c++) d += q.data[i * H * D + h * D + c]! * k.data[j * H * D + h * D + c]!;
          return d / Math.sqrt(D);
        });
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < D; c++) {
          let ref = 0;
          for (let j = 0; j < Tn; j++) ref += (e[j]! / z) * v.data[j * H * D + h * D + c]!;
          assert.ok(Math.abs(out.data[i * H * D + h * D + c]! - ref) < 1e-5);
        }
      }
  });
});

describe("autograd", () => {
  it("accumulates gradients of a tensor used twice and frees the graph", () => {
    const x = Tensor.from([1, 2, 3], [3], true);
    const y = ops.sum(ops.add(ops.mul(x, x), x)); // d/dx = 2x + 1
    backward(y);
    assert.deepEqual([...x.grad!], [3, 5, 7]);
    assert.equal(y.node, null);
  });

  it("refuses bad shapes with a message naming them", () => {
    assert.throws(() => ops.matmul(r([2, 3]), r([4, 5])), /inner dimensions differ: \[2, 3\] @ \[4, 5\]/);
    assert.throws(() => ops.add(r([2, 3]), r([4])), /do not broadcast/);
    assert.throws(() => ops.reshape(r([2, 3]), [4, 2]), /cannot reshape/);
    assert.throws(() => ops.embedding(r([4, 2]), Int32Array.from([4]), [1]), /outside the vocabulary/);
  });
});

describe("deferred initialisation", () => {
  it("gives the values an eager initialisation gives, and leaves later draws unchanged", async () => {
    const { Rng, init, withDeferredInit, materializeInit } = await import("../../src/tensor/index.js");
    const eager = new Rng(5);
    const e1 = init.normal([7, 3], 0.02, eager);
    const e2 = init.uniform([5], 0.3, eager);
    const e3 = init.normal([3], 1, eager); // odd sizes: a Box–Muller pair straddles tensors
    const eAfter = [eager.normal(), eager.uniform()];
    const lazy = new Rng(5);
    const [l1, l2, l3] = withDeferredInit(() => [
      init.normal([7, 3], 0.02, lazy),
      init.uniform([5], 0.3, lazy),
      init.normal([3], 1, lazy),
    ]);
    assert.deepEqual(
      [...l1!.data, ...l2!.data, ...l3!.data].every((x) => x === 0),
      true,
    );
    assert.deepEqual([lazy.normal(), lazy.uniform()], eAfter);
    for (const t of [l3!, l1!, l2!]) materializeInit(t);
    assert.deepEqual(Array.from(l1!.data), Array.from(e1.data));
    assert.deepEqual(Array.from(l2!.data), Array.from(e2.data));
    assert.deepEqual(Array.from(l3!.data), Array.from(e3.data));
  });
});
