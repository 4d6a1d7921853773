// End to end on loopback: a real server, a client fine-tuning tiny-bert on an SST-2 subset, and
// the same run in one process: same seeds (batches, init, noise) must give the same numbers.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { clientFinetune, clientPredict, ctiTablePath } from "../../src/client/finetune.js";
import { loadTask } from "../../src/data/index.js";
import { finetune } from "../../src/train/finetune.js";
import { decodeFrames, MessageType } from "../../src/wire/index.js";
import { readSafetensors } from "../../src/tensor/index.js";
import { dataPath, fixture } from "../paths.js";
import { cleanup, clientFor, startTestServer, tempDir } from "./helpers.js";

const dirs: string[] = [];
after(() => cleanup(dirs));

const common = {
  split: 1,
  privatizer: { name: "dchi", params: { eta: 100 } },
  peft: { name: "lora", params: {} },
  epochs: 1,
  batchSize: 32,
  lr: 1e-3,
  warmupRatio: 0.1,
  weightDecay: 0.01,
  clip: 1,
  maxSeqLen: 32,
  seed: 3,
  noiseSeed: 4,
};

describe("service end to end", () => {
  it("a client fine-tuning through the server matches the in-process run exactly", async () => {
    const dataset = loadTask("sst2", { dataDir: dataPath(), maxTrain: 256, maxEval: 64, seed: 1 });
    const local = await finetune({
      ...common,
      modelDir: fixture("tiny-bert"),
      dataset,
      outDir: tempDir(dirs),
      resume: false,
      checkpointEvery: 100,
    });

    const dataDir = tempDir(dirs);
    const server = await startTestServer(dataDir);
    const { key } = server.store.createKey("acme");
    const client = clientFor(server, key);
    const dump = join(tempDir(dirs), "wire.bin");
    try {
      const remote = await clientFinetune({
        ...common,
        client,
        model: "tiny-bert",
        dataset,
        cacheDir: tempDir(dirs),
        dumpWire: dump,
      });
      assert.equal(remote.steps, 8);
      assert.equal(
        remote.dev_accuracy,
        local.dev_accuracy,
        `dev accuracy: remote ${remote.dev_accuracy}, in-process ${local.dev_accuracy}`,
      );
      const job = await client.job(remote.jobId);
      assert.equal(job.status, "completed");
      assert.ok(
        Math.abs(job.epochs![0]!.trainLoss - local.epochs[0]!.trainLoss) < 1e-5,
        `train loss: remote ${job.epochs![0]!.trainLoss}, in-process ${local.epochs[0]!.trainLoss}`,
      );
      // ~ B*T*d*4 bytes of representations + mask + labels + header + the JSON ack.
      assert.ok(remote.bytesPerStep > 32 * 8 * 32 * 4 && remote.bytesPerStep < 32 * 32 * 32 * 4 + 4096, `${remote.bytesPerStep}`);
      // The dump is parseable frames: 8 training batches then 1 evaluation batch of 64.
      const frames = decodeFrames(readFileSync(dump));
      assert.deepEqual(
        frames.map((f) => f.type),
        [...Array<MessageType>(8).fill(MessageType.TrainBatch), MessageType.PredictBatch],
      );
      assert.deepEqual(
        frames.slice(0, 8).map((f) => f.seq),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      // The bundle holds the bottom only: embeddings and layer 0, no layer 1, pooler or head.
      const bottom = readSafetensors(join(dataDir, "bottoms", "tiny-bert", "k1", "model.safetensors"));
      const names = [...bottom.tensors.keys()];
      assert.ok(names.some((n) => n.startsWith("bert.encoder.layer.0.")));
      assert.ok(!names.some((n) => /layer\.1\.|pooler|classifier/.test(n)), names.join(","));
      const preds = await clientPredict(client, remote.jobId, ["a gripping , funny movie", "dull"], {
        cacheDir: tempDir(dirs),
        noiseSeed: 1,
      });
      assert.equal(preds.length, 2);
      for (const p of preds) assert.ok(Math.abs(Object.values(p.probabilities).reduce((a, b) => a + b, 0) - 1) < 1e-5);
    } finally {
      client.close();
      await server.close();
    }
  });

  it("CTI: the table built from the training data stays with the customer and serves predictions", async () => {
    const dataset = loadTask("sst2", { dataDir: dataPath(), maxTrain: 64, maxEval: 16, seed: 2 });
    const server = await startTestServer(tempDir(dirs));
    const client = clientFor(server, server.store.createKey("cti-co").key);
    const cacheDir = tempDir(dirs);
    try {
      const res = await clientFinetune({
        ...common,
        privatizer: { name: "cti", params: { eta: 100 } },
        client,
        model: "tiny-bert",
        dataset,
        cacheDir,
      });
      assert.ok(existsSync(ctiTablePath(cacheDir, res.jobId)));
      const preds = await clientPredict(client, res.jobId, ["a gripping , funny movie"], { cacheDir, noiseSeed: 1 });
      assert.equal(preds.length, 1);
      await assert.rejects(
        clientPredict(client, res.jobId, ["dull"], { cacheDir: tempDir(dirs), noiseSeed: 1 }),
        /used CTI, whose token budgets come from the training data; .*cti-table\.json.* is missing/,
      );
    } finally {
      client.close();
      await server.close();
    }
  });
});
