// `sap serve`: the vendor's HTTP(S) API over node:http — catalogue, bottom downloads, jobs,
// training steps and inference as binary wire frames. One JSON log line per request, with ids,
// status and sizes only: no representations, labels or keys. Every request is bounded: headers
// and body must arrive in time, a declared size above the limit is refused before reading, and
// JSON bodies are capped in size and nesting.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { WireError } from "../wire/index.js";
import { bottomBundle, describeModel } from "./catalogue.js";
import { isLoopback, type ServerConfig } from "./config.js";
import { shortJson, shortText } from "../params/index.js";
import { ApiError, badRequest, notFound } from "./errors.js";
import { JobManager } from "./jobs.js";
import { Store } from "./store.js";

/** Deepest nesting of arrays and objects a JSON body may have (job specs need 3). */
export const MAX_JSON_DEPTH = 32;

export interface ServerHooks {
  /** Where the JSON log lines go (default: stderr, when config.log is set). */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  jobs: JobManager;
  close(): Promise<void>;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  tenant: string;
  params: string[];
  query: URLSearchParams;
  bytesIn: number;
  jobId?: string;
  /** The request body was left unread (refused or cut off): close the connection after answering. */
  close?: boolean;
}

type Route = { method: string; pattern: RegExp; auth: boolean; handle: (c: Ctx) => Promise<void> };

/** A request the client gave up on (disconnected mid-body): not an error of the server's. */
class ClientAborted extends Error {}

/**
 * Reads a body of at most `limit` bytes within `timeoutMs`. A declared Content-Length over the
 * limit is refused with 413 before a byte is read; a body that grows past it, or that trickles in
 * slower than the timeout, is cut off (408) and the connection closed, so nothing holds a
 * request open for longer than the timeout.
 */
function readBody(c: Ctx, limit: number, timeoutMs: number): Promise<Buffer> {
  const req = c.req;
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    c.close = true;
    return Promise.reject(new ApiError(413, "too_large", `request body of ${declared} bytes exceeds the limit of ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const fail = (e: Error): void => {
      done();
      c.close = true;
      req.pause();
      reject(e);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) fail(new ApiError(413, "too_large", `request body exceeds the limit of ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (): void => fail(new ClientAborted("the client closed the connection mid-body"));
    const onClose = (): void => {
      if (!req.complete) fail(new ClientAborted("the client closed the connection mid-body"));
    };
    const timer = setTimeout(
      () =>
        fail(new ApiError(408, "body_timeout", `the request body did not arrive within ${timeoutMs} ms (${size} bytes came)`)),
      timeoutMs,
    );
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/** Whether a JSON text nests arrays/objects deeper than `max` (counted outside strings). */
export function nestsDeeper(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return false;
}

function sendJson(c: Ctx, status: number, body: unknown): number {
  const data = Buffer.from(JSON.stringify(body));
  c.res.writeHead(status, {
    "content-type": "application/json",
    "content-length": data.length,
    ...(status === 503 ? { "retry-after": "1" } : {}),
    ...(c.close ? { connection: "close" } : {}),
  });
  c.res.end(data);
  return data.length;
}

function sendBytes(c: Ctx, data: Uint8Array, type = "application/octet-stream"): void {
  c.res.writeHead(200, { "content-type": type, "content-length": data.length });
  c.res.end(data);
}

export function startServer(config: ServerConfig, hooks: ServerHooks = {}): Promise<RunningServer> {
  // Everything the service writes (database, checkpoints, adapters, bottoms) is its own: files
  // 600 and folders 700, whatever the umask of the shell that started it.
  process.umask(0o077);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  const store = new Store(join(config.dataDir, "sap.db"));
  // Steps acknowledged but not yet checkpointed were lost with the old process: the durable step is the truth.
  store.db.prepare("UPDATE jobs SET step = durable_step WHERE status IN ('created', 'running')").run();
  const jobs = new JobManager(store, config);
  // Upload jobs that were training when the server stopped carry on from their checkpoints.
  jobs.resumeUploads();
  const bottoms = join(config.dataDir, "bottoms");
  const lim = config.limits;
  let uploads = 0;

  /** A body read counted against limits.maxConcurrentUploads (503 beyond it: the client retries). */
  const upload = async (c: Ctx, limit: number): Promise<Buffer> => {
    if (uploads >= lim.maxConcurrentUploads) {
      c.close = true;
      throw new ApiError(503, "busy", `${uploads} uploads are in progress (limits.maxConcurrentUploads); retry shortly`);
    }
    uploads++;
    try {
      const buf = await readBody(c, limit, lim.bodyTimeoutMs);
      c.bytesIn = buf.length;
      return buf;
    } finally {
      uploads--;
    }
  };

  const readJson = async (c: Ctx): Promise<unknown> => {
    const buf = await upload(c, lim.maxJsonBytes);
    if (!buf.length) return {};
    const text = buf.toString("utf8");
    if (nestsDeeper(text, MAX_JSON_DEPTH)) throw badRequest(`request body nests deeper than ${MAX_JSON_DEPTH} levels`);
    try {
      return JSON.parse(text);
    } catch {
      throw badRequest("request body is not valid JSON");
    }
  };

  const route = (method: string, path: string, handle: Route["handle"], auth = true): Route => ({
    method,
    pattern: new RegExp(`^${path.replace(/:[a-z]+/g, "([A-Za-z0-9_.-]+)")}$`),
    auth,
    handle,
  });
  const routes: Route[] = [
    route("GET", "/v1/health", async (c) => void sendJson(c, 200, { ok: true }), false),
    route("GET", "/v1/models", async (c) => {
      sendJson(c, 200, { models: [...config.models].map(([n, e]) => describeModel(n, e)) });
    }),
    route("GET", "/v1/models/:name/bottom", async (c) => {
      const { manifest } = bottomFor(c);
      sendJson(c, 200, manifest);
    }),
    route("GET", "/v1/models/:name/bottom/files/:file", async (c) => {
      const { dir, manifest } = bottomFor(c);
      const file = manifest.files.find((f) => f.name === c.params[1]);
      if (!file) throw notFound(`the bottom bundle has no file ${shortText(c.params[1]!)}`);
      sendBytes(c, readFileSync(join(dir, file.name)));
    }),
    route("POST", "/v1/jobs", async (c) => {
      const row = jobs.create(c.tenant, await readJson(c));
      c.jobId = row.id;
      sendJson(c, 201, jobs.view(row));
    }),
    route("GET", "/v1/jobs", async (c) => {
      sendJson(c, 200, { jobs: store.jobs(c.tenant).map((j) => jobs.view(j)) });
    }),
    route("GET", "/v1/jobs/:id", async (c) => {
      sendJson(c, 200, jobs.view(jobs.get(c.tenant, c.params[0]!)));
    }),
    route("DELETE", "/v1/jobs/:id", async (c) => {
      jobs.delete(c.tenant, c.params[0]!);
      sendJson(c, 200, { deleted: c.params[0] });
    }),
    route("POST", "/v1/jobs/:id/steps", async (c) => {
      jobs.get(c.tenant, c.params[0]!); // unknown job or wrong tenant: 404 before reading a large body
      const body = await upload(c, lim.maxFrameBytes);
      const ack = jobs.step(c.tenant, c.params[0]!, body, (a) => Buffer.byteLength(JSON.stringify(a)));
      sendJson(c, 200, ack);
    }),
    route("POST", "/v1/jobs/:id/predict", async (c) => {
      jobs.get(c.tenant, c.params[0]!);
      const body = await upload(c, lim.maxFrameBytes);
      sendBytes(c, jobs.predict(c.tenant, c.params[0]!, body));
    }),
    // Upload mode (docs/wire-format.md): chunks of the whole release, then complete.
    route("PUT", "/v1/jobs/:id/upload/:chunk", async (c) => {
      // Unknown job, another tenant's, a closed upload or a bad index: refused before the body is read.
      jobs.chunkTarget(c.tenant, c.params[0]!, c.params[1]!);
      const body = await upload(c, lim.maxChunkBytes);
      sendJson(c, 200, jobs.putChunk(c.tenant, c.params[0]!, c.params[1]!, body));
    }),
    route("GET", "/v1/jobs/:id/upload", async (c) => {
      sendJson(c, 200, jobs.uploadStatus(jobs.get(c.tenant, c.params[0]!)));
    }),
    route("POST", "/v1/jobs/:id/upload/complete", async (c) => {
      sendJson(c, 200, jobs.view(jobs.completeUpload(c.tenant, c.params[0]!)));
    }),
    route("POST", "/v1/jobs/:id/epochs", async (c) => {
      sendJson(c, 200, jobs.epoch(c.tenant, c.params[0]!, await readJson(c)));
    }),
    route("POST", "/v1/jobs/:id/finish", async (c) => {
      sendJson(c, 200, jobs.view(jobs.finish(c.tenant, c.params[0]!)));
    }),
    route("POST", "/v1/jobs/:id/cancel", async (c) => {
      sendJson(c, 200, jobs.view(jobs.cancel(c.tenant, c.params[0]!)));
    }),
  ];

  function bottomFor(c: Ctx): ReturnType<typeof bottomBundle> {
    const name = c.params[0]!;
    const entry = config.models.get(name);
    if (!entry) throw notFound(`no model ${shortText(name)} in the catalogue`);
    const split = Number(c.query.get("split"));
    if (!entry.splits.includes(split))
      throw badRequest(
        `split ${shortJson(c.query.get("split"))} is not offered for ${name} (offered: ${entry.splits.join(", ")})`,
      );
    return bottomBundle(bottoms, name, entry, split);
  }

  const sink = hooks.log ?? ((line: string) => process.stderr.write(line));
  const log = (rec: Record<string, unknown>): void => {
    if (config.log) sink(JSON.stringify({ t: new Date().toISOString(), ...rec }) + "\n");
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://x");
    const c: Ctx = { req, res, tenant: "", params: [], query: url.searchParams, bytesIn: 0 };
    let code = "ok";
    const run = async (): Promise<void> => {
      const candidates = routes.filter((r) => r.pattern.test(url.pathname));
      if (!candidates.length) throw notFound(`no endpoint ${shortText(url.pathname)}`);
      const r = candidates.find((x) => x.method === req.method);
      if (!r)
        throw new ApiError(
          405,
          "method_not_allowed",
          `${shortText(req.method ?? "")} is not allowed on ${shortText(url.pathname)}`,
        );
      c.params = r.pattern.exec(url.pathname)!.slice(1);
      if (r.auth) {
        const h = req.headers.authorization ?? "";
        if (!h.startsWith("Bearer ")) throw new ApiError(401, "unauthorized", "missing 'Authorization: Bearer <API key>' header");
        const check = store.checkKey(h.slice(7).trim());
        if (!check.ok) throw new ApiError(401, "unauthorized", check.reason);
        c.tenant = check.tenant;
      }
      await r.handle(c);
    };
    let aborted = false;
    run()
      .catch((e: unknown) => {
        let status = 500;
        let body: Record<string, unknown>;
        if (e instanceof ClientAborted || (req.destroyed && !req.complete)) {
          // The customer went away: nobody to answer, and nothing wrong with the server.
          aborted = true;
          code = "aborted";
          res.destroy();
          return;
        }
        if (e instanceof ApiError) {
          status = e.status;
          code = e.code;
          body = { error: { code: e.code, message: e.message, ...e.details } };
        } else if (e instanceof WireError) {
          status = e.code === "too_large" ? 413 : 400;
          code = `wire_${e.code}`;
          body = { error: { code, message: e.message } };
        } else {
          code = "internal";
          // The message of an unexpected error may quote data; log its class and a stack only.
          log({ level: "error", error: (e as Error)?.name, stack: (e as Error)?.stack?.split("\n").slice(0, 4).join(" | ") });
          body = { error: { code, message: "internal server error" } };
        }
        if (!res.headersSent) sendJson(c, status, body);
        else res.destroy();
      })
      .finally(() => {
        log({
          method: req.method,
          path: shortText(url.pathname, 200),
          status: aborted ? 499 : res.statusCode, // 499: client closed the request (nginx's convention)
          code,
          tenant: c.tenant || undefined,
          bytesIn: c.bytesIn,
          ms: Math.round(performance.now() - started),
        });
      });
  };

  // Node enforces headersTimeout and requestTimeout on its own clock (checked every
  // connectionsCheckingInterval); readBody's timer cuts a slow body sooner, with an answer.
  const timeouts: ServerOptions = {
    headersTimeout: lim.headersTimeoutMs,
    requestTimeout: lim.headersTimeoutMs + lim.bodyTimeoutMs + 5_000,
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(lim.headersTimeoutMs / 4))),
  };
  const server: Server = config.tls
    ? createHttpsServer({ ...timeouts, cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, handler)
    : createHttpServer(timeouts, handler);
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      const port = (server.address() as AddressInfo).port;
      const host = config.host.includes(":") ? `[${config.host}]` : config.host;
      if (!config.tls && !isLoopback(config.host))
        log({ level: "warn", message: "plain HTTP on a non-loopback address (allowInsecureHttp)" });
      resolve({
        url: `${config.tls ? "https" : "http"}://${host}:${port}`,
        port,
        store,
        jobs,
        close: () =>
          new Promise<void>((res) => {
            const stopped = jobs.close();
            server.closeAllConnections();
            server.close(() => {
              void stopped.then(() => {
                store.close();
                res();
              });
            });
          }),
      });
    });
  });
}
