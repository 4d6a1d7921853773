// Probe of a real `sap serve` against the attacks of issue 14, on loopback only: starts the
// server as a child on 127.0.0.1 port 0 with a temporary config (models/sap-bert-tiny), creates a
// key with `sap keys create`, replays each attack and prints one line per probe, `held` or
// `FAILED`, then `N passed, M failed`. Exits 1 if any failed; stops itself within 60 s.
// Needs a build (npm run build). Usage: npm run probe  (or node scripts/probe-service.mjs)
/* global Buffer, URL, clearInterval, clearTimeout, console, performance, process, setInterval, setTimeout -- Node's, the lint config declares browser-neutral globals only */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(repo, "dist", "src", "cli", "main.js");
const { DType, MessageType, encodeFrame } = await import(join(repo, "dist", "src", "wire", "index.js"));

const BODY_TIMEOUT_MS = 1000;
const dir = mkdtempSync(join(tmpdir(), "sap-probe-"));
let child;
const stop = (code) => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  process.exit(code);
};
const deadline = setTimeout(() => {
  console.log("FAILED  the probe ran past 60 s");
  stop(1);
}, 60_000);
deadline.unref();

const configFile = join(dir, "serve.json");
writeFileSync(
  configFile,
  JSON.stringify({
    host: "127.0.0.1",
    port: 0,
    dataDir: join(dir, "data"),
    models: { "sap-bert-tiny": { path: join(repo, "models", "sap-bert-tiny"), splits: [1] } },
    limits: { bodyTimeoutMs: BODY_TIMEOUT_MS },
    log: false,
  }),
);
const key = execFileSync(process.execPath, [cli, "keys", "create", "--tenant", "probe", "--config", configFile], {
  encoding: "utf8",
  stdio: ["ignore", "pipe", "ignore"],
}).trim();

child = spawn(process.execPath, [cli, "serve", "--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
let childErr = "";
child.stderr.on("data", (d) => (childErr += d.toString()).slice(-4000));
const base = await new Promise((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d.toString();
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) resolve(m[1]);
  });
  child.once("exit", (c) => reject(new Error(`sap serve exited (${c}) before listening: ${childErr}`)));
});
const port = Number(new URL(base).port);

/** One request; resolves with status, parsed JSON body (if any) and milliseconds. */
function call(method, path, body, type = "application/json") {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const data =
      body === undefined ? undefined : typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: {
          authorization: `Bearer ${key}`,
          ...(data ? { "content-type": type, "content-length": Buffer.byteLength(data) } : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, json, text, ms: performance.now() - started });
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/** A request written by hand: headers, then `chunks` one per `gapMs`; the first answer's status. */
function raw(head, chunks, gapMs = 0, timeoutMs = 10_000) {
  const started = performance.now();
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    let got = "";
    let i = 0;
    const done = () => {
      clearInterval(writer);
      clearTimeout(limit);
      sock.destroy();
      const m = /^HTTP\/1\.1 (\d+)/.exec(got);
      resolve({ status: m ? Number(m[1]) : 0, text: got, ms: performance.now() - started });
    };
    const limit = setTimeout(done, timeoutMs);
    sock.on("data", (d) => {
      got += d.toString("latin1");
      const end = got.indexOf("\r\n\r\n");
      const len = /content-length: (\d+)/i.exec(got);
      if (end >= 0 && len && got.length >= end + 4 + Number(len[1])) done();
    });
    sock.on("close", done);
    sock.on("error", () => undefined);
    sock.write(head);
    const writer = setInterval(() => {
      if (i < chunks.length && sock.writable) sock.write(chunks[i++]);
    }, gapMs);
  });
}
const head = (method, path, headers) =>
  [
    `${method} ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    `Authorization: Bearer ${key}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join("\r\n") + "\r\n\r\n";

const D = 128; // sap-bert-tiny's hidden size
function frame(seq, B, T, { scale = 1, predict = false } = {}) {
  return encodeFrame({
    type: predict ? MessageType.PredictBatch : MessageType.TrainBatch,
    dtype: DType.F32,
    seq,
    shape: [B, T, D],
    values: Float32Array.from({ length: B * T * D }, (_, i) => scale * Math.sin(i + seq)),
    mask: new Uint8Array(B * T).fill(1),
    labels: predict ? undefined : Int32Array.from({ length: B }, (_, i) => i % 2),
  });
}

const spec = {
  model: "sap-bert-tiny",
  split: 1,
  labels: ["negative", "positive"],
  peft: { name: "lora", params: {} },
  privatizer: { name: "dchi", params: { eta: 100 } },
  hyper: { epochs: 1, stepsPerEpoch: 8, batchSize: 2, lr: 1e-3, warmupRatio: 0, weightDecay: 0, clip: 1, seed: 1, maxSeqLen: 16 },
};

const results = [];
async function probe(name, fn) {
  let ok = false;
  let detail = "";
  try {
    const r = await fn();
    ok = r === true || (typeof r === "object" && r.ok);
    detail = typeof r === "object" ? r.detail : "";
  } catch (e) {
    detail = `threw ${e?.message ?? e}`;
  }
  results.push(ok);
  console.log(`${ok ? "held  " : "FAILED"}  ${name}${detail ? ` (${detail})` : ""}`);
}
const expect = (r, status, code) => ({
  ok: r.status === status && (code === undefined || r.json?.error?.code === code),
  detail: `${r.status} ${r.json?.error?.code ?? ""} in ${Math.round(r.ms)} ms`,
});

const job = (await call("POST", "/v1/jobs", spec)).json?.id;
if (!job) {
  console.log("FAILED  could not create the probe's job");
  stop(1);
}
const steps = `/v1/jobs/${job}/steps`;

await probe("a train frame with T = 8192 is refused (400 wire_too_long)", async () =>
  expect(await call("POST", steps, frame(1, 1, 8192), "application/octet-stream"), 400, "wire_too_long"),
);
await probe("a predict frame with T = 16384 is refused (400 wire_too_long)", async () =>
  expect(
    await call("POST", `/v1/jobs/${job}/predict`, frame(0, 1, 16384, { predict: true }), "application/octet-stream"),
    400,
    "wire_too_long",
  ),
);
await probe("a train frame with 64 rows for batchSize 2 is refused (400 wire_too_many_rows)", async () =>
  expect(await call("POST", steps, frame(1, 64, 4), "application/octet-stream"), 400, "wire_too_many_rows"),
);
await probe("a huge finite frame answers 422 diverged and the job stays running", async () => {
  await call("POST", steps, frame(1, 2, 8), "application/octet-stream");
  const r = await call("POST", steps, frame(2, 2, 8, { scale: 1e30 }), "application/octet-stream");
  const view = (await call("GET", `/v1/jobs/${job}`)).json;
  return {
    ok: r.status === 422 && r.json?.error?.code === "diverged" && view?.status === "running",
    detail: `${r.status}, job ${view?.status}`,
  };
});
await probe("a 1 GiB Content-Length with a 64-byte body gets 413 at once", async () => {
  const r = await raw(head("POST", steps, { "Content-Type": "application/octet-stream", "Content-Length": 2 ** 30 }), [
    Buffer.alloc(64),
  ]);
  return { ok: r.status === 413 && r.ms < 1000, detail: `${r.status} in ${Math.round(r.ms)} ms` };
});
await probe(`a trickling body is cut within limits.bodyTimeoutMs (${BODY_TIMEOUT_MS} ms)`, async () => {
  const r = await raw(
    head("POST", steps, { "Content-Type": "application/octet-stream", "Content-Length": 65536 }),
    Array.from({ length: 200 }, () => Buffer.alloc(1)),
    100,
  );
  return { ok: r.status === 408 && r.ms < BODY_TIMEOUT_MS + 1500, detail: `${r.status} in ${Math.round(r.ms)} ms` };
});
for (const name of ["constructor", "__proto__", "toString"]) {
  await probe(`model name ${name} is refused (400 on jobs, 404 on bottom)`, async () => {
    const a = await call("POST", "/v1/jobs", { ...spec, model: name });
    const b = await call("GET", `/v1/models/${name}/bottom?split=1`);
    return { ok: a.status === 400 && b.status === 404, detail: `${a.status}, ${b.status}` };
  });
}
await probe("JSON nested 100,000 deep is refused (400)", async () =>
  expect(await call("POST", "/v1/jobs", `{"model": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`), 400, "bad_request"),
);
await probe("a 900 kB model name is refused without being echoed", async () => {
  const r = await call("POST", "/v1/jobs", { ...spec, model: "m".repeat(900_000) });
  return { ok: r.status === 400 && r.text.length < 400, detail: `${r.status}, ${r.text.length} bytes answered` };
});
await probe("110,000 labels are refused (400)", async () =>
  expect(
    await call("POST", "/v1/jobs", { ...spec, labels: Array.from({ length: 110_000 }, (_, i) => `l${i}`) }),
    400,
    "bad_request",
  ),
);
await probe("LoRA rank 2^21 is refused at once (400)", async () => {
  const r = await call("POST", "/v1/jobs", { ...spec, peft: { name: "lora", params: { rank: 2 ** 21 } } });
  return { ok: r.status === 400 && r.ms < 2000, detail: `${r.status} in ${Math.round(r.ms)} ms` };
});
await probe("hyper.maxSeqLen above the model's positions is refused (400)", async () =>
  expect(await call("POST", "/v1/jobs", { ...spec, hyper: { ...spec.hyper, maxSeqLen: 100_000 } }), 400, "bad_request"),
);
await probe("bottom file names with traversal are not served (404)", async () => {
  const a = await call("GET", "/v1/models/sap-bert-tiny/bottom/files/..?split=1");
  const b = await call("GET", "/v1/models/sap-bert-tiny/bottom/files/..%2F..%2Fsap.db?split=1");
  return { ok: a.status === 404 && b.status === 404, detail: `${a.status}, ${b.status}` };
});
await probe("the server is alive and the job still trains afterwards", async () => {
  const health = await call("GET", "/v1/health");
  const view = (await call("GET", `/v1/jobs/${job}`)).json;
  const r = await call("POST", steps, frame(view.nextSeq, 2, 8), "application/octet-stream");
  return {
    ok: health.status === 200 && r.status === 200 && child.exitCode === null,
    detail: `health ${health.status}, step ${r.status}`,
  };
});

const failed = results.filter((x) => !x).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
stop(failed ? 1 : 0);
