// Bad input to the vendor: malformed frames, wrong shapes, NaN, oversize payloads, unknown jobs,
// other tenants' jobs, expired/revoked keys, too many jobs. Each is a clear HTTP error, and the
// server and the other jobs keep working. Plus a seeded fuzz of the frame decoder.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { SapApiError, type SapClient } from "../../src/client/sdk.js";
import type { RunningServer } from "../../src/server/http.js";
import {
  DType,
  MessageType,
  WireError,
  crc32,
  decodeFrame,
  encodeFrame,
  fromHalf,
  toHalf,
  type Frame,
} from "../../src/wire/index.js";
import { cleanup, clientFor, startTestServer, tempDir, tinyJobSpec } from "./helpers.js";

const dirs: string[] = [];
after(() => cleanup(dirs));

const spec = tinyJobSpec();

function batch(seq: number, opts: { B?: number; T?: number; d?: number; fill?: number } = {}): Frame {
  const { B = 2, T = 4, d = 32 } = opts;
  const values = Float32Array.from({ length: B * T * d }, (_, i) => opts.fill ?? Math.sin(i));
  return {
    type: MessageType.TrainBatch,
    dtype: DType.F32,
    seq,
    shape: [B, T, d],
    values,
    mask: new Uint8Array(B * T).fill(1),
    labels: Int32Array.from({ length: B }, (_, i) => i % 2),
  };
}

async function rejects(p: Promise<unknown>, status: number, code: string | RegExp): Promise<SapApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SapApiError, `expected an API error, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    if (typeof code === "string") assert.equal(e.code, code, e.message);
    else assert.match(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected HTTP ${status}`);
}

describe("wire format", () => {
  it("round-trips f32 exactly and f16 within half precision; counts bytes", () => {
    const f = batch(7);
    const bytes = encodeFrame(f);
    assert.equal(bytes.length, 28 + 12 + 2 * 4 * 32 * 4 + 8 + 8 + 4);
    const back = decodeFrame(bytes);
    assert.deepEqual(back.values, f.values);
    assert.deepEqual(back.labels, f.labels);
    assert.equal(back.seq, 7);
    const half = decodeFrame(encodeFrame({ ...f, dtype: DType.F16 }));
    for (let i = 0; i < f.values.length; i++) assert.ok(Math.abs(half.values[i]! - f.values[i]!) <= 1e-3);
    for (const v of [0, 1, -2.5, 65504, 2 ** -14, 2 ** -24, 0.333251953125]) assert.equal(fromHalf(toHalf(v)), v);
  });

  it("rejects each kind of bad frame with a typed error", () => {
    const good = encodeFrame(batch(1));
    const mutate = (f: (b: Uint8Array, dv: DataView) => void, fixCrc = true): Uint8Array => {
      const b = good.slice();
      const dv = new DataView(b.buffer);
      f(b, dv);
      if (fixCrc) dv.setUint32(b.length - 4, crc32(b, 0, b.length - 4), true);
      return b;
    };
    const cases: Array<[string, Uint8Array, string]> = [
      ["truncated", good.subarray(0, good.length - 10), "truncated"],
      ["header only", good.subarray(0, 20), "truncated"],
      ["magic", mutate((b) => (b[0] = 0x41)), "bad_magic"],
      ["version", mutate((b) => (b[4] = 9)), "bad_version"],
      ["type", mutate((b) => (b[5] = 77)), "bad_message_type"],
      ["dtype", mutate((b) => (b[6] = 5)), "bad_dtype"],
      ["rank", mutate((b) => (b[7] = 0)), "bad_shape"],
      ["shape/payload", mutate((_b, dv) => dv.setUint32(28, 3, true)), "length_mismatch"],
      ["checksum", mutate((b) => (b[100] ^= 0xff), false), "checksum_mismatch"],
      ["NaN", mutate((_b, dv) => dv.setFloat32(40, Number.NaN, true)), "non_finite"],
      ["Inf", mutate((_b, dv) => dv.setFloat32(44, -Infinity, true)), "non_finite"],
      ["mask", mutate((b) => (b[40 + 4 * 256] = 2)), "bad_mask"],
      ["trailing", Uint8Array.from([...good, 0]), "length_mismatch"],
    ];
    for (const [name, bytes, code] of cases)
      assert.throws(
        () => decodeFrame(bytes),
        (e: unknown) => e instanceof WireError && e.code === code,
        name,
      );
    assert.throws(
      () => decodeFrame(good, { maxFrameBytes: 1024 }),
      (e: unknown) => e instanceof WireError && e.code === "too_large",
    );
    assert.throws(
      () => decodeFrame(good, { numLabels: 1 }),
      (e: unknown) => e instanceof WireError && e.code === "bad_labels",
    );
    assert.throws(() => encodeFrame(batch(1, { fill: Number.NaN })), WireError);
  });

  it("fuzz: random and mutated frames never crash the decoder (seeded, bounded)", () => {
    const good = encodeFrame(batch(3, { B: 1, T: 2, d: 4 }));
    const decodeOrWireError = (b: Uint8Array): void => {
      try {
        decodeFrame(b, { maxFrameBytes: 4096 });
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => decodeOrWireError(b)),
      { seed: 42, numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (edits, fixCrc) => {
          const b = good.slice();
          for (const [i, v] of edits) b[i] = v;
          if (fixCrc) new DataView(b.buffer).setUint32(b.length - 4, crc32(b, 0, b.length - 4), true);
          decodeOrWireError(b);
        },
      ),
      { seed: 7, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(good.length), (n) => decodeOrWireError(good.subarray(0, n))),
      { seed: 9, numRuns: 300 },
    );
  });
});

describe("server under bad input", () => {
  let server: RunningServer;
  let a: SapClient;
  let b: SapClient;
  let aJob: string;
  before(async () => {
    server = await startTestServer(tempDir(dirs), { limits: { maxFrameBytes: 64 * 1024, maxActiveJobsPerTenant: 2 } });
    a = clientFor(server, server.store.createKey("alice").key);
    b = clientFor(server, server.store.createKey("bob").key);
    aJob = (await a.createJob(spec)).id;
    await a.step(aJob, encodeFrame(batch(1)));
  });
  after(async () => {
    a.close();
    b.close();
    await server.close();
  });

  it("answers malformed frames with 400 and a named problem, and the job keeps training", async () => {
    const good = encodeFrame(batch(2));
    await rejects(a.step(aJob, good.subarray(0, 100)), 400, "wire_truncated");
    const bad = good.slice();
    bad[50] ^= 1;
    const e = await rejects(a.step(aJob, bad), 400, "wire_checksum_mismatch");
    assert.match(e.message, /CRC32/);
    await rejects(a.step(aJob, encodeFrame(batch(2, { d: 16 }))), 400, "wire_bad_shape");
    const nan = good.slice();
    new DataView(nan.buffer).setFloat32(40, Number.NaN, true);
    new DataView(nan.buffer).setUint32(nan.length - 4, crc32(nan, 0, nan.length - 4), true);
    await rejects(a.step(aJob, nan), 400, "wire_non_finite");
    await rejects(a.step(aJob, encodeFrame({ ...batch(2), labels: Int32Array.from([0, 5]) })), 400, "wire_bad_labels");
    await rejects(a.step(aJob, encodeFrame(batch(2, { B: 16, T: 64, d: 32 }))), 413, /too_large/);
    await rejects(a.step(aJob, encodeFrame(batch(4))), 409, "out_of_order");
    const ack = await a.step(aJob, good);
    assert.equal(ack.seq, 2);
    assert.ok(Number.isFinite(ack.loss));
    const again = await a.step(aJob, good);
    assert.equal(again.duplicate, true);
    assert.equal((await a.job(aJob)).step, 2);
  });

  it("isolates tenants: another tenant cannot list, read, train, predict, cancel or delete a job", async () => {
    assert.equal((await b.listJobs()).jobs.length, 0);
    await rejects(b.job(aJob), 404, "not_found");
    await rejects(b.step(aJob, encodeFrame(batch(3))), 404, "not_found");
    await rejects(
      b.predict(aJob, encodeFrame({ ...batch(0), type: MessageType.PredictBatch, labels: undefined })),
      404,
      "not_found",
    );
    await rejects(b.cancel(aJob), 404, "not_found");
    await rejects(b.deleteJob(aJob), 404, "not_found");
    await rejects(b.reportEpoch(aJob, 1, 0.5), 404, "not_found");
    await rejects(b.job("job_doesnotexist"), 404, "not_found");
    assert.equal((await a.job(aJob)).status, "running");
  });

  it("refuses unknown, revoked and expired keys, and limits concurrent jobs per tenant", async () => {
    await rejects(clientFor(server, "nonsense").listJobs(), 401, "unauthorized");
    await rejects(clientFor(server, "sap_000000000000_" + "A".repeat(43)).listJobs(), 401, "unauthorized");
    const revoked = server.store.createKey("alice");
    server.store.revokeKey(revoked.id);
    const e1 = await rejects(clientFor(server, revoked.key).listJobs(), 401, "unauthorized");
    assert.match(e1.message, /revoked/);
    const expired = server.store.createKey("alice", { expiresAt: Date.now() - 1 });
    const e2 = await rejects(clientFor(server, expired.key).listJobs(), 401, "unauthorized");
    assert.match(e2.message, /expired/);
    const second = await a.createJob(spec);
    await rejects(a.createJob(spec), 429, "too_many_jobs");
    await a.cancel(second.id);
    await rejects(a.step(second.id, encodeFrame(batch(1))), 409, "job_not_active");
    await a.deleteJob(second.id);
    await rejects(a.createJob({ ...spec, split: 0 }), 400, "bad_request");
    await rejects(a.createJob({ ...spec, model: "gpt-17" }), 400, "bad_request");
    // Bob is unaffected by Alice's limit.
    const bobJob = await b.createJob(spec);
    assert.equal(bobJob.status, "created");
  });
});
