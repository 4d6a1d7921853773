// Privatize once: every epoch sends the release made once (the vendor cannot average fresh copies),
// --fresh-noise opts out, and a restarted client re-sends byte for byte what it sent before.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { clientFinetune, releaseKeyPath } from "../../src/client/finetune.js";
import { loadTask } from "../../src/data/index.js";
import { KeyedNoise } from "../../src/privacy/index.js";
import { epochOrder } from "../../src/split/loop.js";
import { finetune } from "../../src/train/finetune.js";
import { decodeFrames, MessageType, type WireBatch } from "../../src/wire/index.js";
import { dataPath, fixture } from "../paths.js";
import { cleanup, clientFor, startTestServer, tempDir } from "../server/helpers.js";

const dirs: string[] = [];
after(() => cleanup(dirs));

const common = {
  split: 1,
  privatizer: { name: "dchi", params: { eta: 50 } },
  peft: { name: "lora", params: {} },
  batchSize: 16,
  lr: 1e-3,
  warmupRatio: 0.1,
  weightDecay: 0.01,
  clip: 1,
  maxSeqLen: 32,
  seed: 3,
};

/** Each example's real-token rows as sent in each epoch (one batch per epoch holds every example). */
async function rowsPerEpoch(freshNoise: boolean): Promise<Float32Array[][]> {
  const dataset = loadTask("sst2", { dataDir: dataPath(), maxTrain: 16, maxEval: 8, seed: 1 });
  const sent: WireBatch[] = [];
  await finetune({
    ...common,
    dataset,
    epochs: 2,
    freshNoise,
    modelDir: fixture("tiny-bert"),
    outDir: tempDir(dirs),
    resume: false,
    checkpointEvery: 1000,
    onWire: (w, phase) => void (phase === "train" && sent.push({ ...w, hidden: w.hidden.slice() })),
  });
  assert.equal(sent.length, 2, "one training batch per epoch");
  return sent.map((w, epoch) => {
    const order = epochOrder(common.seed, epoch, 16);
    const byExample: Float32Array[] = [];
    order.forEach((ex, b) => {
      let len = 0;
      while (len < w.seqLen && w.attentionMask[b * w.seqLen + len]) len++;
      byExample[ex] = w.hidden.slice(b * w.seqLen * w.dim, (b * w.seqLen + len) * w.dim);
    });
    return byExample;
  });
}

describe("privatize once", () => {
  it("two epochs of one example send the same rows; with --fresh-noise they differ", async () => {
    const once = await rowsPerEpoch(false);
    for (let ex = 0; ex < 16; ex++) assert.deepEqual(once[1]![ex], once[0]![ex], `example ${ex} re-sent as released`);
    const fresh = await rowsPerEpoch(true);
    for (let ex = 0; ex < 16; ex++) assert.notDeepEqual(fresh[1]![ex], fresh[0]![ex], `example ${ex} privatized afresh`);
  });

  it("the keyed noise stream is a function of (key, nonce) and differs across nonces", () => {
    const key = new Uint8Array(32).fill(9);
    const draw = (k: Uint8Array, nonce: number): number[] => {
      const n = new KeyedNoise(k, nonce);
      return Array.from({ length: 5 }, () => n.normal());
    };
    assert.deepEqual(draw(key, 3), draw(key, 3));
    assert.notDeepEqual(draw(key, 3), draw(key, 4));
    assert.notDeepEqual(draw(key, 3), draw(new Uint8Array(32).fill(8), 3));
  });

  it("a client restarted mid-job re-sends the same bytes for the steps the server lost", async () => {
    const dataset = loadTask("sst2", { dataDir: dataPath(), maxTrain: 128, maxEval: 16, seed: 1 });
    // The server makes every 4th step durable: a client that dies after step 6 must resend 5 and 6.
    const serverDir = tempDir(dirs);
    const server = await startTestServer(serverDir, { checkpointEvery: 4 });
    const { key } = server.store.createKey("acme");
    const cacheDir = tempDir(dirs);
    const first = join(tempDir(dirs), "first.bin");
    const second = join(tempDir(dirs), "second.bin");
    let jobId = "";
    try {
      await assert.rejects(
        clientFinetune({
          ...common,
          epochs: 1,
          client: clientFor(server, key),
          model: "tiny-bert",
          dataset,
          cacheDir,
          dumpWire: first,
          onStep: (ack, id) => {
            jobId = id;
            if (ack.seq === 6) throw new Error("client killed");
          },
        }),
        /client killed/,
      );
      // The server restarts from its last durable step (4) ...
      await server.close();
      const again = await startTestServer(serverDir, { checkpointEvery: 4 });
      try {
        const res = await clientFinetune({
          ...common,
          epochs: 1,
          client: clientFor(again, key),
          model: "tiny-bert",
          dataset,
          cacheDir,
          jobId,
          dumpWire: second,
        });
        assert.equal(res.steps, 4, "steps 5..8 sent by the restarted client");
      } finally {
        await again.close();
      }
    } finally {
      await server.close().catch(() => {});
    }
    const steps = (file: string): Map<number, string> =>
      new Map(
        decodeFrames(readFileSync(file))
          .filter((f) => f.type === MessageType.TrainBatch)
          .map((f) => [f.seq, Buffer.from(f.values.buffer).toString("base64")]),
      );
    const a = steps(first);
    const b = steps(second);
    for (const seq of [5, 6]) assert.equal(b.get(seq), a.get(seq), `step ${seq} re-sent byte for byte`);
    assert.equal((statSync(releaseKeyPath(cacheDir, jobId)).mode & 0o777).toString(8), "600", "the key is the owner's alone");
  });
});
