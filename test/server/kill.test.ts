// Durability: the server runs as a child process and is killed with SIGKILL mid-job; restarted
// on the same port, it lists the job again and resumes it from its last checkpoint while the
// client, which kept every not-yet-durable step, reconnects and replays what the server lost.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { clientFinetune } from "../../src/client/finetune.js";
import { SapClient } from "../../src/client/sdk.js";
import { loadTask } from "../../src/data/index.js";
import { Store } from "../../src/server/store.js";
import { dataPath } from "../paths.js";
import { cleanup, serverConfigJson, tempDir, spawnServer } from "./helpers.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  cleanup(dirs);
});

describe("server crash", () => {
  it("after kill -9 and restart the job is listed and resumes from its last durable step to the end", async () => {
    const dataDir = tempDir(dirs);
    const configFile = join(dataDir, "server.json");
    // Checkpoint every 2nd step, so the kill after step 3 loses an acknowledged, not yet durable step.
    const config = serverConfigJson(join(dataDir, "data"), { checkpointEvery: 2 });
    writeFileSync(configFile, JSON.stringify(config));
    mkdirSync(join(dataDir, "data"), { recursive: true });
    const store = new Store(join(dataDir, "data", "sap.db"));
    const { key } = store.createKey("acme");
    store.close();
    let { child, url } = await spawnServer(configFile, children);
    writeFileSync(configFile, JSON.stringify({ ...config, port: Number(new URL(url).port) }));

    const client = new SapClient({ server: url, key, reconnectTimeoutMs: 30_000 });
    const dataset = loadTask("sst2", { dataDir: dataPath(), maxTrain: 256, maxEval: 64, seed: 1 });
    let killed = false;
    let restarted: Promise<void> = Promise.resolve();
    const seenAfterRestart: string[] = [];
    try {
      const res = await clientFinetune({
        client,
        model: "tiny-bert",
        split: 1,
        dataset,
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
        cacheDir: tempDir(dirs),
        onStep: async (ack, jobId) => {
          if (ack.seq === 3 && !killed) {
            killed = true;
            assert.equal(ack.durableSeq, 2);
            child.kill("SIGKILL");
            await new Promise((r) => child.once("exit", r));
            // Restart a moment later: the client's next step meets a refused connection first.
            restarted = new Promise<void>((r) => setTimeout(r, 300)).then(async () => {
              ({ child, url } = await spawnServer(configFile, children));
            });
          } else if (ack.seq === 5) {
            const jobs = (await client.listJobs()).jobs;
            seenAfterRestart.push(...jobs.map((j) => `${j.id}:${j.status}`));
            assert.ok(jobs.some((j) => j.id === jobId && j.status === "running"));
          }
        },
      });
      await restarted;
      assert.ok(killed);
      assert.equal(seenAfterRestart.length, 1, seenAfterRestart.join(","));
      assert.equal(res.steps, 8);
      const job = await client.job(res.jobId);
      assert.equal(job.status, "completed");
      assert.equal(job.step, 8);
      assert.equal(job.durableSeq, 8);
      assert.ok(res.dev_accuracy >= 0 && res.dev_accuracy <= 1);
    } finally {
      client.close();
      child.kill("SIGTERM");
    }
  });
});
