// bf16 mixed precision against fp32: the GEMM binding (all transposes, strides, alpha/beta,
// batches) and a BERT layer forward + backward. The tolerances admit bf16 rounding (~1e-2
// relative) and are shown to reject a kernel that transposes an operand.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { BertLayer, additiveMask, type BertConfig } from "../../src/models/bert.js";
import { Rng, Tensor, backward, bf16Available, engineInfo, getPrecision, setPrecision, tidy } from "../../src/tensor/index.js";
import { native } from "../../src/tensor/native.js";

/** ||x - ref|| / ||ref||. */
function relErr(x: Float32Array, ref: Float32Array): number {
  let d = 0,
    n = 0;
  for (let i = 0; i < ref.length; i++) {
    d += (x[i]! - ref[i]!) ** 2;
    n += ref[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

// bf16 keeps 8 significand bits: per-operand rounding ~2^-9, products accumulated in fp32.
const BF16_TOL = 2e-2;
const skip = !bf16Available() && `bf16 not available (backend ${engineInfo().backend})`;

function rand(n: number, rng: Rng): Float32Array {
  return new Float32Array(n).map(() => rng.normal());
}

describe("bf16 mixed precision", { skip }, () => {
  afterEach(() => setPrecision("fp32"));

  it("defaults to fp32; auto picks bf16 here; unknown values are refused", () => {
    assert.equal(getPrecision(), "fp32");
    setPrecision("auto");
    assert.equal(getPrecision(), "bf16");
    assert.throws(() => setPrecision("fp16" as never), /precision must be one of/);
  });

  it("GEMM: bf16 matches fp32 for transposes, leading dims, alpha/beta and batches; a transposed operand does not", () => {
    const rng = new Rng(1);
    const M = 24,
      N = 40,
      K = 64,
      pad = 3;
    for (const transA of [false, true])
      for (const transB of [false, true])
        for (const batch of [1, 3]) {
          const lda = (transA ? M : K) + pad,
            ldb = (transB ? K : N) + pad,
            ldc = N + pad;
          const sa = (transA ? K : M) * lda,
            sb = (transB ? N : K) * ldb,
            sc = M * ldc;
          const a = rand(5 + batch * sa, rng),
            b = rand(7 + batch * sb, rng),
            c0 = rand(batch * sc, rng);
          const run = (bf16: boolean, tb = transB): Float32Array => {
            const c = c0.slice();
            native.gemm({
              transA,
              transB: tb,
              M,
              N,
              K,
              alpha: 0.5,
              beta: 0.25,
              a,
              aOff: 5,
              lda,
              strideA: sa,
              b,
              bOff: 7,
              ldb,
              strideB: sb,
              c,
              ldc,
              strideC: sc,
              batch,
              bf16,
            });
            return c;
          };
          const ref = run(false);
          const e = relErr(run(true), ref);
          const tag = `transA=${transA} transB=${transB} batch=${batch}`;
          assert.ok(e < BF16_TOL, `${tag}: bf16 relative error ${e}`);
          assert.ok(e > 1e-5, `${tag}: bf16 result equals fp32 (${e}); was bf16 used?`);
        }
    // The wrong-kernel control on a square product, where a transposed operand fits the shapes.
    const n = 64;
    const a = rand(n * n, rng),
      b = rand(n * n, rng);
    const prod = (transB: boolean, bf16: boolean): Float32Array => {
      const c = new Float32Array(n * n);
      native.gemm({ M: n, N: n, K: n, a, lda: n, b, ldb: n, c, ldc: n, transB, bf16 });
      return c;
    };
    const wrong = relErr(prod(true, true), prod(false, false));
    assert.ok(wrong > 10 * BF16_TOL, `a transposed operand gave relative error ${wrong}, within reach of the tolerance`);
  });

  it("a BERT layer forward + backward in bf16 stays within 2e-2 of fp32; one transposed weight does not", () => {
    const cfg: BertConfig = {
      vocabSize: 8,
      hiddenSize: 64,
      numLayers: 1,
      numHeads: 4,
      intermediateSize: 256,
      hiddenAct: "gelu",
      maxPositions: 64,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      hiddenDropout: 0,
      attentionDropout: 0,
      padTokenId: 0,
      initializerRange: 0.02,
      numLabels: 2,
    };
    const B = 2,
      T = 16;
    const rng = new Rng(3);
    const layer = new BertLayer(cfg, rng).eval();
    // Larger-than-init weights so every GEMM matters to the output (0.02 would let residuals dominate).
    for (const p of layer.parameters()) if (p.ndim === 2) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.15;
    const x0 = rand(B * T * cfg.hiddenSize, rng);
    const g = rand(B * T * cfg.hiddenSize, rng);
    const mask = additiveMask(new Int32Array(B * T).map((_, i) => (i % T < T - 3 ? 1 : 0)));
    const run = (): Float32Array[] => {
      layer.zeroGrad();
      const x = Tensor.from(x0, [B, T, cfg.hiddenSize], true);
      const y = tidy(() => {
        const out = layer.forward(x, mask);
        const copy = out.data.slice();
        backward(out, g);
        return copy;
      });
      return [y, x.grad!.slice(), ...layer.parameters().map((p) => p.grad!.slice())];
    };
    const names = ["output", "grad:x", ...layer.namedParameters().map(([n]) => `grad:${n}`)];
    const ref = run();
    setPrecision("bf16");
    const low = run();
    setPrecision("fp32");
    let worst = 0;
    for (let i = 0; i < ref.length; i++) {
      // The key bias shifts every score of a row alike, which softmax ignores: its gradient is
      // zero up to rounding, so a relative error says nothing there.
      if (names[i] === "grad:attention.self.key.bias") continue;
      const e = relErr(low[i]!, ref[i]!);
      worst = Math.max(worst, e);
      if (process.env.SAP_TEST_VERBOSE) console.log(`${names[i]} ${e.toExponential(2)}`);
      assert.ok(e < BF16_TOL, `${names[i]}: bf16 relative error ${e}`);
    }
    assert.ok(worst > 1e-4, `bf16 matched fp32 to ${worst}; were the products in bf16?`);
    // The same check against a layer whose query GEMM reads its (square) weight transposed, as
    // a kernel with a transposed operand would: it must fail by a wide margin.
    const w = layer.attention.self.query.weight;
    const h = cfg.hiddenSize;
    const t = new Float32Array(h * h);
    for (let r = 0; r < h; r++) for (let c = 0; c < h; c++) t[c * h + r] = w.data[r * h + c]!;
    w.data.set(t);
    const bad = run();
    const wrong = Math.max(relErr(bad[0]!, ref[0]!), relErr(bad[1]!, ref[1]!));
    assert.ok(wrong > 5 * BF16_TOL, `a transposed weight gave relative error ${wrong}, within reach of the tolerance`);
  });
});
