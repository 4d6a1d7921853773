// Every PEFT method through the same checks, on every architecture (table-driven, as peft does):
// what trains, that a step moves only that, save/load round trips, and LoRA merge/unmerge.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadClassifier } from "../../src/models/checkpoint.js";
import type { SplittableModel } from "../../src/models/model.js";
import { goldenBatch } from "../../src/models/verify.js";
import { listPeft, loadPeft, savePeft } from "../../src/peft/index.js";
import { NoPrivatizer, SeededNoise } from "../../src/privacy/index.js";
import { Customer, Vendor } from "../../src/split/index.js";
import type { WireBatch } from "../../src/wire/index.js";
import { AdamW, Rng, readSafetensors, tidy, writeSafetensors } from "../../src/tensor/index.js";
import { preparePeft } from "../../src/split/vendor.js";
import { fixture } from "../paths.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const ARCHS = ["tiny-bert", "tiny-roberta", "tiny-distilbert", "tiny-gpt2"] as const;
const METHODS = ["lora", "adapter", "prompt", "prefix", "bitfit", "full"] as const;
const SPLIT = 1;

function setup(
  arch: string,
  method: string,
): { model: SplittableModel; vendor: Vendor; wire: WireBatch; peft: ReturnType<typeof preparePeft> } {
  const { model } = loadClassifier(fixture(arch), { seed: 3 });
  const golden = JSON.parse(readFileSync(join(fixture(arch), "golden.json"), "utf8")) as {
    input_ids: number[][];
    attention_mask: number[][];
  };
  const batch = goldenBatch(golden);
  const peft = preparePeft(
    model,
    SPLIT,
    { name: method, params: method === "lora" ? { rank: 4, alpha: 8, dropout: 0 } : {} },
    new Rng(5),
  );
  const customer = new Customer({ model, split: SPLIT, privatizer: new NoPrivatizer(), noise: new SeededNoise(1) });
  const wire = tidy(() => customer.encode(batch, Int32Array.from([1, 0])));
  const optimizer = new AdamW(
    peft.trainable().map(([, t]) => t),
    { lr: 1e-2, weightDecay: 0 },
  );
  return { model, vendor: new Vendor({ model, split: SPLIT, peft, optimizer, clip: 1 }), wire, peft };
}

describe("PEFT methods (table-driven)", () => {
  it("the registry lists all six", () => {
    assert.deepEqual(
      listPeft()
        .map((m) => m.name)
        .sort(),
      [...METHODS].sort(),
    );
  });

  for (const arch of ARCHS)
    for (const method of METHODS) {
      it(`${method} on ${arch}: trains only its parameters, saves and loads`, () => {
        const { model, vendor, wire, peft } = setup(arch, method);
        const trainable = new Set(peft.trainable().map(([n]) => n));
        const headish = (n: string): boolean => !n.includes(".layer.") && !n.includes("embeddings.") && !n.includes(".h.");
        for (const [n, t] of model.namedParameters()) {
          assert.equal(t.requiresGrad, trainable.has(n), `${n} requiresGrad`);
          // Nothing of the customer's bottom (embeddings, layer 0) ever trains.
          if (n.includes("embeddings.") || n.includes(".layer.0.")) assert.ok(!trainable.has(n), `${n} is bottom`);
        }
        if (method === "lora") assert.ok([...trainable].some((n) => n.endsWith(".lora.A")));
        if (method === "bitfit") assert.ok([...trainable].every((n) => n.endsWith(".bias") || headish(n)));
        assert.ok([...trainable].some(headish), "the head always trains");

        const before = new Map(model.namedParameters().map(([n, t]) => [n, t.data.slice()]));
        const logits0 = tidy(() => vendor.predict(wire));
        for (let i = 0; i < 3; i++) tidy(() => vendor.trainStep(wire, 1e-2));
        for (const [n, t] of model.namedParameters()) {
          const moved = t.data.some((v, i) => v !== before.get(n)![i]);
          if (!trainable.has(n)) assert.ok(!moved, `${n} moved but is frozen`);
        }
        const logits1 = tidy(() => vendor.predict(wire));
        assert.ok(
          logits1.some((v, i) => Math.abs(v - logits0[i]!) > 1e-6),
          "training changed the output",
        );

        const dir = mkdtempSync(join(tmpdir(), "sap-peft-"));
        dirs.push(dir);
        savePeft(dir, peft, { split: SPLIT, labels: model.config.labels, modelType: model.config.modelType, baseModel: arch });
        const fresh = loadClassifier(fixture(arch), { seed: 99 }).model;
        const loaded = loadPeft(dir, fresh);
        const v2 = new Vendor({
          model: fresh,
          split: SPLIT,
          peft: loaded.instance,
          optimizer: new AdamW([], { lr: 1 }),
          clip: 1,
        });
        const logits2 = tidy(() => v2.predict(wire));
        logits2.forEach((v, i) => assert.ok(Math.abs(v - logits1[i]!) < 1e-5, `reloaded logit ${i}: ${v} vs ${logits1[i]}`));
      });
    }

  it("LoRA and adapters start as the base model; LoRA merges and unmerges", () => {
    for (const method of ["lora", "adapter"]) {
      const base = setup("tiny-bert", "full");
      const ref = tidy(() => base.vendor.predict(base.wire));
      const { vendor, wire, peft, model } = setup("tiny-bert", method);
      const start = tidy(() => vendor.predict(wire));
      start.forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) < 1e-6, `${method} changes the untrained model`));
      if (method !== "lora") continue;
      for (let i = 0; i < 3; i++) tidy(() => vendor.trainStep(wire, 1e-2));
      const q = model.namedParameters().find(([n]) => n.endsWith("layer.1.attention.self.query.weight"))![1];
      const w0 = q.data.slice();
      const unmerged = tidy(() => vendor.predict(wire));
      peft.merge!();
      assert.ok(
        q.data.some((v, i) => v !== w0[i]),
        "merge folds B·A into the weight",
      );
      const merged = tidy(() => vendor.predict(wire));
      merged.forEach((v, i) => assert.ok(Math.abs(v - unmerged[i]!) < 1e-5, `merged logit ${i}`));
      peft.unmerge!();
      q.data.forEach((v, i) => assert.ok(Math.abs(v - w0[i]!) < 1e-6, "unmerge restores the weight"));
    }
  });

  it("a LoRA saved in sap's own format (sap-peft-v1, before PEFT's layout) still loads", () => {
    const { model, vendor, wire, peft } = setup("tiny-bert", "lora");
    for (let i = 0; i < 3; i++) tidy(() => vendor.trainStep(wire, 1e-2));
    const want = tidy(() => vendor.predict(wire));
    const dir = mkdtempSync(join(tmpdir(), "sap-peft-v1-"));
    dirs.push(dir);
    // What savePeft wrote for every method before LoRA moved to PEFT's layout.
    writeSafetensors(
      join(dir, "adapter_model.safetensors"),
      peft.trainable().map(([n, t]) => [n, { shape: t.shape, data: t.data }]),
    );
    const cfg = {
      format: "sap-peft-v1",
      method: "lora",
      params: peft.params,
      split: SPLIT,
      labels: model.config.labels,
      modelType: "bert",
      baseModel: "tiny-bert",
    };
    writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(cfg));
    const fresh = loadClassifier(fixture("tiny-bert"), { seed: 99 }).model;
    const loaded = loadPeft(dir, fresh);
    assert.equal(loaded.config.format, "sap-peft-v1");
    const v2 = new Vendor({ model: fresh, split: SPLIT, peft: loaded.instance, optimizer: new AdamW([], { lr: 1 }), clip: 1 });
    const got = tidy(() => v2.predict(wire));
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `reloaded logit ${i}: ${v} vs ${want[i]}`));
  });

  it("LoRA is saved in PEFT's layout, other methods in sap's", () => {
    for (const method of ["lora", "bitfit"]) {
      const { model, peft } = setup("tiny-bert", method);
      const dir = mkdtempSync(join(tmpdir(), "sap-peft-layout-"));
      dirs.push(dir);
      savePeft(dir, peft, { split: SPLIT, labels: model.config.labels, modelType: "bert", baseModel: "tiny-bert" });
      const cfg = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8")) as Record<string, unknown>;
      const names = [...readSafetensors(join(dir, "adapter_model.safetensors")).tensors.keys()];
      if (method === "bitfit") {
        assert.equal(cfg.format, "sap-peft-v1");
        assert.ok(!existsSync(join(dir, "sap_adapter.json")));
        continue;
      }
      assert.equal(cfg.peft_type, "LORA");
      assert.deepEqual(cfg.layers_to_transform, [1]);
      assert.deepEqual(cfg.modules_to_save, ["pooler", "classifier"]);
      assert.ok(names.includes("base_model.model.bert.encoder.layer.1.attention.self.query.lora_A.weight"), names.join(", "));
      assert.ok(names.includes("base_model.model.classifier.weight"));
      assert.ok(!names.some((n) => n.includes(".layer.0.")), "nothing of the bottom");
      const sap = JSON.parse(readFileSync(join(dir, "sap_adapter.json"), "utf8")) as Record<string, unknown>;
      assert.deepEqual([sap.split, sap.labels, sap.modelType], [SPLIT, model.config.labels, "bert"]);
    }
  });

  it("bad parameters and unknown methods are named", () => {
    assert.throws(() => setup("tiny-bert", "nope"), /unknown PEFT method "nope" \(available: .*lora/);
    const { model } = loadClassifier(fixture("tiny-bert"));
    assert.throws(
      () => preparePeft(model, 1, { name: "lora", params: { rank: 0 } }, new Rng(1)),
      /peft lora: rank must be an integer in \[1, 1024\], got 0/,
    );
    assert.throws(
      () => preparePeft(model, 1, { name: "lora", params: { targets: "nothing" } }, new Rng(1)),
      /no Linear layer matches targets nothing/,
    );
  });
});
