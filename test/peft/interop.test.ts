// Interop with the real Hugging Face libraries (torch, transformers, peft), through
// test/interop/peft_interop.py: LoRA adapters sap saves load with PeftModel.from_pretrained and give
// sap's logits; LoRA adapters PEFT saves load in sap and give PyTorch's logits; model directories
// sap saves load in transformers. Python comes from SAP_PYTHON (default /tmp/sap-venv/bin/python);
// without a usable one the tests skip, unless SAP_REQUIRE_INTEROP=1, when they fail.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { loadClassifier, savePretrained } from "../../src/models/checkpoint.js";
import type { SplittableModel } from "../../src/models/model.js";
import { goldenBatch } from "../../src/models/verify.js";
import { loadPeft, readAdapterConfig, savePeft, type PeftInstance } from "../../src/peft/index.js";
import { NoPrivatizer, SeededNoise } from "../../src/privacy/index.js";
import { Customer, Vendor } from "../../src/split/index.js";
import { AdamW, Rng, readSafetensors, tidy, writeSafetensors } from "../../src/tensor/index.js";
import { preparePeft } from "../../src/split/vendor.js";
import { predictTexts } from "../../src/train/predict.js";
import { fixture, repoRoot } from "../paths.js";

const TOL = 1e-4;
/** The LoRA's own share of the logits must dwarf TOL, or a LoRA that failed to load would pass. */
const MIN_EFFECT = 100 * TOL;
const SCRIPT = join(repoRoot, "test", "interop", "peft_interop.py");
const REQUIRE = process.env.SAP_REQUIRE_INTEROP === "1";
const SAP_BERT_TINY = join(repoRoot, "models", "sap-bert-tiny");

function findPython(): { python: string | null; why: string } {
  const python = process.env.SAP_PYTHON ?? (existsSync("/tmp/sap-venv/bin/python") ? "/tmp/sap-venv/bin/python" : null);
  if (!python) return { python: null, why: "no SAP_PYTHON set and no /tmp/sap-venv (create one with .ci/interop-venv.sh)" };
  const r = spawnSync(python, [SCRIPT, "check"], { encoding: "utf8", timeout: 120_000 });
  if (r.error) return { python: null, why: `${python}: ${r.error.message}` };
  if (r.status !== 0)
    return {
      python: null,
      why: `${python} cannot import torch+transformers+peft: ${r.stderr.trim().split("\n").pop()}`,
    };
  return { python, why: r.stdout.trim() };
}

interface Golden {
  input_ids: number[][];
  attention_mask: number[][];
}
const golden = (arch: string): Golden => JSON.parse(readFileSync(join(fixture(arch), "golden.json"), "utf8")) as Golden;

/** max |a - b| over max |b|: the error relative to the logits' scale. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "logit counts differ");
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
}

/** Logits through the split path (bottom -> privatizer none -> top), as `sap predict` runs them. */
function splitLogits(model: SplittableModel, split: number, peft: PeftInstance, g: Golden): Float32Array {
  const customer = new Customer({ model, split, privatizer: new NoPrivatizer(), noise: new SeededNoise(1) });
  const vendor = new Vendor({ model, split, peft });
  return tidy(() => vendor.predict(customer.encode(goldenBatch(g))));
}

/** How far the logits move when every lora_B is zeroed (the LoRA's contribution). */
function loraEffect(model: SplittableModel, split: number, peft: PeftInstance, g: Golden): number {
  const with_ = splitLogits(model, split, peft, g);
  const Bs = peft.trainable().filter(([n]) => n.endsWith(".lora.B"));
  const saved = Bs.map(([, t]) => t.data.slice());
  Bs.forEach(([, t]) => t.data.fill(0));
  const without = splitLogits(model, split, peft, g);
  Bs.forEach(([, t], i) => t.data.set(saved[i]!));
  return relErr(without, with_);
}

interface Case {
  id: string;
  base: string;
  inputs: Golden;
  numLabels: number;
  split: number;
  targets: string[];
}

// sap -> PEFT: sap trains a LoRA, PEFT loads it.
const SAP_CASES: Case[] = [
  { id: "bert", base: fixture("tiny-bert"), inputs: golden("tiny-bert"), numLabels: 2, split: 1, targets: ["query", "value"] },
  {
    id: "sap-bert-tiny",
    base: SAP_BERT_TINY,
    inputs: golden("tiny-bert"),
    numLabels: 3,
    split: 1,
    targets: ["query", "key", "value", "attention.output.dense"],
  },
  {
    id: "roberta",
    base: fixture("tiny-roberta"),
    inputs: golden("tiny-roberta"),
    numLabels: 2,
    split: 1,
    targets: ["query", "value"],
  },
  {
    id: "distilbert-split0",
    base: fixture("tiny-distilbert"),
    inputs: golden("tiny-distilbert"),
    numLabels: 2,
    split: 0,
    targets: ["q_lin", "v_lin"],
  },
  { id: "gpt2", base: fixture("tiny-gpt2"), inputs: golden("tiny-gpt2"), numLabels: 3, split: 1, targets: ["c_attn"] },
];

// PEFT -> sap: PEFT makes a random LoRA and head and saves it, sap loads it.
interface TorchCase extends Case {
  layers: number[] | null;
  layersPattern: string | null;
  modulesToSave: string[] | null;
}
const TORCH_CASES: TorchCase[] = [
  // PEFT's defaults for SEQ_CLS: only the classifier is saved; the pooler comes from the base.
  {
    id: "bert",
    base: fixture("tiny-bert"),
    inputs: golden("tiny-bert"),
    numLabels: 2,
    split: 1,
    targets: ["query", "value"],
    layers: [1],
    layersPattern: "layer",
    modulesToSave: null,
  },
  // "dense" matches attention.output.dense, intermediate.dense and output.dense, as in PEFT; the
  // MLM checkpoint has no pooler, so it has to travel with the adapter.
  {
    id: "sap-bert-tiny",
    base: SAP_BERT_TINY,
    inputs: golden("tiny-bert"),
    numLabels: 3,
    split: 1,
    targets: ["query", "value", "dense"],
    layers: [1],
    layersPattern: "layer",
    modulesToSave: ["pooler"],
  },
  {
    id: "roberta-all-layers",
    base: fixture("tiny-roberta"),
    inputs: golden("tiny-roberta"),
    numLabels: 2,
    split: 0,
    targets: ["query", "key", "value"],
    layers: null,
    layersPattern: null,
    modulesToSave: null,
  },
  {
    id: "gpt2",
    base: fixture("tiny-gpt2"),
    inputs: golden("tiny-gpt2"),
    numLabels: 3,
    split: 1,
    targets: ["c_attn", "c_proj"],
    layers: [1],
    layersPattern: "h",
    modulesToSave: null,
  },
];

// Model directories saved by sap (savePretrained, F32 and the F16 that pretraining writes).
const MODEL_CASES = [
  { id: "bert-f32", base: fixture("tiny-bert"), inputs: golden("tiny-bert"), numLabels: 2, dtype: "F32" as const },
  { id: "sap-bert-tiny-f16", base: SAP_BERT_TINY, inputs: golden("tiny-bert"), numLabels: 3, dtype: "F16" as const },
  { id: "gpt2-f32", base: fixture("tiny-gpt2"), inputs: golden("tiny-gpt2"), numLabels: 3, dtype: "F32" as const },
];

interface PyResult {
  error?: string;
  warnings: string[];
  logits?: number[][];
  base_logits?: number[][];
  not_loaded?: string[];
  not_in_file?: string[];
  max_abs_tensor_diff?: number | null;
  missing_keys?: string[];
  unexpected_keys?: string[];
  mismatched_keys?: string[];
  error_msgs?: string[];
}

const py = findPython();
const tmp = mkdtempSync(join(tmpdir(), "sap-interop-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const sapLogits = new Map<string, Float32Array>();
const sapEffect = new Map<string, number>();
const modelLogits = new Map<string, Float32Array>();
let results: Record<string, PyResult> = {};
const errors: Record<string, number> = {};
const effects: Record<string, number> = {};

/** Skips (or, with SAP_REQUIRE_INTEROP=1, fails) when there is no Python to compare with. */
function needPython(t: TestContext): boolean {
  if (py.python) return true;
  if (REQUIRE) assert.fail(`SAP_REQUIRE_INTEROP=1 but ${py.why}`);
  t.skip(`interop skipped: ${py.why}`);
  return false;
}

function result(key: string): PyResult {
  const r = results[key];
  assert.ok(r, `python gave no result for ${key}`);
  assert.ok(!r.error, `python failed on ${key}:\n${r.error}`);
  return r;
}

before(() => {
  if (!py.python) return;
  const jobs: Array<Record<string, unknown>> = [];
  for (const c of SAP_CASES) {
    const { model } = loadClassifier(c.base, { numLabels: c.numLabels, seed: 7 });
    const peft = preparePeft(
      model,
      c.split,
      { name: "lora", params: { rank: 4, alpha: 8, dropout: 0.1, targets: c.targets } },
      new Rng(5),
    );
    const customer = new Customer({ model, split: c.split, privatizer: new NoPrivatizer(), noise: new SeededNoise(1) });
    const labels = Int32Array.from(c.inputs.input_ids, (_, i) => i % c.numLabels);
    const wire = tidy(() => customer.encode(goldenBatch(c.inputs), labels));
    const optimizer = new AdamW(
      peft.trainable().map(([, t]) => t),
      { lr: 5e-2, weightDecay: 0 },
    );
    const vendor = new Vendor({ model, split: c.split, peft, optimizer, clip: 1 });
    for (let i = 0; i < 3; i++) tidy(() => vendor.trainStep(wire, 5e-2));
    sapLogits.set(c.id, splitLogits(model, c.split, peft, c.inputs));
    sapEffect.set(c.id, loraEffect(model, c.split, peft, c.inputs));
    const adapter = join(tmp, `sap-${c.id}`);
    savePeft(adapter, peft, {
      split: c.split,
      labels: model.config.labels,
      modelType: model.config.modelType,
      baseModel: c.base,
      privatizer: { name: "none", params: {} },
      maxSeqLen: 64,
    });
    jobs.push({ kind: "sap_to_torch", id: `sap:${c.id}`, base: c.base, adapter, num_labels: c.numLabels, ...c.inputs });
  }
  for (const c of TORCH_CASES)
    jobs.push({
      kind: "torch_to_sap",
      id: `torch:${c.id}`,
      base: c.base,
      out: join(tmp, `torch-${c.id}`),
      num_labels: c.numLabels,
      seed: 11,
      r: 4,
      alpha: 8,
      targets: c.targets,
      layers: c.layers,
      layers_pattern: c.layersPattern,
      modules_to_save: c.modulesToSave,
      ...c.inputs,
    });
  for (const c of MODEL_CASES) {
    const { model, config } = loadClassifier(c.base, { numLabels: c.numLabels, seed: 9 });
    const dir = join(tmp, `model-${c.id}`);
    savePretrained(model, config, dir, { dtype: c.dtype });
    // sap's own reading of what it wrote (F16 rounds the weights) is what transformers must match.
    const reloaded = loadClassifier(dir).model;
    modelLogits.set(c.id, splitLogits(reloaded, 1, preparePeft(reloaded, 1, { name: "full", params: {} }, new Rng(1)), c.inputs));
    jobs.push({ kind: "model", id: `model:${c.id}`, dir, ...c.inputs });
  }
  // The checkpoint sap's pretraining wrote (BertForMaskedLM, F16, tied decoder).
  jobs.push({ kind: "model", id: "model:mlm", dir: SAP_BERT_TINY, task: "mlm" });
  const jobsPath = join(tmp, "jobs.json");
  const outPath = join(tmp, "results.json");
  writeFileSync(jobsPath, JSON.stringify({ jobs }));
  const r = spawnSync(py.python, [SCRIPT, "run", jobsPath, outPath], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`peft_interop.py failed (${r.status ?? String(r.error)}):\n${r.stderr.slice(-4000)}`);
  results = (JSON.parse(readFileSync(outPath, "utf8")) as { results: Record<string, PyResult> }).results;
});

after(() => {
  if (Object.keys(errors).length)
    console.log(`# interop max relative errors (${py.why}): ${JSON.stringify(errors)}; LoRA effects: ${JSON.stringify(effects)}`);
});

describe("interop with transformers + peft", () => {
  for (const c of SAP_CASES)
    it(`a LoRA sap saved (${c.id}, split ${c.split}) loads with PeftModel.from_pretrained and gives sap's logits`, (t) => {
      if (!needPython(t)) return;
      const r = result(`sap:${c.id}`);
      assert.deepEqual(r.not_loaded, [], "file tensors PEFT's model does not have");
      assert.deepEqual(r.not_in_file, [], "PEFT tensors the file lacks");
      assert.equal(r.max_abs_tensor_diff, 0, "PEFT holds the file's values");
      assert.deepEqual(r.warnings, [], "PEFT warned");
      effects[`sap ${c.id}`] = sapEffect.get(c.id)!;
      assert.ok(sapEffect.get(c.id)! > MIN_EFFECT, `the trained LoRA moves the logits (${sapEffect.get(c.id)})`);
      const err = relErr(r.logits!.flat(), sapLogits.get(c.id)!);
      errors[`sap->torch ${c.id}`] = err;
      assert.ok(err <= TOL, `relative error ${err}`);
    });

  for (const c of TORCH_CASES)
    it(`a LoRA PEFT saved (${c.id}) loads in sap and gives PyTorch's logits`, (t) => {
      if (!needPython(t)) return;
      const r = result(`torch:${c.id}`);
      const dir = join(tmp, `torch-${c.id}`);
      const cfg = readAdapterConfig(dir);
      assert.equal(cfg.format, "hf-peft");
      assert.equal(cfg.split, c.split);
      assert.equal(cfg.labels.length, c.numLabels);
      const { model } = loadClassifier(c.base, { numLabels: c.numLabels, seed: 3 });
      const { instance } = loadPeft(dir, model);
      const logits = splitLogits(model, c.split, instance, c.inputs);
      const effect = loraEffect(model, c.split, instance, c.inputs);
      effects[`torch ${c.id}`] = effect;
      assert.ok(effect > MIN_EFFECT, `the random LoRA moves the logits (${effect})`);
      const err = relErr(logits, r.logits!.flat());
      errors[`torch->sap ${c.id}`] = err;
      assert.ok(err <= TOL, `relative error ${err}`);
    });

  it("sap predict runs a PEFT-saved adapter (labels and split read off the adapter)", (t) => {
    if (!needPython(t)) return;
    result("torch:bert");
    const preds = predictTexts(fixture("tiny-bert"), join(tmp, "torch-bert"), ["a gripping , funny movie", "dull"]);
    assert.equal(preds.length, 2);
    for (const p of preds) assert.deepEqual(Object.keys(p.probabilities), ["LABEL_0", "LABEL_1"]);
  });

  for (const c of MODEL_CASES)
    it(`a model directory sap saved (${c.id}) loads in transformers with every tensor and gives sap's logits`, (t) => {
      if (!needPython(t)) return;
      const r = result(`model:${c.id}`);
      assert.deepEqual([r.missing_keys, r.unexpected_keys, r.mismatched_keys], [[], [], []], "loading report");
      const err = relErr(r.logits!.flat(), modelLogits.get(c.id)!);
      errors[`model ${c.id}`] = err;
      assert.ok(err <= TOL, `relative error ${err}`);
    });

  it("the MLM checkpoint sap's pretraining wrote loads in transformers with every tensor", (t) => {
    if (!needPython(t)) return;
    const r = result("model:mlm");
    assert.deepEqual([r.missing_keys, r.unexpected_keys, r.mismatched_keys], [[], [], []], "loading report");
  });
});

describe("PEFT adapters sap refuses, with the reason", () => {
  const base = fixture("tiny-bert");
  /** A PEFT-layout adapter of sap's (written without Python), then edited. */
  function peftDir(name: string, edit: (cfg: Record<string, unknown>) => void): string {
    const { model } = loadClassifier(base, { seed: 1 });
    const peft = preparePeft(model, 1, { name: "lora", params: { rank: 4, alpha: 8, dropout: 0 } }, new Rng(2));
    const dir = join(tmp, `refuse-${name}`);
    mkdirSync(dir, { recursive: true });
    savePeft(dir, peft, { split: 1, labels: model.config.labels, modelType: "bert", baseModel: base });
    rmSync(join(dir, "sap_adapter.json"));
    const path = join(dir, "adapter_config.json");
    const cfg = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    edit(cfg);
    writeFileSync(path, JSON.stringify(cfg));
    return dir;
  }
  const fresh = (): SplittableModel => loadClassifier(base, { seed: 1 }).model;

  it("loads the unedited adapter (the edits below are what fails)", () => {
    const dir = peftDir("plain", () => {});
    assert.equal(loadPeft(dir, fresh()).config.split, 1);
  });
  for (const [name, edit, message] of [
    ["dora", (c: Record<string, unknown>) => (c.use_dora = true), /use_dora = true is not supported/],
    ["rslora", (c: Record<string, unknown>) => (c.use_rslora = true), /use_rslora = true is not supported/],
    ["regex", (c: Record<string, unknown>) => (c.target_modules = ".*query"), /regular expression/],
    ["bias", (c: Record<string, unknown>) => (c.bias = "all"), /bias "all" is not supported/],
    ["pissa", (c: Record<string, unknown>) => (c.init_lora_weights = "pissa"), /changes the base weights/],
    ["ia3", (c: Record<string, unknown>) => (c.peft_type = "IA3"), /PEFT IA3 adapter; sap loads PEFT LoRA adapters only/],
    ["layers", (c: Record<string, unknown>) => (c.layers_to_transform = [0]), /not a top block k\.\.1/],
    ["rank", (c: Record<string, unknown>) => (c.r = 8), /lora_A.weight has shape \[4, 32\] but the model expects \[8, 32\]/],
    ["targets", (c: Record<string, unknown>) => (c.target_modules = ["query"]), /unexpected tensor .*value\.lora_A\.weight/],
  ] as const)
    it(`refuses ${name}`, () => {
      const dir = peftDir(name, edit);
      assert.throws(() => loadPeft(dir, fresh()), message);
    });

  it("refuses a pickled adapter_model.bin without reading it", () => {
    const dir = peftDir("bin", () => {});
    rmSync(join(dir, "adapter_model.safetensors"));
    writeFileSync(join(dir, "adapter_model.bin"), "not a pickle");
    assert.throws(() => loadPeft(dir, fresh()), /only adapter_model\.bin \(a pickle\).*never unpickles/s);
  });

  it("refuses an adapter without its classification head", () => {
    const dir = peftDir("nohead", () => {});
    const st = join(dir, "adapter_model.safetensors");
    const { tensors } = readSafetensors(st);
    tensors.delete("base_model.model.classifier.weight");
    tensors.delete("base_model.model.classifier.bias");
    writeSafetensors(st, tensors);
    assert.throws(() => loadPeft(dir, fresh()), /no classification head/);
  });
});
