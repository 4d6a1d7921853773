// Models in the service's memory are bounded: 200 finished jobs, each asked for predictions,
// leave at most limits.maxSessions models loaded and the process's RSS where it was after 20.
// The measurement runs in a child (this file again, with SAP_RSS_CHILD set) started with
// --expose-gc, a small fixed young generation and a fixed malloc mmap threshold: without the two
// last, V8's growing semi-spaces and glibc's sliding threshold (freed 4 MB buffers kept in the
// heap) add tens of MB that plateau later and measure the allocators, not what the service holds.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { parseServerConfig } from "../../src/server/config.js";
import { JobManager } from "../../src/server/jobs.js";
import { Store } from "../../src/server/store.js";
import { DType, MessageType, encodeFrame } from "../../src/wire/index.js";
import { cleanup, serverConfigJson, tempDir, tinyJobSpec } from "./helpers.js";

const CAP = 4;

const spec = tinyJobSpec({ stepsPerEpoch: 1, weightDecay: 0 });

const predictFrame = encodeFrame({
  type: MessageType.PredictBatch,
  dtype: DType.F32,
  seq: 0,
  shape: [2, 4, 32],
  values: Float32Array.from({ length: 256 }, (_, i) => Math.cos(i)),
  mask: new Uint8Array(8).fill(1),
});

function rssAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().rss;
}

interface Measured {
  rss20: number;
  rss200: number;
  maxSeen: number;
  reloadSame: boolean;
}

/** The child's work: 200 jobs created, finished and asked for logits through one JobManager. */
function measure(): Measured {
  const dirs: string[] = [];
  try {
    const dataDir = tempDir(dirs);
    const config = parseServerConfig(serverConfigJson(dataDir, { limits: { maxSessions: CAP, maxJobsPerTenant: 1000 } }));
    const store = new Store(":memory:");
    const tenant = store.ensureTenant("acme").id;
    const jobs = new JobManager(store, config);
    let rss20 = 0;
    let maxSeen = 0;
    for (let i = 1; i <= 200; i++) {
      const job = jobs.create(tenant, spec);
      jobs.finish(tenant, job.id);
      const logits = jobs.predict(tenant, job.id, predictFrame);
      assert.ok(logits.length > 0);
      maxSeen = Math.max(maxSeen, jobs.sessionCount);
      if (i === 20) rss20 = rssAfterGc();
    }
    const rss200 = rssAfterGc();
    // An unloaded job is rebuilt from its adapter on demand, with the same answer.
    const first = store.jobs(tenant)[0]!.id;
    const before = Buffer.from(jobs.predict(tenant, first, predictFrame));
    for (let i = 0; i < CAP; i++) jobs.predict(tenant, store.jobs(tenant)[199 - i]!.id, predictFrame); // pushes it out
    const reloadSame = before.equals(Buffer.from(jobs.predict(tenant, first, predictFrame)));
    jobs.close();
    store.close();
    return { rss20, rss200, maxSeen, reloadSame };
  } finally {
    cleanup(dirs);
  }
}

if (process.env.SAP_RSS_CHILD) process.stdout.write(JSON.stringify(measure()) + "\n");
else
  describe("session cache", () => {
    it("200 finished jobs with predictions keep <= maxSessions models and RSS within 10% of after 20", () => {
      const out = execFileSync(process.execPath, ["--expose-gc", "--max-semi-space-size=1", fileURLToPath(import.meta.url)], {
        env: { ...process.env, SAP_RSS_CHILD: "1", MALLOC_MMAP_THRESHOLD_: "131072" },
        encoding: "utf8",
        timeout: 120_000,
      });
      const m = JSON.parse(out.trim().split("\n").pop()!) as Measured;
      const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
      console.log(`sessions: at most ${m.maxSeen}; RSS after 20 jobs ${mib(m.rss20)} MiB, after 200 ${mib(m.rss200)} MiB`);
      assert.ok(m.maxSeen <= CAP, `${m.maxSeen} models were loaded at once (limit ${CAP})`);
      assert.ok(m.rss200 <= m.rss20 * 1.1, `RSS grew from ${mib(m.rss20)} to ${mib(m.rss200)} MiB`);
      assert.ok(m.reloadSame, "a reloaded job answers as before");
    });
  });
