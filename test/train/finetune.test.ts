// The fine-tuning loop end to end on a tiny model: it trains, writes its artefacts, and a run
// killed mid-epoch (SIGKILL, no chance to clean up) resumes from its last checkpoint.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadTask } from "../../src/data/index.js";
import { finetune, type FinetuneOptions } from "../../src/train/finetune.js";
import { predictTexts } from "../../src/train/predict.js";
import { decodeFrames, frameToBatch } from "../../src/wire/index.js";
import { readSafetensors } from "../../src/tensor/index.js";
import { dataPath, fixture, repoRoot } from "../paths.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), "sap-ft-"));
  dirs.push(d);
  return d;
};
const cli = join(repoRoot, "dist", "src", "cli", "main.js");
const dataDir = dataPath();

describe("finetune", () => {
  it("trains with CTI noise, saves adapter + CTI table + metrics, and predicts through the split path", async () => {
    const out = tmp();
    const dataset = loadTask("sst2", { dataDir, maxTrain: 256, maxEval: 64, seed: 1 });
    const res = await finetune({
      modelDir: fixture("tiny-bert"),
      dataset,
      split: 1,
      privatizer: { name: "cti", params: { eta: 50 } },
      peft: { name: "lora", params: {} },
      epochs: 2,
      batchSize: 32,
      lr: 1e-3,
      warmupRatio: 0.1,
      weightDecay: 0.01,
      clip: 1,
      maxSeqLen: 32,
      seed: 3,
      noiseSeed: 4,
      outDir: out,
      resume: false,
      checkpointEvery: 100,
    });
    assert.equal(res.epochs.length, 2);
    assert.equal(res.steps, 16);
    assert.ok(res.best_dev_accuracy >= 0 && res.best_dev_accuracy <= 1);
    assert.ok(res.cti && res.cti.aboveFloorInference > 0 && res.cti.aboveFloorInference < 30522);
    for (const f of [
      "metrics.json",
      "report.md",
      "cti.json",
      "adapter/adapter_config.json",
      "adapter/adapter_model.safetensors",
      "adapter/cti.json",
    ])
      assert.ok(existsSync(join(out, f)), f);
    const preds = predictTexts(fixture("tiny-bert"), join(out, "adapter"), ["a gripping , funny movie", "dull"], {
      noiseSeed: 1,
    });
    assert.equal(preds.length, 2);
    for (const p of preds) assert.ok(Math.abs(Object.values(p.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-5);
  });

  it("U-shaped: the customer's bottom trains from the gradient the vendor sends back", async () => {
    for (const kind of ["lora", "full"] as const) {
      const out = tmp();
      const res = await finetune({
        modelDir: fixture("tiny-bert"),
        dataset: loadTask("sst2", { dataDir, maxTrain: 64, maxEval: 16, seed: 1 }),
        split: 1,
        privatizer: { name: "dchi", params: { eta: 100 } },
        peft: { name: "lora", params: {} },
        epochs: 1,
        batchSize: 16,
        lr: 1e-2,
        warmupRatio: 0,
        weightDecay: 0,
        clip: 1,
        maxSeqLen: 24,
        seed: 3,
        noiseSeed: 4,
        outDir: out,
        resume: false,
        checkpointEvery: 100,
        trainBottom: kind,
      });
      assert.equal(res.settings.train_bottom, kind);
      assert.ok(res.trainable_parameters > 0);
      // The customer's bottom never goes into the vendor's adapter; it is kept beside it.
      const adapter = readSafetensors(join(out, "adapter", "adapter_model.safetensors")).tensors;
      assert.ok(
        ![...adapter.keys()].some((n) => /layer\.0\./.test(n) || n.includes("embeddings")),
        "no bottom tensor in the adapter",
      );
      const mine = readSafetensors(join(out, "customer-bottom.safetensors")).tensors;
      assert.ok(
        mine.size > 0 && [...mine.keys()].every((n) => /layer\.0\.|embeddings/.test(n)),
        "the customer's bottom, saved apart",
      );
      // The bottom's weights moved: compare the saved trainer checkpoint with the base model.
      const base = readSafetensors(join(fixture("tiny-bert"), "model.safetensors")).tensors;
      const after = readSafetensors(join(out, "checkpoint", "model.safetensors")).tensors;
      if (kind === "full") {
        const name = "bert.encoder.layer.0.attention.self.query.weight";
        assert.ok(
          after.get(name)!.data.some((v, i) => v !== base.get(name)!.data[i]),
          "bottom layer 0 moved",
        );
      } else {
        const a = [...after.keys()].find((n) => n.startsWith("bert.encoder.layer.0.") && n.endsWith(".lora.B"));
        assert.ok(a && after.get(a)!.data.some((v) => v !== 0), "the bottom LoRA B moved from zero");
      }
    }
  });

  it("--dump-wire writes exactly what the vendor received, as parseable frames", () => {
    const out = tmp();
    const dump = join(out, "wire.bin");
    const r = spawnSync(
      process.execPath,
      [
        cli,
        "finetune",
        "--model",
        fixture("tiny-bert"),
        "--task",
        "sst2",
        "--data-dir",
        dataDir,
        "--max-train",
        "64",
        "--max-eval",
        "16",
        "--split",
        "1",
        "--privatizer",
        "dchi",
        "--eta",
        "100",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--max-seq-len",
        "24",
        "--noise-seed",
        "1",
        "--out",
        out,
        "--dump-wire",
        dump,
        "--quiet",
      ],
      { encoding: "utf8", env: { ...process.env, SAP_QUIET: "1" } },
    );
    assert.equal(r.status, 0, r.stderr);
    const frames = decodeFrames(new Uint8Array(readFileSync(dump)));
    assert.equal(frames.length, 2 + 1, "two training batches and one evaluation batch");
    const first = frameToBatch(frames[0]!);
    assert.equal(first.batchSize, 32);
    assert.equal(first.dim, 32);
    assert.ok(first.labels && first.labels.length === 32, "training frames carry labels");
    assert.equal(frameToBatch(frames[2]!).labels, undefined, "evaluation frames do not");
    assert.equal(first.hidden.length, first.batchSize * first.seqLen * first.dim);
  });

  it("resumes after kill -9 mid-epoch and finishes the run", async () => {
    const out = tmp();
    const args = [
      cli,
      "finetune",
      "--model",
      fixture("tiny-bert"),
      "--task",
      "sst2",
      "--data-dir",
      dataDir,
      "--max-train",
      "640",
      "--max-eval",
      "64",
      "--split",
      "1",
      "--privatizer",
      "dchi",
      "--eta",
      "100",
      "--peft",
      "lora",
      "--epochs",
      "2",
      "--batch-size",
      "16",
      "--lr",
      "1e-3",
      "--max-seq-len",
      "32",
      "--noise-seed",
      "5",
      "--checkpoint-every",
      "5",
      "--out",
      out,
      "--json",
      "--quiet",
    ];
    // First run: killed once a mid-epoch checkpoint exists (steps 5, 10, ... of 40 per epoch).
    const child = spawn(process.execPath, args, { stdio: "ignore", env: { ...process.env, SAP_QUIET: "1" } });
    const state = join(out, "checkpoint", "state.json");
    const deadline = Date.now() + 60_000;
    let killedAt = -1;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      if (existsSync(state)) {
        try {
          const st = JSON.parse(readFileSync(state, "utf8")) as { step: number };
          if (st.step >= 10) {
            child.kill("SIGKILL");
            killedAt = st.step;
            break;
          }
        } catch {
          // mid-rename; try again
        }
      }
    }
    await new Promise((r) => child.on("exit", r));
    assert.ok(killedAt >= 10, "the first run reached a checkpoint before being killed");
    assert.ok(!existsSync(join(out, "metrics.json")), "the first run did not finish");
    const st = JSON.parse(readFileSync(state, "utf8")) as { step: number; epoch: number; batchInEpoch: number };
    assert.ok(st.step < 80, "killed before the end");

    const again = spawnSync(process.execPath, [...args, "--resume"], {
      encoding: "utf8",
      env: { ...process.env, SAP_QUIET: "1" },
    });
    assert.equal(again.status, 0, again.stderr);
    const summary = JSON.parse(again.stdout.trim().split("\n").pop()!) as { best_dev_accuracy: number; epochs: number };
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as {
      steps: number;
      epochs: unknown[];
      completed: boolean;
    };
    assert.equal(metrics.steps, 80, "40 steps per epoch x 2, counting those before the kill");
    assert.equal(metrics.epochs.length, 2);
    assert.ok(metrics.completed);
    assert.ok(summary.best_dev_accuracy > 0);
  });
});

describe("a run's folder describes that run", () => {
  const small = (outDir: string, over: Partial<FinetuneOptions> = {}): FinetuneOptions => ({
    modelDir: fixture("tiny-bert"),
    dataset: loadTask("sst2", { dataDir, maxTrain: 32, maxEval: 16, seed: 1 }),
    split: 1,
    privatizer: { name: "dchi", params: { eta: 100 } },
    peft: { name: "lora", params: {} },
    epochs: 1,
    batchSize: 16,
    lr: 1e-3,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    clip: 1,
    maxSeqLen: 16,
    seed: 3,
    noiseSeed: 4,
    outDir,
    resume: false,
    checkpointEvery: 100,
    ...over,
  });

  it("resume with other settings is refused, naming them, and leaves the report alone", async () => {
    const out = tmp();
    await finetune(small(out));
    const report = readFileSync(join(out, "report.md"), "utf8");
    const metrics = readFileSync(join(out, "metrics.json"), "utf8");
    await assert.rejects(
      finetune(small(out, { resume: true, lr: 5e-4, epochs: 2 })),
      (e: Error) =>
        e.name === "RunMismatchError" &&
        /lr: 0\.001 there, 0\.0005 now/.test(e.message) &&
        /epochs: 1 there, 2 now/.test(e.message),
    );
    await assert.rejects(
      finetune(small(out, { resume: true, dataset: loadTask("sst2", { dataDir, maxTrain: 32, maxEval: 16, seed: 2 }) })),
      /data: "[0-9a-f]+" there, "[0-9a-f]+" now/,
    );
    assert.equal(readFileSync(join(out, "report.md"), "utf8"), report);
    assert.equal(readFileSync(join(out, "metrics.json"), "utf8"), metrics);
    // The same settings resume (the run is finished: nothing more trains).
    const again = await finetune(small(out, { resume: true }));
    assert.equal(again.steps, 2);
  });

  it("a new run refuses a used folder unless told to overwrite, which removes the old outputs", async () => {
    const out = tmp();
    await finetune(small(out));
    await assert.rejects(finetune(small(out, { lr: 5e-4 })), /is not empty: .*--resume.*--overwrite/);
    writeFileSync(join(out, "metrics.jsonl"), "stale\n");
    const res = await finetune(small(out, { lr: 5e-4, overwrite: true }));
    assert.equal(res.settings.lr, 5e-4);
    assert.ok(!existsSync(join(out, "metrics.jsonl")), "the previous run's metrics lines are gone");
    const stored = JSON.parse(readFileSync(join(out, "settings.json"), "utf8")) as { lr: number };
    assert.equal(stored.lr, 5e-4);
  });
});
