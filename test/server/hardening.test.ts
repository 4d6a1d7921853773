// The service under hostile but well-formed input (issue 14): over-long and over-wide batches,
// job parameters beyond the service's limits, slow and oversized bodies, prototype-named and
// deeply nested JSON, a diverging step, file modes, and customers that disconnect mid-request.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SapApiError, type SapClient } from "../../src/client/sdk.js";
import type { RunningServer } from "../../src/server/http.js";
import { DType, MessageType, encodeFrame, type Frame } from "../../src/wire/index.js";
import { cleanup, clientFor, startTestServer, tempDir, tinyJobSpec } from "./helpers.js";

const dirs: string[] = [];
after(() => cleanup(dirs));

const spec = tinyJobSpec({ stepsPerEpoch: 6 });

function batch(seq: number, opts: { B?: number; T?: number; scale?: number; predict?: boolean } = {}): Uint8Array {
  const { B = 2, T = 4, scale = 1 } = opts;
  const d = 32;
  const f: Frame = {
    type: opts.predict ? MessageType.PredictBatch : MessageType.TrainBatch,
    dtype: DType.F32,
    seq,
    shape: [B, T, d],
    values: Float32Array.from({ length: B * T * d }, (_, i) => scale * Math.sin(i + seq)),
    mask: new Uint8Array(B * T).fill(1),
    labels: opts.predict ? undefined : Int32Array.from({ length: B }, (_, i) => i % 2),
  };
  return encodeFrame(f);
}

async function rejects(p: Promise<unknown>, status: number, code: string): Promise<SapApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SapApiError, `expected an API error, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected HTTP ${status} ${code}`);
}

interface RawAnswer {
  status: number;
  body: string;
  ms: number;
}

/**
 * One request written by hand on a socket: `head` then `chunks`, each after `gapMs`. Resolves
 * with the first answer (or status 0 if the server closed without one); fails after `timeoutMs`.
 */
function rawRequest(
  url: string,
  head: string,
  chunks: Buffer[],
  opts: { gapMs?: number; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const { port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), "127.0.0.1");
    let got = "";
    let finished = false;
    const finish = (fn: () => void): void => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      clearInterval(writer);
      sock.destroy();
      fn();
    };
    const limit = setTimeout(
      () => finish(() => reject(new Error(`no answer within ${opts.timeoutMs ?? 5000} ms`))),
      opts.timeoutMs ?? 5000,
    );
    const answer = (): void => {
      const m = /^HTTP\/1\.1 (\d+)/.exec(got);
      const end = got.indexOf("\r\n\r\n");
      finish(() =>
        resolve({ status: m ? Number(m[1]) : 0, body: end >= 0 ? got.slice(end + 4) : "", ms: performance.now() - started }),
      );
    };
    sock.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      const end = got.indexOf("\r\n\r\n");
      const len = /content-length: (\d+)/i.exec(got);
      if (end >= 0 && len && got.length >= end + 4 + Number(len[1])) answer();
    });
    sock.on("close", answer);
    sock.on("error", () => undefined); // a reset after the answer is fine; "close" follows
    let i = 0;
    sock.write(head);
    const writer = setInterval(() => {
      if (i < chunks.length && sock.writable) sock.write(chunks[i++]!);
    }, opts.gapMs ?? 0);
  });
}

function headOf(method: string, path: string, key: string, headers: Record<string, string | number>): string {
  const lines = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", `Authorization: Bearer ${key}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return lines.join("\r\n") + "\r\n\r\n";
}

describe("service limits", () => {
  let server: RunningServer;
  let dataDir: string;
  let client: SapClient;
  let key: string;
  let job: string;
  const logs: Array<Record<string, unknown>> = [];
  before(async () => {
    dataDir = tempDir(dirs);
    server = await startTestServer(
      dataDir,
      {
        log: true,
        limits: { maxJobsPerTenant: 3, maxActiveJobsPerTenant: 3, bodyTimeoutMs: 500, maxConcurrentUploads: 1 },
      },
      { log: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) },
    );
    key = server.store.createKey("alice").key;
    client = clientFor(server, key);
    job = (await client.createJob(spec)).id;
    await client.step(job, batch(1));
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it("refuses a batch longer than the job's maxSeqLen (wire_too_long) or wider than its batch size (wire_too_many_rows)", async () => {
    const long = await rejects(client.step(job, batch(2, { T: 9 })), 400, "wire_too_long");
    assert.match(long.message, /sequence length 9 is above the job's limit of 8/);
    await rejects(client.step(job, batch(2, { B: 3 })), 400, "wire_too_many_rows");
    await rejects(client.predict(job, batch(0, { T: 9, predict: true })), 400, "wire_too_long");
    // Evaluation batches may have up to max(64, batchSize) rows.
    assert.ok((await client.predict(job, batch(0, { B: 64, predict: true }))).length > 0);
    await rejects(client.predict(job, batch(0, { B: 65, predict: true })), 400, "wire_too_many_rows");
    assert.equal((await client.step(job, batch(2))).seq, 2, "the job keeps training");
  });

  it("refuses at creation what the model or the limits cannot take (400), and quotas with 429", async () => {
    const tooLong = await rejects(client.createJob({ ...spec, hyper: { ...spec.hyper, maxSeqLen: 65 } }), 400, "bad_request");
    assert.match(tooLong.message, /max positions/);
    const labels = Array.from({ length: 1001 }, (_, i) => `l${i}`);
    assert.match((await rejects(client.createJob({ ...spec, labels }), 400, "bad_request")).message, /limits\.maxLabels 1000/);
    const rank = await rejects(
      client.createJob({ ...spec, peft: { name: "lora", params: { rank: 2 ** 21 } } }),
      400,
      "bad_request",
    );
    assert.match(rank.message, /rank/);
    await rejects(client.createJob({ ...spec, hyper: { ...spec.hyper, batchSize: 100_000 } }), 400, "bad_request");
    await rejects(client.createJob({ ...spec, labels: ["a", "b".repeat(201)] }), 400, "bad_request");
    assert.equal((await client.listJobs()).jobs.length, 1, "no refused job was created");
    // Disk: the tenant's folder is over its quota (a stand-in file of 2 MiB, quota 1 MiB below).
    const tenant = server.store.tenantByName("alice")!.id;
    writeFileSync(join(dataDir, "jobs", tenant, job, "filler.bin"), Buffer.alloc(2 * 1024 * 1024));
    const quota = server.jobs as unknown as { config: { limits: { maxDiskBytesPerTenant: number } } };
    const saved = quota.config.limits.maxDiskBytesPerTenant;
    quota.config.limits.maxDiskBytesPerTenant = 1024 * 1024;
    await rejects(client.createJob(spec), 429, "disk_quota");
    quota.config.limits.maxDiskBytesPerTenant = saved;
    // Total jobs, finished ones included (limit 3).
    for (let i = 0; i < 2; i++) await client.finish((await client.createJob(spec)).id);
    await rejects(client.createJob(spec), 429, "too_many_jobs");
  });

  it("answers a 1 GiB Content-Length with 413 at once, and cuts a trickling body at limits.bodyTimeoutMs", async () => {
    const path = `/v1/jobs/${job}/steps`;
    const huge = await rawRequest(
      server.url,
      headOf("POST", path, key, { "Content-Type": "application/octet-stream", "Content-Length": 2 ** 30 }),
      [Buffer.alloc(64)],
    );
    assert.equal(huge.status, 413, huge.body);
    assert.match(huge.body, /too_large/);
    assert.ok(huge.ms < 1000, `413 took ${huge.ms} ms`);
    const slow = await rawRequest(
      server.url,
      headOf("POST", path, key, { "Content-Type": "application/octet-stream", "Content-Length": 65536 }),
      Array.from({ length: 100 }, () => Buffer.alloc(1)),
      { gapMs: 100, timeoutMs: 5000 },
    );
    assert.equal(slow.status, 408, slow.body);
    assert.match(slow.body, /body_timeout/);
    assert.ok(slow.ms >= 450 && slow.ms < 2000, `the slow body was cut after ${slow.ms} ms (limit 500)`);
  });

  it("refuses a second concurrent upload beyond limits.maxConcurrentUploads with 503 busy", async () => {
    const path = `/v1/jobs/${job}/steps`;
    const hold = rawRequest(
      server.url,
      headOf("POST", path, key, { "Content-Type": "application/octet-stream", "Content-Length": 1000 }),
      [Buffer.alloc(10)],
    );
    await new Promise((r) => setTimeout(r, 100));
    const second = await rawRequest(
      server.url,
      headOf("POST", path, key, { "Content-Type": "application/octet-stream", "Content-Length": 10 }),
      [Buffer.alloc(10)],
    );
    assert.equal(second.status, 503, second.body);
    assert.match(second.body, /busy/);
    assert.equal((await hold).status, 408); // the first is cut by the body timeout
  });

  it("answers prototype model names, deep JSON and huge names with 400/404, quoting at most ~60 characters", async () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const e = await rejects(client.createJob({ ...spec, model: name }), 400, "bad_request");
      assert.match(e.message, /unknown model/);
      await rejects(client.bottomManifest(name, 1), 404, "not_found");
    }
    const deep = `{"model": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const d = await rawRequest(
      server.url,
      headOf("POST", "/v1/jobs", key, { "Content-Type": "application/json", "Content-Length": deep.length }),
      [Buffer.from(deep)],
    );
    assert.equal(d.status, 400, d.body);
    assert.match(d.body, /nests deeper than 32/);
    const big = "m".repeat(900_000);
    const e = await rejects(client.createJob({ ...spec, model: big }), 400, "bad_request");
    assert.ok(e.message.length < 300, `the error quotes ${e.message.length} characters`);
    const p = await rejects(client.createJob({ ...spec, peft: { name: big, params: {} } }), 400, "bad_request");
    assert.ok(p.message.length < 300, `the error quotes ${p.message.length} characters`);
    const h = await rejects(
      client.createJob({ ...spec, hyper: { ...spec.hyper, lr: big as unknown as number } }),
      400,
      "bad_request",
    );
    assert.ok(h.message.length < 300, `the error quotes ${h.message.length} characters`);
    assert.ok(!logs.some((l) => l.status === 500), "no request was answered 500");
  });

  it("logs a customer that disconnects mid-body as aborted (499), not as an error", async () => {
    const before = logs.length;
    await rawRequest(
      server.url,
      headOf("POST", `/v1/jobs/${job}/steps`, key, { "Content-Type": "application/octet-stream", "Content-Length": 1000 }),
      [Buffer.alloc(10)],
      { timeoutMs: 150 },
    ).catch(() => undefined); // the test's own deadline closes the socket mid-body
    await new Promise((r) => setTimeout(r, 200));
    const mine = logs.slice(before);
    assert.ok(
      mine.some((l) => l.code === "aborted" && l.status === 499),
      JSON.stringify(mine),
    );
    assert.ok(!mine.some((l) => l.level === "error" || l.status === 500), JSON.stringify(mine));
  });

  it("creates the database 600 and job folders and files 600/700", () => {
    const mode = (p: string): number => statSync(p).mode & 0o777;
    assert.equal(mode(join(dataDir, "sap.db")).toString(8), "600");
    assert.equal(mode(dataDir).toString(8), "700");
    const tenant = server.store.tenantByName("alice")!.id;
    assert.equal(mode(join(dataDir, "jobs")).toString(8), "700");
    assert.equal(mode(join(dataDir, "jobs", tenant, job)).toString(8), "700");
    assert.equal(mode(join(dataDir, "jobs", tenant, job, "checkpoint.safetensors")).toString(8), "600");
  });
});

describe("a diverging step", () => {
  let server: RunningServer;
  let client: SapClient;
  before(async () => {
    server = await startTestServer(tempDir(dirs));
    client = clientFor(server, server.store.createKey("acme").key);
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it("answers 422 diverged and keeps the job at its last durable step, from which the customer resumes", async () => {
    const job = (await client.createJob(spec)).id;
    await client.step(job, batch(1));
    const e = await rejects(client.step(job, batch(2, { scale: 1e30 })), 422, "diverged");
    assert.equal(e.details.durableSeq, 1);
    assert.equal(e.details.expected, 2);
    const view = await client.job(job);
    assert.equal(view.status, "running");
    assert.equal(view.nextSeq, 2);
    const ack = await client.step(job, batch(2));
    assert.equal(ack.seq, 2);
    assert.ok(Number.isFinite(ack.loss));
    assert.equal(ack.durableSeq, 2);
  });
});
