// `sap serve`: the vendor's HTTP(S) API over node:http — catalogue, bottom downloads, jobs,
// training steps and inference as binary wire frames. One JSON log line per request, with ids,
// status and sizes only: no representations, labels or keys.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { WireError } from "../wire/index.js";
import { bottomBundle, describeModel } from "./catalogue.js";
import { isLoopback, type ServerConfig } from "./config.js";
import { ApiError, badRequest, notFound } from "./errors.js";
import { JobManager } from "./jobs.js";
import { Store } from "./store.js";

const JSON_BODY_LIMIT = 1024 * 1024;

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
}

type Route = { method: string; pattern: RegExp; auth: boolean; handle: (c: Ctx) => Promise<void> };

/** Reads a body up to `limit` bytes; beyond it the rest is drained and the request refused with 413. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  const chunks: Buffer[] = [];
  let size = 0;
  let over = Number.isFinite(declared) && declared > limit;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) over = true;
    if (!over) chunks.push(chunk);
    else if (size > 4 * limit + 1024 * 1024) {
      req.destroy();
      break;
    }
  }
  if (over)
    throw new ApiError(
      413,
      "too_large",
      `request body of ${Number.isFinite(declared) ? declared : size} bytes exceeds the limit of ${limit}`,
    );
  return Buffer.concat(chunks, size);
}

function sendJson(c: Ctx, status: number, body: unknown): number {
  const data = Buffer.from(JSON.stringify(body));
  c.res.writeHead(status, { "content-type": "application/json", "content-length": data.length });
  c.res.end(data);
  return data.length;
}

function sendBytes(c: Ctx, data: Uint8Array, type = "application/octet-stream"): void {
  c.res.writeHead(200, { "content-type": type, "content-length": data.length });
  c.res.end(data);
}

async function readJson(c: Ctx): Promise<unknown> {
  const buf = await readBody(c.req, JSON_BODY_LIMIT);
  c.bytesIn = buf.length;
  if (!buf.length) return {};
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    throw badRequest("request body is not valid JSON");
  }
}

export function startServer(config: ServerConfig): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true });
  const store = new Store(join(config.dataDir, "sap.db"));
  // Steps acknowledged but not yet checkpointed were lost with the old process: the durable step is the truth.
  store.db.prepare("UPDATE jobs SET step = durable_step WHERE status IN ('created', 'running')").run();
  const jobs = new JobManager(store, config);
  const bottoms = join(config.dataDir, "bottoms");
  const frameLimit = config.limits.maxFrameBytes;

  const route = (method: string, path: string, handle: Route["handle"], auth = true): Route => ({
    method,
    pattern: new RegExp(`^${path.replace(/:[a-z]+/g, "([A-Za-z0-9_.-]+)")}$`),
    auth,
    handle,
  });
  const routes: Route[] = [
    route("GET", "/v1/health", async (c) => void sendJson(c, 200, { ok: true }), false),
    route("GET", "/v1/models", async (c) => {
      sendJson(c, 200, { models: Object.entries(config.models).map(([n, e]) => describeModel(n, e)) });
    }),
    route("GET", "/v1/models/:name/bottom", async (c) => {
      const { manifest } = bottomFor(c);
      sendJson(c, 200, manifest);
    }),
    route("GET", "/v1/models/:name/bottom/files/:file", async (c) => {
      const { dir, manifest } = bottomFor(c);
      const file = manifest.files.find((f) => f.name === c.params[1]);
      if (!file) throw notFound(`the bottom bundle has no file ${c.params[1]}`);
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
      const body = await readBody(c.req, frameLimit);
      c.bytesIn = body.length;
      const ack = jobs.step(c.tenant, c.params[0]!, body, (a) => Buffer.byteLength(JSON.stringify(a)));
      sendJson(c, 200, ack);
    }),
    route("POST", "/v1/jobs/:id/predict", async (c) => {
      jobs.get(c.tenant, c.params[0]!);
      const body = await readBody(c.req, frameLimit);
      c.bytesIn = body.length;
      sendBytes(c, jobs.predict(c.tenant, c.params[0]!, body));
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
    const entry = config.models[name];
    if (!entry) throw notFound(`no model ${name} in the catalogue`);
    const split = Number(c.query.get("split"));
    if (!entry.splits.includes(split))
      throw badRequest(`split ${c.query.get("split")} is not offered for ${name} (offered: ${entry.splits.join(", ")})`);
    return bottomBundle(bottoms, name, entry, split);
  }

  const log = (rec: Record<string, unknown>): void => {
    if (config.log) process.stderr.write(JSON.stringify({ t: new Date().toISOString(), ...rec }) + "\n");
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://x");
    const c: Ctx = { req, res, tenant: "", params: [], query: url.searchParams, bytesIn: 0 };
    let code = "ok";
    const run = async (): Promise<void> => {
      const candidates = routes.filter((r) => r.pattern.test(url.pathname));
      if (!candidates.length) throw notFound(`no endpoint ${url.pathname}`);
      const r = candidates.find((x) => x.method === req.method);
      if (!r) throw new ApiError(405, "method_not_allowed", `${req.method} is not allowed on ${url.pathname}`);
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
    run()
      .catch((e: unknown) => {
        let status = 500;
        let body: Record<string, unknown>;
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
          path: url.pathname,
          status: res.statusCode,
          code,
          tenant: c.tenant || undefined,
          bytesIn: c.bytesIn,
          ms: Math.round(performance.now() - started),
        });
      });
  };

  const server: Server = config.tls
    ? createHttpsServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, handler)
    : createHttpServer(handler);
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
            server.closeAllConnections();
            server.close(() => {
              store.close();
              res();
            });
          }),
      });
    });
  });
}
