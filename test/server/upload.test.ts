// Upload mode: the customer's release uploaded as chunks and trained by the vendor in the
// background. The same seeds give the in-process run's numbers with the customer gone; an upload
// killed half-way (kill -9 of the server, the customer stopped) resumes and the server's copy matches the customer's checksum; bad chunks,
// other tenants, closed uploads and wrong checksums are refused and lose nothing already stored.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createHash } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clientUpload } from "../../src/client/upload.js";
import { SapApiError, SapClient } from "../../src/client/sdk.js";
import { Store } from "../../src/server/store.js";
import { loadTask } from "../../src/data/index.js";
import { readConfig } from "../../src/models/checkpoint.js";
import { finetune } from "../../src/train/finetune.js";
import { batchToFrame, type JobView, type WireBatch } from "../../src/wire/index.js";
import { dataPath, fixture, repoRoot } from "../paths.js";
import { cleanup, clientFor, serverConfigJson, startTestServer, tempDir, spawnServer } from "./helpers.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  cleanup(dirs);
});

/** kill -9, resolved once the process is gone. */
function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

const common = {
  split: 1,
  privatizer: { name: "dchi", params: { eta: 100 } },
  peft: { name: "lora", params: {} },
  epochs: 2,
  batchSize: 32,
  lr: 1e-3,
  warmupRatio: 0.1,
  weightDecay: 0.01,
  clip: 1,
  maxSeqLen: 32,
  seed: 3,
};

async function waitFor(
  client: SapClient,
  id: string,
  done: (j: JobView) => boolean,
  ms = 120_000,
  pollMs = 50,
): Promise<JobView> {
  const end = Date.now() + ms;
  for (;;) {
    const j = await client.job(id);
    if (done(j)) return j;
    if (Date.now() > end) throw new Error(`job ${id} still ${j.status} at step ${j.step}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The shipped pretrained tiny BERT: accuracies above chance, so "the same accuracy" means something. */
const SAP_BERT_TINY = join(repoRoot, "models", "sap-bert-tiny");

const rejectsWith = (p: Promise<unknown>, status: number, code: string | RegExp): Promise<void> =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SapApiError, String(e));
    assert.equal(e.status, status, e.message);
    if (typeof code === "string") assert.equal(e.code, code, e.message);
    else assert.match(e.code, code);
    return true;
  });

describe("upload mode", () => {
  it("a job trained from an uploaded release matches the in-process run, with the customer gone meanwhile", async () => {
    const dataset = loadTask("sst2", { dataDir: dataPath(), maxTrain: 320, maxEval: 64, seed: 1 });
    const t0 = performance.now();
    const local = await finetune({
      ...common,
      noiseSeed: 4,
      modelDir: SAP_BERT_TINY,
      dataset,
      outDir: tempDir(dirs),
      resume: false,
      checkpointEvery: 100,
      selfCheck: false,
    });
    const localSeconds = (performance.now() - t0) / 1000;
    const server = await startTestServer(tempDir(dirs), { models: { "sap-bert-tiny": { path: SAP_BERT_TINY, splits: [1] } } });
    const { key } = server.store.createKey("acme");
    const other = clientFor(server, server.store.createKey("other").key);
    const cacheDir = tempDir(dirs);
    try {
      const customer = clientFor(server, key);
      const up = await clientUpload({
        ...common,
        noiseSeed: 4,
        client: customer,
        model: "sap-bert-tiny",
        dataset,
        cacheDir,
        chunkExamples: 64,
        wait: false,
        selfCheck: false,
      });
      customer.close(); // the customer goes away while the vendor trains
      assert.equal(up.upload.chunks, 5);
      assert.equal(up.upload.chunksSent, 5);
      assert.ok(up.upload.bytes > 320 * 4 * 32 * 4, `${up.upload.bytes}`);
      // Another tenant is served while the job trains: the trainer yields between steps.
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await other.listJobs();
        latencies.push(performance.now() - t);
      }
      const watcher = clientFor(server, key);
      const job = await waitFor(watcher, up.jobId, (j) => j.status !== "running");
      other.close();
      watcher.close();
      assert.equal(job.status, "completed", job.error);
      assert.equal(job.step, 20);
      assert.equal(job.epochs!.length, 2);
      for (const [i, e] of job.epochs!.entries())
        assert.ok(
          Math.abs(e.trainLoss - local.epochs[i]!.trainLoss) < 1e-5,
          `epoch ${i + 1} train loss: upload ${e.trainLoss}, in-process ${local.epochs[i]!.trainLoss}`,
        );
      // A restarted customer process evaluates the finished job through the predict endpoint.
      const later = clientFor(server, key);
      const res = await clientUpload({
        ...common,
        noiseSeed: 4,
        client: later,
        model: "sap-bert-tiny",
        dataset,
        cacheDir,
        chunkExamples: 64,
        jobId: up.jobId,
        selfCheck: false,
        pollMs: 50,
      });
      later.close();
      assert.equal(res.upload.chunksSent, 0);
      assert.ok(
        Math.abs(res.dev_accuracy - local.dev_accuracy) <= 0.01,
        `dev accuracy: upload ${res.dev_accuracy}, in-process ${local.dev_accuracy}`,
      );
      console.log(
        `# upload-vs-inprocess dev_acc upload=${res.dev_accuracy} inprocess=${local.dev_accuracy} ` +
          `other_tenant_max_ms=${Math.max(...latencies).toFixed(1)} bytes=${up.upload.bytes} MBps=${up.upload.mbPerSecond.toFixed(2)} upload_s=${up.upload.seconds.toFixed(3)} inprocess_s=${localSeconds.toFixed(2)}`,
      );
    } finally {
      await server.close();
    }
  });

  it("an upload killed half-way (kill -9 of the server, the customer stopped) resumes; the copy matches the checksum", async () => {
    const dataset = loadTask("sst2", { dataDir: dataPath(), maxTrain: 128, maxEval: 32, seed: 2 });
    const root = tempDir(dirs);
    const dataDir = join(root, "data");
    const configFile = join(root, "server.json");
    const config = serverConfigJson(dataDir);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(configFile, JSON.stringify(config));
    const store = new Store(join(dataDir, "sap.db"));
    const { key } = store.createKey("acme");
    store.close();
    const first = await spawnServer(configFile, children);
    let child = first.child;
    const url = first.url;
    writeFileSync(configFile, JSON.stringify({ ...config, port: Number(new URL(url).port) }));
    const cacheDir = tempDir(dirs);
    const client = new SapClient({ server: url, key, reconnectTimeoutMs: 30_000 });
    // Keyed noise (no noiseSeed): the resumed customer must find the job's key in its cache.
    const opts = { ...common, epochs: 2, batchSize: 4, client, model: "tiny-bert", dataset, cacheDir, chunkExamples: 16 };
    let jobId = "";
    try {
      await assert.rejects(
        clientUpload({
          ...opts,
          selfCheck: false,
          onChunk: async (ack, id) => {
            jobId = id;
            if (ack.chunk < 2) return;
            await killed(child);
            throw new Error("customer stopped after 3 chunks");
          },
        }),
        /customer stopped after 3 chunks/,
      );
      ({ child } = await spawnServer(configFile, children));
      assert.deepEqual((await client.uploadStatus(jobId)).received, [0, 1, 2]);
      const res = await clientUpload({ ...opts, jobId, wait: false, selfCheck: false });
      assert.equal(res.upload.chunksSkipped, 3);
      assert.equal(res.upload.chunksSent, 5);
      const tenant = readdirSync(join(dataDir, "jobs"))[0]!;
      const dir = join(dataDir, "jobs", tenant, jobId, "upload");
      const files = readdirSync(dir).sort();
      assert.equal(files.length, 8, files.join(","));
      const h = createHash("sha256");
      for (const f of files) {
        assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
        h.update(readFileSync(join(dir, f)));
      }
      assert.equal(h.digest("hex"), res.upload.sha256);
      // Killed mid-training too: the restarted server carries on from the job's checkpoint.
      const mid = await waitFor(client, jobId, (j) => j.step >= 2 || j.status !== "running", 120_000, 5);
      await killed(child);
      assert.ok(mid.status === "running" && mid.step < 64, `killed at step ${mid.step} (${mid.status})`);
      ({ child } = await spawnServer(configFile, children));
      const done = await waitFor(client, jobId, (j) => j.status !== "running");
      assert.equal(done.status, "completed", done.error);
      assert.equal(done.step, 64);
      assert.equal(done.epochs!.length, 2);
      console.log(`# kill-9 resume: killed at step ${mid.step}, completed ${done.step} steps`);
    } finally {
      client.close();
      await killed(child);
    }
  });

  it("refuses bad chunks, other tenants, closed uploads and a wrong checksum, losing nothing stored", async () => {
    const server = await startTestServer(tempDir(dirs));
    const a = clientFor(server, server.store.createKey("acme").key);
    const b = clientFor(server, server.store.createKey("other").key);
    const dim = readConfig(fixture("tiny-bert")).hiddenSize;
    const chunk = (c: number, rows: number, salt = 0): Uint8Array => {
      const T = 4;
      const hidden = Float32Array.from({ length: rows * T * dim }, (_, i) => Math.sin(i + 7 * c + salt));
      const wire: WireBatch = {
        batchSize: rows,
        seqLen: T,
        dim,
        hidden,
        attentionMask: new Int32Array(rows * T).fill(1),
        labels: Int32Array.from({ length: rows }, (_, i) => i % 2),
      };
      return batchToFrame(wire, c, "f32", true);
    };
    const frames = [chunk(0, 16), chunk(1, 16), chunk(2, 8)];
    const sha = createHash("sha256");
    for (const f of frames) sha.update(f);
    const spec = (sha256: string) => ({
      model: "tiny-bert",
      split: 1,
      labels: ["neg", "pos"],
      peft: { name: "lora", params: {} },
      privatizer: { name: "dchi", params: { eta: 100 } },
      hyper: { ...common, epochs: 1, batchSize: 8, stepsPerEpoch: 5 },
      mode: "upload" as const,
      upload: { examples: 40, chunkExamples: 16, chunks: 3, sha256 },
    });
    try {
      await rejectsWith(
        a.createJob({ ...spec(sha.copy().digest("hex")), hyper: { ...spec("").hyper, stepsPerEpoch: 4 } }),
        400,
        "bad_request",
      );
      const job = await a.createJob(spec(sha.digest("hex")));
      const id = job.id;
      assert.deepEqual(await a.putChunk(id, 0, frames[0]!), {
        chunk: 0,
        bytes: frames[0]!.length,
        duplicate: false,
        received: 1,
      });
      assert.equal((await a.putChunk(id, 0, frames[0]!)).duplicate, true);
      await rejectsWith(a.putChunk(id, 0, chunk(0, 16, 1)), 409, "chunk_conflict");
      await rejectsWith(a.putChunk(id, 1, frames[1]!.slice(0, frames[1]!.length - 10)), 400, "wire_truncated");
      const corrupt = Uint8Array.from(frames[1]!);
      corrupt[100] ^= 0xff;
      await rejectsWith(a.putChunk(id, 1, corrupt), 400, "wire_checksum_mismatch");
      await rejectsWith(a.putChunk(id, 2, chunk(2, 16)), 400, "wire_bad_shape"); // the last chunk holds 8
      await rejectsWith(a.putChunk(id, 1, chunk(2, 8)), 400, "wire_bad_shape"); // seq is not its index
      await rejectsWith(a.putChunk(id, 3, frames[2]!), 400, "bad_request");
      await rejectsWith(a.request("PUT", `/v1/jobs/${id}/upload/x1`, frames[1]!, "application/octet-stream"), 400, "bad_request");
      await rejectsWith(b.putChunk(id, 1, frames[1]!), 404, "not_found");
      await rejectsWith(b.uploadStatus(id), 404, "not_found");
      await rejectsWith(b.completeUpload(id), 404, "not_found");
      await rejectsWith(a.step(id, frames[1]!), 409, "upload_job");
      await rejectsWith(a.completeUpload(id), 409, "upload_incomplete");
      // Nothing stored was lost by any refusal.
      let st = await a.uploadStatus(id);
      assert.deepEqual(st.received, [0]);
      assert.equal(st.bytes, frames[0]!.length);

      // A job whose spec's checksum is not what arrives: refused at complete, chunks kept.
      const wrong = await a.createJob(spec("0".repeat(64)));
      for (const [c, f] of frames.entries()) await a.putChunk(wrong.id, c, f);
      await rejectsWith(a.completeUpload(wrong.id), 409, "checksum_mismatch");
      assert.deepEqual((await a.uploadStatus(wrong.id)).received, [0, 1, 2]);
      assert.equal((await a.job(wrong.id)).status, "created");

      await a.putChunk(id, 1, frames[1]!);
      await a.putChunk(id, 2, frames[2]!);
      const running = await a.completeUpload(id);
      assert.ok(["running", "completed"].includes(running.status), running.status);
      await rejectsWith(a.putChunk(id, 1, frames[1]!), 409, "upload_closed");
      const done = await waitFor(a, id, (j) => j.status !== "running");
      assert.equal(done.status, "completed", done.error);
      st = await a.uploadStatus(id);
      assert.equal(st.complete, true);
      assert.deepEqual(st.received, [0, 1, 2]);
    } finally {
      a.close();
      b.close();
      await server.close();
    }
  });
});
