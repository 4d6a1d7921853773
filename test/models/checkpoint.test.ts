// Loading real model directories and refusing bad ones with errors that name the problem.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadPretrained, readWeights, savePretrained } from "../../src/models/checkpoint.js";
import { classifyBatch, type SplittableModel } from "../../src/models/model.js";
import { goldenBatch } from "../../src/models/verify.js";
import { parseSafetensors, readSafetensors, serializeSafetensors, floatToHalf, noGrad } from "../../src/tensor/index.js";
import { fixture } from "../paths.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function copyFixture(name: string): string {
  const d = mkdtempSync(join(tmpdir(), "sap-ckpt-"));
  dirs.push(d);
  for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(fixture(name), f), join(d, f));
  return d;
}

const golden = JSON.parse(readFileSync(join(fixture("tiny-bert"), "golden.json"), "utf8")) as { input_ids: number[][]; attention_mask: number[][] };

describe("checkpoint loading", () => {
  it("loads a classifier and reports nothing unusual", () => {
    const { model, report } = loadPretrained(fixture("tiny-bert"));
    assert.deepEqual(report.initialised, []);
    assert.equal((model as SplittableModel).numLayers, 2);
  });

  it("a truncated safetensors file is a clear error", () => {
    const d = copyFixture("tiny-bert");
    const p = join(d, "model.safetensors");
    const buf = readFileSync(p);
    writeFileSync(p, buf.subarray(0, buf.length - 1000));
    assert.throws(() => loadPretrained(d), /model\.safetensors: tensor .* ends at byte \d+ but the data section has \d+ bytes \(truncated file\)/);
  });

  it("a corrupt header is a clear error", () => {
    const d = copyFixture("tiny-bert");
    const p = join(d, "model.safetensors");
    const buf = readFileSync(p);
    buf.write("!!!!", 8, "latin1");
    writeFileSync(p, buf);
    assert.throws(() => loadPretrained(d), /header is not valid JSON \(corrupt file\)/);
    writeFileSync(p, Buffer.from([1, 2, 3]));
    assert.throws(() => loadPretrained(d), /too short for a safetensors header/);
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1n << 40n, 0);
    writeFileSync(p, huge);
    assert.throws(() => loadPretrained(d), /header length \d+ exceeds the file size/);
  });

  it("a pickle checkpoint is refused with conversion instructions, never executed", () => {
    const d = mkdtempSync(join(tmpdir(), "sap-ckpt-"));
    dirs.push(d);
    copyFileSync(join(fixture("tiny-bert"), "config.json"), join(d, "config.json"));
    writeFileSync(join(d, "pytorch_model.bin"), Buffer.from("\x80\x04\x95 not really a pickle", "latin1"));
    assert.throws(() => loadPretrained(d), /only a pickle checkpoint \(pytorch_model\.bin\).*never unpickles.*save_pretrained/s);
  });

  it("unknown model_type, missing config and missing weights are named", () => {
    const d = copyFixture("tiny-bert");
    const cfg = JSON.parse(readFileSync(join(d, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(d, "config.json"), JSON.stringify({ ...cfg, model_type: "llama" }));
    assert.throws(() => loadPretrained(d), /model_type "llama" is not supported; supported: bert, roberta, distilbert, gpt2/);
    rmSync(join(d, "config.json"));
    assert.throws(() => loadPretrained(d), /no config\.json/);
    const e = mkdtempSync(join(tmpdir(), "sap-ckpt-"));
    dirs.push(e);
    copyFileSync(join(fixture("tiny-bert"), "config.json"), join(e, "config.json"));
    assert.throws(() => loadPretrained(e), /no model\.safetensors or model\.safetensors\.index\.json/);
  });

  it("missing, extra and mis-shaped tensors are named", () => {
    const d = copyFixture("tiny-bert");
    const p = join(d, "model.safetensors");
    const { tensors } = readSafetensors(p);
    const write = (m: Map<string, { shape: number[]; data: Float32Array }>): void => writeFileSync(p, serializeSafetensors(m));
    const base = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));

    const missing = new Map(base);
    missing.delete("bert.encoder.layer.1.output.dense.weight");
    write(missing);
    assert.throws(() => loadPretrained(d), /1 tensor\(s\) missing from the checkpoint: bert\.encoder\.layer\.1\.output\.dense\.weight/);

    const extra = new Map(base);
    extra.set("bert.encoder.layer.2.output.dense.weight", { shape: [2], data: new Float32Array(2) });
    write(extra);
    assert.throws(() => loadPretrained(d), /unexpected tensor\(s\) .*bert\.encoder\.layer\.2\.output\.dense\.weight/);

    const shaped = new Map(base);
    shaped.set("bert.pooler.dense.weight", { shape: [16, 64], data: new Float32Array(1024) });
    write(shaped);
    assert.throws(() => loadPretrained(d), /bert\.pooler\.dense\.weight has shape \[16, 64\] but the model .* expects \[32, 32\]/);
  });

  it("accepts old gamma/beta names, a bare base model, and initialises a missing head", () => {
    const d = copyFixture("tiny-bert");
    const p = join(d, "model.safetensors");
    const { tensors } = readSafetensors(p);
    const renamed = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of tensors) {
      if (k.startsWith("classifier.")) continue;
      renamed.set(k.replace(/^bert\./, "").replace(/LayerNorm\.weight$/, "LayerNorm.gamma").replace(/LayerNorm\.bias$/, "LayerNorm.beta"), t);
    }
    writeFileSync(p, serializeSafetensors(renamed));
    const { model, report } = loadPretrained(d);
    assert.deepEqual(report.initialised.sort(), ["classifier.bias", "classifier.weight"]);
    const ref = loadPretrained(fixture("tiny-bert")).model as SplittableModel;
    const a = new Map(model.namedParameters());
    for (const [n, t] of ref.namedParameters()) if (!n.startsWith("classifier.")) assert.deepEqual(a.get(n)!.data, t.data, n);
  });

  it("sharded checkpoints load through model.safetensors.index.json", () => {
    const d = copyFixture("tiny-bert");
    const { tensors } = readSafetensors(join(d, "model.safetensors"));
    rmSync(join(d, "model.safetensors"));
    const names = [...tensors.keys()];
    const half = Math.floor(names.length / 2);
    const shards: Array<[string, string[]]> = [
      ["model-00001-of-00002.safetensors", names.slice(0, half)],
      ["model-00002-of-00002.safetensors", names.slice(half)],
    ];
    const weightMap: Record<string, string> = {};
    for (const [file, ns] of shards) {
      writeFileSync(join(d, file), serializeSafetensors(ns.map((n) => [n, tensors.get(n)!])));
      for (const n of ns) weightMap[n] = file;
    }
    writeFileSync(join(d, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    assert.equal(readWeights(d).files.length, 2);
    const batch = goldenBatch(golden);
    const m = loadPretrained(d).model.eval() as SplittableModel;
    const ref = loadPretrained(fixture("tiny-bert")).model.eval() as SplittableModel;
    noGrad(() => assert.deepEqual(classifyBatch(m, batch).data, classifyBatch(ref, batch).data));
  });

  it("saves F16 and F32 and loads back the same predictions", () => {
    const { model, config } = loadPretrained(fixture("tiny-bert"));
    const batch = goldenBatch(golden);
    const ref = noGrad(() => classifyBatch((model as SplittableModel).eval(), batch).data);
    for (const dtype of ["F32", "F16"] as const) {
      const d = mkdtempSync(join(tmpdir(), "sap-save-"));
      dirs.push(d);
      savePretrained(model, config, d, { dtype });
      const again = loadPretrained(d).model.eval() as SplittableModel;
      const out = noGrad(() => classifyBatch(again, batch).data);
      const tol = dtype === "F32" ? 0 : 5e-3;
      out.forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) <= tol, `${dtype} logit ${i}: ${v} vs ${ref[i]}`));
    }
  });
});

describe("safetensors", () => {
  it("round-trips F32 exactly and converts F16/BF16 to float32", () => {
    const data = Float32Array.from([0, 1, -2.5, 65504, 1e-7, Number.POSITIVE_INFINITY]);
    const back = parseSafetensors(serializeSafetensors(new Map([["x", { shape: [2, 3], data }]]))).tensors.get("x")!;
    assert.deepEqual([...back.data], [...data]);
    assert.deepEqual(back.shape, [2, 3]);
    const half = parseSafetensors(serializeSafetensors([["x", { shape: [6], data }]], { dtype: "F16" })).tensors.get("x")!;
    assert.deepEqual([...half.data].slice(0, 4), [0, 1, -2.5, 65504]);
    assert.ok(Math.abs(half.data[4]! - 1e-7) < 1e-7 * 0.1 + 6e-8);
    assert.equal(half.data[5], Number.POSITIVE_INFINITY);
    assert.equal(floatToHalf(1 + 2 ** -11), floatToHalf(1)); // ties round to even
    // BF16: hand-built header, value 1.5 = 0x3FC0.
    const header = Buffer.from(JSON.stringify({ y: { dtype: "BF16", shape: [1], data_offsets: [0, 2] } }));
    const buf = Buffer.alloc(8 + header.length + 2);
    buf.writeBigUInt64LE(BigInt(header.length), 0);
    header.copy(buf, 8);
    buf.writeUInt16LE(0x3fc0, 8 + header.length);
    assert.equal(parseSafetensors(buf).tensors.get("y")!.data[0], 1.5);
  });

  it("rejects a byte count that does not match the shape", () => {
    const header = Buffer.from(JSON.stringify({ y: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }));
    const buf = Buffer.alloc(8 + header.length + 8);
    buf.writeBigUInt64LE(BigInt(header.length), 0);
    header.copy(buf, 8);
    assert.throws(() => parseSafetensors(buf, "x.safetensors"), /x\.safetensors: tensor y: 8 bytes stored but shape \[3\] of F32 needs 12/);
  });
});
