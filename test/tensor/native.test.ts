// The native addon itself: GEMM in every transpose combination against a naive product, for the
// OpenBLAS build and for the portable fallback (built here without BLAS into a scratch folder).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { Rng, native, type NativeAddon } from "../../src/tensor/index.js";
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
        addon.gemm(ta, tb, M, N, K, 0.5, A, 0, ta ? M : K, B, 0, tb ? K : N, 2, C, 0, N);
        const ref = naive(ta, tb, M, N, K, A, B);
        for (let i = 0; i < M * N; i++)
          assert.ok(
            Math.abs(C[i]! - (0.5 * ref[i]! + 2 * C0[i]!)) < 1e-4 * (1 + Math.abs(ref[i]!)),
            `gemm ${ta}/${tb} ${M}x${N}x${K} at ${i}`,
          );
      }
  // beta = 0 must overwrite garbage (even NaN) in C.
  const C = new Float32Array(4).fill(Number.NaN);
  addon.gemm(false, false, 2, 2, 1, 1, Float32Array.of(1, 2), 0, 1, Float32Array.of(3, 4), 0, 2, 0, C, 0, 2);
  assert.deepEqual([...C], [3, 4, 6, 8]);
  assert.throws(
    () =>
      addon.gemm(false, false, 4, 4, 4, 1, new Float32Array(15), 0, 4, new Float32Array(16), 0, 4, 0, new Float32Array(16), 0, 4),
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

describe("native addon", () => {
  it("GEMM (this build) matches a naive product for all transposes", () => {
    checkGemm(native);
  });

  it("the portable fallback builds without BLAS, says so, and computes the same products", () => {
    const gyp = nodeGyp();
    assert.ok(gyp, "node-gyp (bundled with npm) not found");
    const dir = mkdtempSync(join(tmpdir(), "sap-fallback-"));
    scratch.push(dir);
    cpSync(join(repoRoot, "native"), join(dir, "native"), { recursive: true });
    cpSync(join(repoRoot, "binding.gyp"), join(dir, "binding.gyp"));
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
    // Build against the headers of the running Node (no download), as npm is configured to.
    const prefix = join(dirname(process.execPath), "..");
    const nodedir =
      process.env.npm_config_nodedir ?? (existsSync(join(prefix, "include", "node", "node.h")) ? prefix : undefined);
    const args = [gyp, "rebuild", ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
    const r = spawnSync(process.execPath, args, { cwd: dir, env: { ...process.env, SAP_NO_BLAS: "1" }, encoding: "utf8" });
    assert.equal(r.status, 0, `fallback build failed:\n${r.stderr}`);
    const fallback = createRequire(import.meta.url)(join(dir, "build", "Release", "sap_native.node")) as NativeAddon;
    assert.equal(fallback.info().blas, false);
    checkGemm(fallback);
  });
});
