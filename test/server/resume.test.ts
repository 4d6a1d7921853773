// Resuming a job after the server lost its memory (a crash, or an unloaded model) must give the
// same weights, bit for bit, as training straight through: the checkpoint carries the random
// generators' state (dropout) along with the tensors and moments.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseServerConfig } from "../../src/server/config.js";
import { JobManager } from "../../src/server/jobs.js";
import { Store } from "../../src/server/store.js";
import { readSafetensors } from "../../src/tensor/index.js";
import { DType, MessageType, encodeFrame, type JobSpec } from "../../src/wire/index.js";
import { cleanup, serverConfigJson, tempDir } from "./helpers.js";

const dirs: string[] = [];
after(() => cleanup(dirs));

const N = 6;
const spec: JobSpec = {
  model: "tiny-bert",
  split: 1,
  labels: ["negative", "positive"],
  // LoRA's own dropout and the model's (hidden and attention, 0.1) both draw from generators.
  peft: { name: "lora", params: { dropout: 0.2 } },
  privatizer: { name: "dchi", params: { eta: 100 } },
  hyper: {
    epochs: 1,
    stepsPerEpoch: N,
    batchSize: 4,
    lr: 5e-3,
    warmupRatio: 0,
    weightDecay: 0.01,
    clip: 1,
    seed: 11,
    maxSeqLen: 8,
  },
};

function frame(seq: number): Uint8Array {
  const [B, T, d] = [4, 6, 32];
  return encodeFrame({
    type: MessageType.TrainBatch,
    dtype: DType.F32,
    seq,
    shape: [B, T, d],
    values: Float32Array.from({ length: B * T * d }, (_, i) => Math.sin(0.37 * i + seq)),
    mask: new Uint8Array(B * T).fill(1),
    labels: Int32Array.from({ length: B }, (_, i) => (i + seq) % 2),
  });
}

function weights(file: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [n, t] of readSafetensors(file).tensors) if (n.startsWith("w.")) out.set(n, t.data);
  return out;
}

describe("resume after a crash", () => {
  it("N steps straight and N/2, crash, reload, N/2 give bit-identical adapter weights", () => {
    const dataDir = tempDir(dirs);
    const config = parseServerConfig(serverConfigJson(dataDir));
    const dbFile = join(dataDir, "sap.db");
    let store = new Store(dbFile);
    const tenant = store.ensureTenant("acme").id;
    let jobs = new JobManager(store, config);
    const straight = jobs.create(tenant, spec);
    const resumed = jobs.create(tenant, spec);
    const size = (): number => 0;
    for (let s = 1; s <= N; s++) jobs.step(tenant, straight.id, frame(s), size);
    for (let s = 1; s <= N / 2; s++) jobs.step(tenant, resumed.id, frame(s), size);
    // The crash: the process's memory is gone; only the database and the job files remain.
    jobs.close();
    store.close();
    store = new Store(dbFile);
    jobs = new JobManager(store, config);
    for (let s = N / 2 + 1; s <= N; s++) jobs.step(tenant, resumed.id, frame(s), size);
    const a = weights(join(jobs.jobDir(straight), "checkpoint.safetensors"));
    const b = weights(join(jobs.jobDir(resumed), "checkpoint.safetensors"));
    assert.ok(a.size > 0);
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    let differing = 0;
    for (const [n, w] of a)
      if (
        Buffer.compare(
          Buffer.from(w.buffer, w.byteOffset, w.byteLength),
          Buffer.from(b.get(n)!.buffer, b.get(n)!.byteOffset, b.get(n)!.byteLength),
        ) !== 0
      )
        differing++;
    assert.equal(differing, 0, `${differing} of ${a.size} tensors differ after the resume`);
    // And the run did move: the LoRA B matrices start at zero.
    assert.ok([...a.values()].some((w) => w.some((x) => x !== 0)));
    jobs.close();
    store.close();
  });
});
