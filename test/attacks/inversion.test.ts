// The attacks work (no privacy at k = 0: nearly every token comes back) and the defence works
// (strong d_χ noise: far fewer), and the sweep runs end to end on a tiny model.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { AttackContext, InversionAttack } from "../../src/attacks/attack.js";
import { TransformerInversionAttack } from "../../src/attacks/decoder.js";
import { LearnedInversionAttack } from "../../src/attacks/learned.js";
import { addRecovery, emptyCounts, recoveryMetrics } from "../../src/attacks/metrics.js";
import { NearestNeighbourAttack } from "../../src/attacks/nearest.js";
import { OptimizationInversionAttack } from "../../src/attacks/optimization.js";
import { makeCanaries, piiMask } from "../../src/attacks/canary.js";
import { attributeInference } from "../../src/attacks/attribute.js";
import { paddingProbe } from "../../src/attacks/padding.js";
import { loadTask } from "../../src/data/index.js";
import { runPrivacySweep, sweepSettings, type SweepOptions, type SweepSummaryRow } from "../../src/eval/sweep.js";
import { privacyUtilitySvg, worstCase, writeReport } from "../../src/eval/report.js";
import { loadClassifier } from "../../src/models/checkpoint.js";
import { loadTokenizer } from "../../src/models/tokenizers/index.js";
import { SeededNoise, createPrivatizer, registerPrivatizer } from "../../src/privacy/index.js";
import { Customer, collate } from "../../src/split/customer.js";
import { tidy } from "../../src/tensor/index.js";
import { dataPath, fixture, repoRoot } from "../paths.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const dataDir = dataPath();
const sst = loadTask("sst2", { dataDir, maxTrain: 200, maxEval: 48, seed: 2 });

function recovery(
  arch: string,
  split: number,
  privatizer: { name: string; params: Record<string, number> },
  attack: InversionAttack,
): number {
  const tok = loadTokenizer(fixture(arch));
  const { model } = loadClassifier(fixture(arch));
  const priv = createPrivatizer(privatizer.name, privatizer.params);
  const customer = new Customer({ model, split, privatizer: priv, noise: new SeededNoise(7) });
  const ctx: AttackContext = {
    model,
    split,
    tokenizer: tok,
    privatizer: priv,
    noise: new SeededNoise(8),
    publicTexts: loadTask("sst2", { dataDir, maxTrain: 600, seed: 9 }).train.map((e) => e.text),
    maxSeqLen: 32,
    seed: 1,
  };
  attack.prepare?.(ctx);
  const items = sst.dev.map((e) => {
    const x = tok.encode(e.text, undefined, { maxLength: 32, truncation: true });
    return { ids: Int32Array.from(x.ids), typeIds: Int32Array.from(x.typeIds), label: e.label };
  });
  const counts = emptyCounts();
  const specials = new Set([tok.clsId!, tok.sepId!, tok.padId]);
  for (let i = 0; i < items.length; i += 16) {
    const { batch } = collate(items.slice(i, i + 16), tok.padId);
    const wire = tidy(() => customer.encode(batch));
    addRecovery(counts, batch.inputIds, attack.invert(wire, ctx), wire.attentionMask, wire.batchSize, wire.seqLen, specials);
  }
  return recoveryMetrics(counts).recall;
}

describe("embedding inversion", () => {
  it("nearest neighbour recovers >= 95% of tokens at k = 0 without privacy (BERT, DistilBERT)", () => {
    for (const arch of ["tiny-bert", "tiny-distilbert"]) {
      const r = recovery(
        arch,
        0,
        { name: "none", params: {} },
        new NearestNeighbourAttack({ metric: "l2", candidates: "bottom" }),
      );
      assert.ok(r >= 0.95, `${arch}: recovered ${(100 * r).toFixed(1)}%`);
      const c = recovery(
        arch,
        0,
        { name: "none", params: {} },
        new NearestNeighbourAttack({ metric: "cosine", candidates: "bottom" }),
      );
      assert.ok(c >= 0.95, `${arch} cosine: recovered ${(100 * c).toFixed(1)}%`);
    }
  });

  it("strong d_χ noise defeats it", () => {
    const clean = recovery("tiny-bert", 0, { name: "none", params: {} }, new NearestNeighbourAttack());
    const noisy = recovery("tiny-bert", 0, { name: "dchi", params: { eta: 1 } }, new NearestNeighbourAttack());
    assert.ok(noisy < 0.2 && noisy < clean / 4, `with η = 1 the attack still recovers ${(100 * noisy).toFixed(1)}%`);
  });

  it("the learned inversion (MLP on public text) beats chance at k = 1 without privacy and degrades with noise", () => {
    const opts = { hidden: 64, epochs: 3, maxClasses: 300, lr: 3e-3, batchTokens: 128, maxTexts: 600 };
    const clean = recovery("tiny-bert", 1, { name: "none", params: {} }, new LearnedInversionAttack(opts));
    const noisy = recovery("tiny-bert", 1, { name: "dchi", params: { eta: 2 } }, new LearnedInversionAttack(opts));
    assert.ok(clean > 0.2, `clean recovery ${(100 * clean).toFixed(1)}%`);
    assert.ok(noisy < clean, `noisy ${noisy} vs clean ${clean}`);
  });

  it("the transformer-decoder inversion learns from context at k = 1 and degrades with noise", () => {
    const opts = { hidden: 64, layers: 1, heads: 2, epochs: 4, maxClasses: 300, lr: 3e-3, batchSize: 16, maxTexts: 600 };
    const clean = recovery("tiny-bert", 1, { name: "none", params: {} }, new TransformerInversionAttack(opts));
    const noisy = recovery("tiny-bert", 1, { name: "dchi", params: { eta: 2 } }, new TransformerInversionAttack(opts));
    assert.ok(clean > 0.2, `clean recovery ${(100 * clean).toFixed(1)}%`);
    assert.ok(noisy < clean, `noisy ${noisy} vs clean ${clean}`);
  });

  it("inversion by optimisation recovers tokens behind a layer (k = 1) and degrades with noise", () => {
    const attack = new OptimizationInversionAttack({ steps: 120, lr: 0.1 });
    const clean = recovery("tiny-bert", 1, { name: "none", params: {} }, attack);
    const noisy = recovery("tiny-bert", 1, { name: "dchi", params: { eta: 1 } }, attack);
    assert.ok(clean > 0.5, `clean recovery ${(100 * clean).toFixed(1)}%`);
    assert.ok(noisy < clean / 2, `noisy ${noisy} vs clean ${clean}`);
  });

  it("canaries mark exactly the planted personal data", () => {
    const tok = loadTokenizer(fixture("tiny-bert"));
    const [c] = makeCanaries(1, 3);
    const enc = tok.encode(c!.text, undefined, {});
    const mask = piiMask(enc.offsets, c!.spans);
    const pii = enc.tokens.filter((_, i) => mask[i]);
    assert.ok(pii.length >= 3);
    for (const [a, b] of c!.spans) assert.ok(c!.text.slice(a, b).length > 0);
    assert.ok(!pii.includes("[CLS]") && !pii.includes("is"));
  });

  it("attribute inference runs on IMDB ratings and reports a majority baseline", () => {
    const imdb = loadTask("imdb", { dataDir, maxEval: 120, maxTrain: 10, seed: 1 });
    const tok = loadTokenizer(fixture("tiny-bert"));
    const { model } = loadClassifier(fixture("tiny-bert"));
    const priv = createPrivatizer("none", {});
    const ctx: AttackContext = {
      model,
      split: 1,
      tokenizer: tok,
      privatizer: priv,
      noise: new SeededNoise(1),
      publicTexts: [],
      maxSeqLen: 64,
      seed: 1,
    };
    const dev = imdb.dev;
    const r = attributeInference(
      ctx,
      dev.slice(0, 60).map((e) => e.text),
      dev.slice(0, 60).map((e) => Number(e.meta!.rating)),
      dev.slice(60).map((e) => e.text),
      dev.slice(60).map((e) => Number(e.meta!.rating)),
      5,
    );
    assert.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.majorityBaseline >= 0 && r.majorityBaseline <= 1, JSON.stringify(r));
    assert.ok(r.classes >= 4 && r.testExamples === 60);
  });

  it("metrics count bags of tokens and skip specials and padding", () => {
    const c = emptyCounts();
    // [CLS]=1 a=5 b=6 [SEP]=2 pad
    addRecovery(
      c,
      Int32Array.from([1, 5, 6, 2, 0]),
      Int32Array.from([1, 6, 6, 2, 9]),
      Int32Array.from([1, 1, 1, 1, 0]),
      1,
      5,
      new Set([0, 1, 2]),
    );
    const m = recoveryMetrics(c);
    assert.equal(m.tokens, 2);
    assert.equal(m.recall, 0.5);
    assert.equal(m.precision, 0.5);
    assert.equal(m.exactSentenceRate, 0);
  });
});

function sweepDir(): string {
  const out = mkdtempSync(join(tmpdir(), "sap-sweep-"));
  dirs.push(out);
  return out;
}

/** A sweep on tiny-bert at k = 0 with the nearest-neighbour attack; fields overridable. */
function tinySweep(outDir: string, over: Partial<SweepOptions>): SweepOptions {
  return {
    modelDir: fixture("tiny-bert"),
    dataset: loadTask("sst2", { dataDir, maxTrain: 128, maxEval: 32, seed: 3 }),
    split: 0,
    privatizers: ["none"],
    attacks: ["nn-l2"],
    seeds: 1,
    publicTexts: [],
    peft: { name: "lora", params: {} },
    epochs: 1,
    batchSize: 32,
    lr: 1e-3,
    maxSeqLen: 32,
    outDir,
    ...over,
  };
}

describe("privacy sweep", () => {
  it("runs the grid on a tiny model, writes JSON/CSV/SVG/report, and resumes", async () => {
    const out = sweepDir();
    const opts = tinySweep(out, { privatizers: ["none", "dchi"], etas: [1, 500], canaries: 8 });
    const { summary } = await runPrivacySweep(opts);
    assert.equal(summary.length, 3);
    for (const f of ["results.json", "results.csv", "results.jsonl", "plot.svg", "report.md", "report.html"])
      assert.ok(existsSync(join(out, f)), f);
    const none = summary.find((r) => r.privatizer === "none")!;
    const strong = summary.find((r) => r.eta === 1)!;
    assert.ok(none.token_recovery > 0.95 && strong.token_recovery < none.token_recovery / 4);
    assert.ok(none.canary_recovery > 0.9, `canary PII recovered without privacy: ${none.canary_recovery}`);
    assert.ok(strong.canary_recovery < 0.3, `canary PII recovered under strong noise: ${strong.canary_recovery}`);
    assert.ok(readFileSync(join(out, "plot.svg"), "utf8").includes("<circle"));
    assert.match(
      readFileSync(join(out, "report.md"), "utf8"),
      /## Worst case over the attacks run[\s\S]*\| dchi \| η = 1 \| 0 \|/,
    );
    assert.equal(readFileSync(join(out, "report.html"), "utf8").match(/<table>/g)?.length, 2);
    // A second call finds every cell done and only rewrites the outputs.
    const lines = readFileSync(join(out, "results.jsonl"), "utf8").trim().split("\n").length;
    await runPrivacySweep(opts);
    assert.equal(readFileSync(join(out, "results.jsonl"), "utf8").trim().split("\n").length, lines);
  });

  it("an attack-only sweep reports no accuracy, also after resuming", async () => {
    const out = sweepDir();
    const opts = tinySweep(out, {
      dataset: loadTask("sst2", { dataDir, maxTrain: 64, maxEval: 16, seed: 3 }),
      privatizers: ["none"],
      etas: [],
      attackOnly: true,
    });
    const first = await runPrivacySweep(opts);
    assert.ok(Number.isNaN(first.summary[0]!.accuracy));
    const again = await runPrivacySweep(opts);
    assert.ok(Number.isNaN(again.summary[0]!.accuracy), `after resume: ${again.summary[0]!.accuracy}`);
    assert.match(readFileSync(join(out, "report.md"), "utf8"), /\| none \| — \| 0 \| nn-l2 \| n\/a \|/);
  });

  it("a different sweep in a used folder is refused, naming the differences; a growing grid is not", async () => {
    const out = sweepDir();
    const base = {
      privatizers: ["none"],
      etas: [],
      attackOnly: true,
      dataset: loadTask("sst2", { dataDir, maxTrain: 32, maxEval: 16, seed: 3 }),
    };
    await runPrivacySweep(tinySweep(out, base));
    const lines = (): number => readFileSync(join(out, "results.jsonl"), "utf8").trim().split("\n").length;
    assert.equal(lines(), 1);
    await assert.rejects(
      runPrivacySweep(tinySweep(out, { ...base, maxSeqLen: 16, split: 1 })),
      (e: Error) =>
        e.name === "RunMismatchError" &&
        /split: 0 there, 1 now/.test(e.message) &&
        /max_seq_len: 32 there, 16 now/.test(e.message),
    );
    await assert.rejects(
      runPrivacySweep(tinySweep(out, { ...base, modelDir: fixture("tiny-distilbert") })),
      /model: ".*tiny-bert" there, ".*tiny-distilbert" now/,
    );
    await assert.rejects(
      runPrivacySweep(tinySweep(out, { ...base, dataset: loadTask("sst2", { dataDir, maxTrain: 32, maxEval: 16, seed: 4 }) })),
      /data: /,
    );
    assert.equal(lines(), 1, "nothing was added by a refused sweep");
    // More mechanisms, budgets and seeds in the same sweep: only the new cells run.
    await runPrivacySweep(tinySweep(out, { ...base, privatizers: ["none", "dchi"], etas: [5], seeds: 2 }));
    assert.equal(lines(), 4);
    await assert.rejects(
      runPrivacySweep(tinySweep(out, { ...base, privatizers: ["dchi"], etas: [5], mechanismParams: { dchi: { clip: 3 } } })),
      /privatizer dchi: .*there, .*"clip":3.* now/,
    );
    // A folder that is not a sweep's, and --overwrite.
    const other = sweepDir();
    writeFileSync(join(other, "notes.txt"), "mine");
    await assert.rejects(runPrivacySweep(tinySweep(other, base)), /not empty and holds no sweep.json/);
    await runPrivacySweep(tinySweep(out, { ...base, split: 1, overwrite: true }));
    assert.equal(lines(), 1, "overwrite started from an empty results.jsonl");
  });

  it("the worst case per setting is the attack that recovered most, with gains against no privacy", () => {
    const row = (privatizer: string, eta: number | null, attack: string, acc: number, rec: number): SweepSummaryRow => ({
      privatizer,
      eta,
      split: 2,
      attack,
      accuracy: acc,
      accuracy_ci95: Number.NaN,
      token_recovery: rec,
      token_recovery_ci95: Number.NaN,
      empirical_privacy: 1 - rec,
      f1: rec,
      exact_sentence: 0,
      canary_recovery: Number.NaN,
      attack_success: Number.NaN,
      attack_baseline: Number.NaN,
      seeds: 1,
    });
    const w = worstCase([
      row("none", null, "mlp", 0.8, 0.6),
      row("none", null, "optim", Number.NaN, 0.75),
      row("dchi", 10, "mlp", 0.78, 0.3),
      row("dchi", 10, "optim", Number.NaN, 0.5),
    ]);
    assert.equal(w.length, 2);
    const d = w.find((x) => x.privatizer === "dchi")!;
    assert.equal(d.attack, "optim");
    assert.ok(Math.abs(d.empirical_privacy - 0.5) < 1e-12);
    assert.ok(Math.abs(d.accuracy - 0.78) < 1e-12 && Math.abs(d.accuracyChange + 0.02) < 1e-12);
    assert.ok(Math.abs(d.relativePrivacyGain - 1) < 1e-12, `${d.relativePrivacyGain}`); // 0.25 -> 0.5
  });
});

describe("the report shows every point", () => {
  const row = (
    privatizer: string,
    budget: string | null,
    eta: number | null,
    attack: string,
    acc: number,
    rec: number,
  ): SweepSummaryRow => ({
    privatizer,
    budget,
    eta,
    split: 0,
    attack,
    accuracy: acc,
    accuracy_ci95: Number.NaN,
    token_recovery: rec,
    token_recovery_ci95: Number.NaN,
    empirical_privacy: 1 - rec,
    f1: rec,
    exact_sentence: 0,
    canary_recovery: Number.NaN,
    attack_success: Number.NaN,
    attack_baseline: Number.NaN,
    seeds: 1,
  });
  // 4 mechanisms x 3 attacks = 12 series (more than the 8 colours); "none" recovers everything: x = 0 thrice.
  const rows: SweepSummaryRow[] = [];
  for (const a of ["nn-l2", "mlp", "optim"]) {
    rows.push(row("none", null, null, a, 0.8, 1));
    for (const [m, b] of [
      ["dchi", "eta"],
      ["cti", "eta"],
      ["gaussian", "sigma"],
    ] as const)
      for (const [i, v] of [1, 10].entries()) rows.push(row(m, b, b === "sigma" ? v / 10 : v, a, 0.55 + 0.1 * i, 0.4 + 0.2 * i));
  }

  it("distinct colour x marker per series, coincident points side by side, budget labels, a majority line", () => {
    const svg = privacyUtilitySvg(rows, { majority: 0.509 });
    const legend = svg
      .split("mechanism / attack</text>")[1]!
      .split("\n")
      .filter((l) => !l.startsWith("<line") && !l.startsWith("<text") && l.trim());
    const styles = legend.filter((l) => l !== "</svg>").map((l) => l.replace(/ (cx|cy|x|y|points|width|height)="[^"]*"/g, ""));
    assert.equal(styles.length, 12);
    assert.equal(new Set(styles).size, 12, "every series has its own colour and marker");
    const centres = [...svg.matchAll(/class="point" data-cx="([\d.]+)" data-cy="([\d.]+)"/g)].map((m) => `${m[1]},${m[2]}`);
    assert.equal(centres.length, rows.length);
    assert.equal(new Set(centres).size, rows.length, "no point drawn on another");
    const budgets = [...svg.matchAll(/class="budget"[^>]*>([^<]+)</g)].map((m) => m[1]);
    for (const t of ["η = 1", "η = 10", "σ = 0.1", "σ = 1"]) assert.ok(budgets.includes(t), `label ${t}`);
    assert.match(svg, /class="majority"[^>]*stroke-dasharray/);
    assert.match(svg, /majority class 50\.9%/);
  });

  it("the HTML page has a heading per section and the settings as a definition list", () => {
    const dir = sweepDir();
    writeReport(
      dir,
      rows,
      { model: "m", peft: { name: "lora", params: { rank: 8, alpha: 16 } }, train_examples: 10 },
      { majority: 0.5 },
    );
    const html = readFileSync(join(dir, "report.html"), "utf8");
    for (const h of ["Settings", "Plot", "Results", "Worst case over the attacks run"])
      assert.ok(html.includes(`<h2>${h}</h2>`), h);
    assert.match(
      html,
      /<dl><dt>model<\/dt><dd>m<\/dd><dt>peft<\/dt><dd>lora \(rank 8, alpha 16\)<\/dd><dt>train examples<\/dt><dd>10<\/dd><\/dl>/,
    );
    assert.doesNotMatch(html, /\{&quot;|\{"/, "no raw JSON");
    assert.match(readFileSync(join(dir, "report.md"), "utf8"), /## Settings\n\n- model: m\n- peft: lora \(rank 8, alpha 16\)/);
  });
});

describe("registries drive the sweep", () => {
  it("a mechanism registered at run time is swept over its own declared budget, with no other edit", async () => {
    registerPrivatizer({
      name: "test-scaled",
      summary: "test only: multiplies representations by a factor",
      params: [{ name: "factor", type: "number", min: 0, minExclusive: true, budget: true, sweep: [0.5, 2], help: "the factor" }],
      create: (p) => ({
        name: "test-scaled",
        params: p as Record<string, number>,
        privatize: (input) => input.hidden.map((x) => x * (p.factor as number)),
        describe: () => `scaled by ${String(p.factor)}`,
      }),
    });
    assert.deepEqual(
      sweepSettings({ privatizers: ["test-scaled"] }).map((s) => [s.budget, s.eta]),
      [
        ["factor", 0.5],
        ["factor", 2],
      ],
    );
    assert.throws(
      () => sweepSettings({ privatizers: ["test-scaled"], budgets: { "test-scaled": [-1] } }),
      /factor must be a number > 0/,
    );
    const out = sweepDir();
    const { summary } = await runPrivacySweep(tinySweep(out, { privatizers: ["test-scaled"], attackOnly: true }));
    assert.deepEqual(summary.map((r) => `${r.privatizer}|${r.budget}|${r.eta}`).sort(), [
      "test-scaled|factor|0.5",
      "test-scaled|factor|2",
    ]);
    assert.ok(
      summary.every((r) => Number.isFinite(r.token_recovery)),
      "the attack ran on both cells",
    );
  });

  it("gaussian and laplace sweep their own budgets (sigma, b)", async () => {
    const out = sweepDir();
    const { summary } = await runPrivacySweep(
      tinySweep(out, {
        privatizers: ["gaussian", "laplace"],
        budgets: { gaussian: [0.01, 5], laplace: [0.01] },
        attackOnly: true,
      }),
    );
    const g = summary.filter((r) => r.privatizer === "gaussian");
    assert.deepEqual(
      g.map((r) => r.budget),
      ["sigma", "sigma"],
    );
    assert.ok(
      g.find((r) => r.eta === 0.01)!.token_recovery > g.find((r) => r.eta === 5)!.token_recovery,
      "more noise, less recovery",
    );
    assert.equal(summary.find((r) => r.privatizer === "laplace")!.budget, "b");
    assert.match(readFileSync(join(out, "report.md"), "utf8"), /\| gaussian \| σ = 5 \|/);
  });

  it("bad grids are refused before any work: unknown attack, attack params, a dataset the attack cannot use", async () => {
    const out = sweepDir();
    await assert.rejects(runPrivacySweep(tinySweep(out, { attacks: ["nope"] })), /unknown attack "nope"/);
    await assert.rejects(
      runPrivacySweep(tinySweep(out, { attackParams: { "nn-l2": { k: 1 } } })),
      /attack nn-l2: unknown parameter "k"/,
    );
    await assert.rejects(runPrivacySweep(tinySweep(out, { attacks: ["aia-rating"] })), /needs the "rating" field/);
    assert.ok(!existsSync(join(out, "results.jsonl")), "nothing ran");
  });
});

describe("epoch averaging", () => {
  it("beats one copy when every epoch is privatized afresh, gains nothing against a release made once", async () => {
    const cell = { privatizers: ["dchi"], budgets: { dchi: [5] }, attacks: ["nn-l2", "epoch-average"], attackOnly: true };
    const params = { attackParams: { "epoch-average": { copies: 6, inner: "nn-l2" } } };
    const run = async (freshNoise: boolean): Promise<Map<string, SweepSummaryRow>> => {
      const { summary } = await runPrivacySweep(tinySweep(sweepDir(), { ...cell, ...params, freshNoise }));
      return new Map(summary.map((r) => [r.attack, r]));
    };
    const fresh = await run(true);
    const once = await run(false);
    const one = fresh.get("nn-l2")!.token_recovery;
    assert.ok(one > 0.05 && one < 0.9, `one copy recovers some tokens, not all (${one})`);
    assert.ok(fresh.get("epoch-average")!.token_recovery > one + 0.05, "averaging fresh copies recovers more");
    // Privatized once, the copies are identical: the average is the single release.
    assert.equal(once.get("epoch-average")!.token_recovery, once.get("nn-l2")!.token_recovery);
  });
});

describe("padding-row probe", () => {
  it("reads the label from version-1 padding rows, and only guesses the majority from version 2's zeros", () => {
    const dir = join(repoRoot, "models", "sap-bert-mini");
    const ds = loadTask("sst2", { dataDir, maxTrain: 1400, maxEval: 10, seed: 5 });
    const { model } = loadClassifier(dir, { labels: ds.labels });
    const ctx: AttackContext = {
      model,
      split: 2,
      tokenizer: loadTokenizer(dir),
      privatizer: createPrivatizer("dchi", { eta: 10 }),
      noise: new SeededNoise(3),
      publicTexts: [],
      maxSeqLen: 64,
      seed: 1,
    };
    const part = (xs: typeof ds.train): { texts: string[]; labels: number[] } => ({
      texts: xs.map((e) => e.text),
      labels: xs.map((e) => e.label),
    });
    const [pub, priv] = [part(ds.train.slice(0, 1000)), part(ds.train.slice(1000))];
    const v1 = paddingProbe(ctx, pub, priv, { version: 1, epochs: 30 });
    assert.ok(v1.accuracy > v1.majorityBaseline + 0.08, `undefended: ${v1.accuracy} vs majority ${v1.majorityBaseline}`);
    const v2 = paddingProbe(ctx, pub, priv, { version: 2, epochs: 30 });
    assert.ok(Math.abs(v2.accuracy - v2.majorityBaseline) < 0.01, `wire 2: ${v2.accuracy} vs majority ${v2.majorityBaseline}`);
  });
});
