// The native addon itself: GEMM in every transpose combination (and batched, with offsets and
// strides) against a naive product, for this build (oneDNN or OpenBLAS), for the build without
// oneDNN (SAP_NO_DNNL) and for the portable fallback (SAP_NO_BLAS), both built here into scratch
// folders; argument-object errors name the field.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { Rng } from "../../src/tensor/index.js";
import { native, type NativeAddon } from "../../src/tensor/native.js";
import { repoRoot } from "../paths.js";

function naive(ta: boolean, tb: boolean, M: number, N: number, K: number, A: Float32Array, B: Float32Array): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) s += (ta ? A[p * M + i]! : A[i * K + p]!) * (tb ? B[j * K + p]! : B[p * N + j]!);
      C[i * N + j] = s;
    }
  return C;
}

function checkGemm(addon: NativeAddon): void {
  const rng = new Rng(5);
  for (const [M, N, K] of [
    [7, 5, 3],
    [64, 33, 70],
    [1, 1, 1],
  ] as const)
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        const A = Float32Array.from({ length: M * K }, () => rng.normal());
        const B = Float32Array.from({ length: K * N }, () => rng.normal());
        const C = Float32Array.from({ length: M * N }, () => rng.normal());
        const C0 = C.slice();
        addon.gemm({
          transA: ta,
          transB: tb,
          M,
          N,
          K,
          alpha: 0.5,
          beta: 2,
          a: A,
          lda: ta ? M : K,
          b: B,
          ldb: tb ? K : N,
          c: C,
          ldc: N,
        });
        const ref = naive(ta, tb, M, N, K, A, B);
        for (let i = 0; i < M * N; i++)
          assert.ok(
            Math.abs(C[i]! - (0.5 * ref[i]! + 2 * C0[i]!)) < 1e-4 * (1 + Math.abs(ref[i]!)),
            `gemm ${ta}/${tb} ${M}x${N}x${K} at ${i}`,
          );
      }
  // beta = 0 must overwrite garbage (even NaN) in C.
  const C = new Float32Array(4).fill(Number.NaN);
  addon.gemm({ M: 2, N: 2, K: 1, a: Float32Array.of(1, 2), lda: 1, b: Float32Array.of(3, 4), ldb: 2, c: C, ldc: 2 });
  assert.deepEqual([...C], [3, 4, 6, 8]);
  const [a16, b16, c16] = [new Float32Array(16), new Float32Array(16), new Float32Array(16)];
  assert.throws(
    () => addon.gemm({ M: 4, N: 4, K: 4, a: new Float32Array(15), lda: 4, b: b16, ldb: 4, c: c16, ldc: 4 }),
    /buffer too small for gemm A/,
  );
  // Offsets count against the buffer too.
  assert.throws(
    () => addon.gemm({ M: 4, N: 4, K: 4, a: a16, lda: 4, b: b16, bOff: 1, ldb: 4, c: c16, ldc: 4 }),
    /buffer too small for gemm B/,
  );
}

/** Batched products with offsets and strides, each batch against the naive product. */
function checkGemmBatched(addon: NativeAddon): void {
  const rng = new Rng(6);
  const [M, N, K, batch, off] = [3, 4, 5, 3, 2];
  const A = Float32Array.from({ length: off + batch * M * K }, () => rng.normal());
  const B = Float32Array.from({ length: batch * N * K }, () => rng.normal());
  const C = new Float32Array(off + batch * M * N).fill(Number.NaN);
  addon.gemm({
    transB: true,
    M,
    N,
    K,
    a: A,
    aOff: off,
    lda: K,
    strideA: M * K,
    b: B,
    ldb: K,
    strideB: N * K,
    c: C,
    cOff: off,
    ldc: N,
    strideC: M * N,
    batch,
  });
  assert.ok(Number.isNaN(C[0]!) && Number.isNaN(C[1]!), "nothing written before cOff");
  for (let bi = 0; bi < batch; bi++) {
    const ref = naive(false, true, M, N, K, A.subarray(off + bi * M * K), B.subarray(bi * N * K));
    for (let i = 0; i < M * N; i++)
      assert.ok(Math.abs(C[off + bi * M * N + i]! - ref[i]!) < 1e-4 * (1 + Math.abs(ref[i]!)), `batch ${bi} at ${i}`);
  }
  assert.throws(
    () =>
      addon.gemm({
        M,
        N,
        K,
        a: A,
        lda: K,
        strideA: M * K + 2,
        transB: true,
        b: B,
        ldb: K,
        strideB: N * K,
        c: C,
        ldc: N,
        strideC: M * N,
        batch,
      }),
    /buffer too small for gemm A/,
  );
}

const scratch: string[] = [];
after(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));

function nodeGyp(): string | null {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  return candidates.find((c): c is string => !!c && existsSync(c)) ?? null;
}

/** Builds the addon in a temp dir with extra environment (e.g. SAP_NO_BLAS=1) and loads it. */
function buildVariant(prefix: string, env: Record<string, string>): NativeAddon {
  const gyp = nodeGyp();
  assert.ok(gyp, "node-gyp (bundled with npm) not found");
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  cpSync(join(repoRoot, "native"), join(dir, "native"), { recursive: true });
  cpSync(join(repoRoot, "binding.gyp"), join(dir, "binding.gyp"));
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
  // Build against the headers of the running Node (no download), as npm is configured to.
  const prefixDir = join(dirname(process.execPath), "..");
  const nodedir =
    process.env.npm_config_nodedir ?? (existsSync(join(prefixDir, "include", "node", "node.h")) ? prefixDir : undefined);
  const args = [gyp, "rebuild", ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = spawnSync(process.execPath, args, { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8" });
  assert.equal(r.status, 0, `build with ${JSON.stringify(env)} failed:\n${r.stderr}`);
  return createRequire(import.meta.url)(join(dir, "build", "Release", "sap_native.node")) as NativeAddon;
}

describe("native addon", () => {
  it("GEMM (this build) matches a naive product for all transposes", () => {
    checkGemm(native);
    checkGemmBatched(native);
  });

  it("argument objects: a missing or mistyped field is named in the error", () => {
    const buf = new Float32Array(4);
    const args = { M: 2, N: 2, K: 1, a: buf, lda: 1, b: buf, ldb: 2, c: buf, ldc: 2 };
    assert.throws(() => native.gemm({ ...args, lda: undefined } as never), /gemm: field lda must be a number/);
    assert.throws(() => native.gemm({ ...args, c: new Float64Array(4) } as never), /gemm: field c must be a Float32Array/);
    assert.throws(() => (native.gemm as (...a: unknown[]) => void)(false, false, 2), /gemm: expects one argument object/);
    const ln = { x: buf, gamma: buf, beta: buf, y: buf, mean: buf, rstd: buf, rows: 1, cols: 4 };
    assert.throws(() => native.layerNorm(ln as never), /layerNorm: field eps must be a number/);
  });

  it("the portable fallback builds without BLAS, says so, and computes the same products", () => {
    const fallback = buildVariant("sap-fallback-", { SAP_NO_BLAS: "1" });
    assert.equal(fallback.info().blas, false);
    assert.equal(fallback.info().backend, "portable");
    checkGemm(fallback);
    checkGemmBatched(fallback);
  });

  it("without oneDNN (SAP_NO_DNNL) it builds on OpenBLAS or the portable loop and runs fp32 (bf16 ignored)", () => {
    const variant = buildVariant("sap-nodnnl-", { SAP_NO_DNNL: "1" });
    const info = variant.info();
    assert.notEqual(info.backend, "onednn");
    assert.equal(info.bf16, false);
    checkGemm(variant);
    checkGemmBatched(variant);
    // A bf16 request is answered in fp32 there: bit-identical to the plain call.
    const a = new Float32Array(6 * 5).map((_, i) => Math.sin(i) + 1 / 3),
      b = new Float32Array(5 * 4).map((_, i) => Math.cos(i) + 1 / 7);
    const c1 = new Float32Array(24),
      c2 = new Float32Array(24);
    variant.gemm({ M: 6, N: 4, K: 5, a, lda: 5, b, ldb: 4, c: c1, ldc: 4 });
    variant.gemm({ M: 6, N: 4, K: 5, a, lda: 5, b, ldb: 4, c: c2, ldc: 4, bf16: true });
    assert.deepEqual(c2, c1);
  });
});
