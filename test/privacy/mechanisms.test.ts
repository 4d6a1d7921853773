// Statistical tests of every noise mechanism, and proof that they can fail: the same checks
// reject a sampler whose scale or shape is wrong.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { gammaCdf, ksCritical, ksStatistic, laplaceCdf, normalCdf } from "../../src/eval/stats.js";
import {
  CTI_FLOOR,
  CryptoNoise,
  SeededNoise,
  buildCtiTable,
  createPrivatizer,
  ctiSummary,
  loadCtiTable,
  sampleDchi,
  sampleGamma,
  saveCtiTable,
  type NoiseSource,
  type PrivatizeInput,
} from "../../src/privacy/index.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const N = 10_000;

interface DchiSample {
  norms: Float64Array;
  meanU: Float64Array;
  /** E[u u^T] accumulated, d x d. */
  second: Float64Array;
}

function drawDchi(src: NoiseSource, d: number, eta: number, sampler = sampleDchi): DchiSample {
  const z = new Float64Array(d);
  const norms = new Float64Array(N);
  const meanU = new Float64Array(d);
  const second = new Float64Array(d * d);
  for (let n = 0; n < N; n++) {
    sampler(src, d, eta, z);
    let r = 0;
    for (let i = 0; i < d; i++) r += z[i]! * z[i]!;
    r = Math.sqrt(r);
    norms[n] = r;
    for (let i = 0; i < d; i++) {
      const ui = z[i]! / r;
      meanU[i]! += ui / N;
      for (let j = 0; j < d; j++) second[i * d + j]! += (ui * z[j]!) / r / N;
    }
  }
  return { norms, meanU, second };
}

/** The acceptance checks for d_χ; returns failures (empty when the sample fits). */
function dchiChecks(s: DchiSample, d: number, eta: number): string[] {
  const fails: string[] = [];
  const mean = s.norms.reduce((a, b) => a + b, 0) / N;
  if (Math.abs(mean / (d / eta) - 1) > 0.02) fails.push(`E|z| = ${mean.toFixed(4)} vs d/eta = ${(d / eta).toFixed(4)}`);
  const maxMean = Math.max(...s.meanU.map(Math.abs));
  // Each coordinate of u has sd 1/sqrt(d); the mean over N draws has sd 1/sqrt(dN). Allow 5 sd.
  if (maxMean > 5 / Math.sqrt(d * N)) fails.push(`mean of u not near 0: ${maxMean}`);
  let maxDev = 0;
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) maxDev = Math.max(maxDev, Math.abs(s.second[i * d + j]! - (i === j ? 1 / d : 0)));
  if (maxDev > 0.2 / d) fails.push(`E[uu^T] deviates from I/d by ${maxDev}`);
  const D = ksStatistic(s.norms, (x) => gammaCdf(x, d, 1 / eta));
  if (D > ksCritical(N, 1e-3)) fails.push(`KS D = ${D.toFixed(4)} > ${ksCritical(N, 1e-3).toFixed(4)}`);
  return fails;
}

describe("d_χ noise", () => {
  for (const [d, eta] of [
    [8, 2],
    [32, 10],
    [64, 0.5],
  ] as const) {
    it(`d = ${d}, η = ${eta}: E‖z‖ = d/η, uniform directions, ‖z‖ ~ Gamma(d, 1/η)`, () => {
      const fails = dchiChecks(drawDchi(new SeededNoise(d * 100 + eta), d, eta), d, eta);
      assert.deepEqual(fails, []);
    });
  }

  it("the CSPRNG source passes the same checks", () => {
    assert.deepEqual(dchiChecks(drawDchi(new CryptoNoise(), 16, 4), 16, 4), []);
  });

  it("a wrong scale or shape fails the checks", () => {
    const wrongScale = (src: NoiseSource, d: number, eta: number, out: Float64Array): void => sampleDchi(src, d, eta / 1.05, out);
    assert.ok(dchiChecks(drawDchi(new SeededNoise(1), 16, 4, wrongScale), 16, 4).some((f) => f.startsWith("E|z|")));
    const wrongShape = (src: NoiseSource, d: number, eta: number, out: Float64Array): void => {
      // Same mean d/η, wrong distribution: Gamma(d/2, 2/η).
      sampleDchi(src, d, eta, out);
      let r = 0;
      for (const v of out) r += v * v;
      const target = sampleGamma(src, d / 2, 2 / eta);
      for (let i = 0; i < d; i++) out[i]! *= target / Math.sqrt(r);
    };
    assert.ok(dchiChecks(drawDchi(new SeededNoise(2), 16, 4, wrongShape), 16, 4).some((f) => f.startsWith("KS")));
    const biasedDirection = (src: NoiseSource, d: number, eta: number, out: Float64Array): void => {
      sampleDchi(src, d, eta, out);
      out[0] = Math.abs(out[0]!);
    };
    assert.ok(dchiChecks(drawDchi(new SeededNoise(3), 16, 4, biasedDirection), 16, 4).some((f) => f.startsWith("mean of u")));
  });
});

function batchInput(B: number, T: number, d: number, mask: number[], ids?: number[], labels?: number[]): PrivatizeInput {
  return {
    hidden: Float32Array.from({ length: B * T * d }, (_, i) => Math.sin(i)),
    batchSize: B,
    seqLen: T,
    dim: d,
    attentionMask: Int32Array.from(mask),
    inputIds: Int32Array.from(ids ?? mask.map((_, i) => i % 5)),
    labels: labels ? Int32Array.from(labels) : undefined,
  };
}

describe("per-coordinate mechanisms", () => {
  it("gaussian: sd σ and normal shape; a wrong σ is rejected", () => {
    const p = createPrivatizer("gaussian", { sigma: 0.3 });
    const input = batchInput(1, N / 10, 10, new Array<number>(N / 10).fill(1));
    const noise = Float64Array.from(p.privatize(input, new SeededNoise(5)), (v, i) => v - input.hidden[i]!);
    const sd = Math.sqrt(noise.reduce((a, b) => a + b * b, 0) / noise.length);
    assert.ok(Math.abs(sd / 0.3 - 1) < 0.02, `sd ${sd}`);
    assert.ok(ksStatistic(noise, (x) => normalCdf(x, 0, 0.3)) < ksCritical(N, 1e-3));
    assert.ok(ksStatistic(noise, (x) => normalCdf(x, 0, 0.33)) > ksCritical(N, 1e-3));
  });

  it("laplace: E|x| = b and Laplace shape; a wrong b is rejected", () => {
    const p = createPrivatizer("laplace", { b: 0.5 });
    const input = batchInput(1, N / 10, 10, new Array<number>(N / 10).fill(1));
    const noise = Float64Array.from(p.privatize(input, new SeededNoise(6)), (v, i) => v - input.hidden[i]!);
    const meanAbs = noise.reduce((a, b) => a + Math.abs(b), 0) / noise.length;
    assert.ok(Math.abs(meanAbs / 0.5 - 1) < 0.03, `E|x| ${meanAbs}`);
    assert.ok(ksStatistic(noise, (x) => laplaceCdf(x, 0.5)) < ksCritical(N, 1e-3));
    assert.ok(ksStatistic(noise, (x) => laplaceCdf(x, 0.55)) > ksCritical(N, 1e-3));
  });

  it("every mechanism leaves padding untouched and changes real tokens (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
        fc.constantFrom("dchi", "gaussian", "laplace"),
        (maskBits, name) => {
          const mask = maskBits.map((b) => (b ? 1 : 0));
          const input = batchInput(1, mask.length, 4, mask);
          const params: Record<string, number> = { dchi: { eta: 5 }, gaussian: { sigma: 0.1 }, laplace: { b: 0.1 } }[name];
          const out = createPrivatizer(name, params).privatize(input, new SeededNoise(9));
          for (let t = 0; t < mask.length; t++) {
            const same = [0, 1, 2, 3].every((j) => out[t * 4 + j] === input.hidden[t * 4 + j]);
            if (mask[t] ? same : !same) return false;
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });

  it("clipping bounds the representation norm before noise", () => {
    const input = batchInput(1, 1, 4, [1]);
    input.hidden.set([30, 40, 0, 0]);
    const out = createPrivatizer("dchi", { eta: 1e9, clip: 5 }).privatize(input, new SeededNoise(1));
    assert.ok(Math.abs(out[0]! - 3) < 1e-4 && Math.abs(out[1]! - 4) < 1e-4);
  });

  it("bad parameters are named", () => {
    assert.throws(() => createPrivatizer("dchi", { eta: -1 }), /privatizer dchi: eta must be a number > 0, got -1/);
    assert.throws(() => createPrivatizer("nope", {}), /unknown privatizer "nope" \(available: .*dchi/);
  });
});

describe("CTI", () => {
  // Class 0 sentences use token 1 a lot, class 1 uses token 2; token 3 is everywhere.
  const seqs = [
    [1, 1, 3],
    [1, 3],
    [2, 3],
    [2, 2, 3],
  ].map((s) => Int32Array.from(s));
  const labels = [0, 0, 1, 1];

  it("follows the formula", () => {
    const t = buildCtiTable(seqs, labels, 2, 5);
    // totals: class 0 has 5 tokens, class 1 has 5; ξ = 1/5.
    const xi = 1 / 5;
    const freq: Record<string, number> = { "0,1": 3 / 5, "0,3": 2 / 5, "1,2": 3 / 5, "1,3": 2 / 5 };
    const f = (c: number, m: number): number => freq[`${c},${m}`] ?? 0;
    const ui01 = Math.log(f(0, 1) / (f(1, 1) + 3 * xi)); // log(0.6 / 0.6) = 0 -> floor
    assert.ok(Math.abs(t.multipliers[0 * 5 + 1]! - Math.max(ui01, CTI_FLOOR)) < 1e-6);
    const ui03 = Math.log(f(0, 3) / (f(1, 3) + 3 * xi)); // log(0.4/1.0) < 0 -> floor
    assert.ok(Math.abs(t.multipliers[0 * 5 + 3]! - Math.max(ui03, CTI_FLOOR)) < 1e-6);
    assert.equal(t.multipliers[1 * 5 + 4], Math.fround(CTI_FLOOR)); // never seen
  });

  it("gives discriminative tokens more budget and saves/loads the table", () => {
    // Larger corpus: token 7 only in class 1, many times.
    const s2 = [...Array(50).keys()].map((i) => Int32Array.from(i % 2 ? [7, 7, 7, 8] : [8, 9]));
    const l2 = [...Array(50).keys()].map((i) => i % 2);
    const t = buildCtiTable(s2, l2, 2, 10);
    assert.ok(t.multipliers[1 * 10 + 7]! > CTI_FLOOR);
    assert.equal(t.inferenceMultipliers[7], t.multipliers[1 * 10 + 7]);
    const summary = ctiSummary(t);
    // Only token 7 (class 1) and token 9 (class 0) tell the classes apart; 8 is in both.
    assert.deepEqual(summary.aboveFloor, [1, 1]);
    assert.equal(summary.aboveFloorInference, 2);
    const dir = mkdtempSync(join(tmpdir(), "sap-cti-"));
    try {
      saveCtiTable(join(dir, "cti.json"), t);
      const back = loadCtiTable(join(dir, "cti.json"));
      for (let i = 0; i < t.multipliers.length; i++) assert.ok(Math.abs(back.multipliers[i]! - t.multipliers[i]!) < 1e-5);
    } finally {
      rmSync(dir, { recursive: true });
    }
    // In use: the discriminative token gets less noise than a floor token.
    const p = createPrivatizer("cti", { eta: 10 }, { trainingSet: { inputIds: s2, labels: l2, numLabels: 2, vocabSize: 10 } });
    const d = 16;
    const input = batchInput(
      1,
      2000,
      d,
      new Array<number>(2000).fill(1),
      [...Array(2000).keys()].map((i) => (i % 2 ? 7 : 9)),
      [1],
    );
    const out = p.privatize(input, new SeededNoise(4));
    const norms = [0, 0];
    for (let t2 = 0; t2 < 2000; t2++) {
      let r = 0;
      for (let j = 0; j < d; j++) r += (out[t2 * d + j]! - input.hidden[t2 * d + j]!) ** 2;
      norms[t2 % 2]! += Math.sqrt(r) / 1000;
    }
    const eta9 = CTI_FLOOR * 10;
    const eta7 = t.multipliers[1 * 10 + 7]! * 10;
    assert.ok(Math.abs(norms[0]! / (d / eta9) - 1) < 0.05, `token 9 noise ${norms[0]} vs ${d / eta9}`);
    assert.ok(Math.abs(norms[1]! / (d / eta7) - 1) < 0.05, `token 7 noise ${norms[1]} vs ${d / eta7}`);
  });
});

describe("projection (text-to-text)", () => {
  const V = 50;
  const d = 8;
  const rng = new SeededNoise(11);
  const E = Float32Array.from({ length: V * d }, () => rng.normal());
  const vocab = { data: E, rows: V, dim: d };

  it("keeps tokens at a weak budget... of noise, replaces them under strong noise, never touches specials or padding", () => {
    const ids = Int32Array.from([0, 5, 6, 7, 1, 3]);
    const mask = Int32Array.from([1, 1, 1, 1, 1, 0]);
    const keep = createPrivatizer("projection", { eta: 1e6 }, { vocabEmbeddings: vocab, specialTokenIds: new Set([0, 1]) });
    assert.deepEqual([...keep.privatizeTokens!(ids, mask, new SeededNoise(1))], [...ids]);
    const strong = createPrivatizer("projection", { eta: 0.5 }, { vocabEmbeddings: vocab, specialTokenIds: new Set([0, 1]) });
    let changed = 0;
    for (let s = 0; s < 50; s++) {
      const out = strong.privatizeTokens!(ids, mask, new SeededNoise(100 + s));
      assert.equal(out[0], 0);
      assert.equal(out[4], 1);
      assert.equal(out[5], 3);
      for (const p of [1, 2, 3]) {
        assert.ok(out[p] !== 0 && out[p] !== 1, "special ids are never chosen");
        changed += out[p] !== ids[p] ? 1 : 0;
      }
    }
    assert.ok(changed > 100, `only ${changed}/150 tokens changed under strong noise`);
  });
});
