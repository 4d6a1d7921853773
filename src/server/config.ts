// `sap serve --config FILE`: the server's JSON configuration, validated with messages that name
// the offending field. Relative paths are resolved against the config file's folder.
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";

export interface CatalogueEntry {
  /** A Hugging Face model directory on the vendor's disk. */
  path: string;
  /** Split points (k) customers may choose. */
  splits: number[];
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Jobs, checkpoints, adapters, cached bottoms and the SQLite database live here. */
  dataDir: string;
  tls?: { cert: string; key: string };
  /** Serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy). */
  allowInsecureHttp: boolean;
  /** A Map, not an object: a customer-given name such as "__proto__" must not find Object.prototype. */
  models: Map<string, CatalogueEntry>;
  limits: ServerLimits;
  /** Checkpoint (and then acknowledge as durable) every this many steps. 1 = every step. */
  checkpointEvery: number;
  /** Write one JSON line per request to stderr. */
  log: boolean;
}

/** What one tenant (or one request) may cost the service; see docs/service-config.md. */
export interface ServerLimits {
  /** Largest wire frame accepted, bytes. */
  maxFrameBytes: number;
  /** Largest JSON request body, bytes. */
  maxJsonBytes: number;
  /** Jobs in state created/running per tenant. */
  maxActiveJobsPerTenant: number;
  /** Jobs of any state (finished ones keep an adapter on disk) per tenant. */
  maxJobsPerTenant: number;
  /** Bytes under dataDir/jobs/TENANT (checkpoints, adapters); a new job is refused beyond it. */
  maxDiskBytesPerTenant: number;
  /** Label names of one job (each adds a row to the head, its checkpoint and adapter). */
  maxLabels: number;
  /** hyper.batchSize of a job; training frames may carry up to this many rows. */
  maxBatchSize: number;
  /** Request bodies being received at once, over all tenants; more wait (503, retried by the client). */
  maxConcurrentUploads: number;
  /** A request body must arrive within this many ms of its headers. */
  bodyTimeoutMs: number;
  /** The request headers must arrive within this many ms of the connection. */
  headersTimeoutMs: number;
  /** Models kept in memory (the least recently used beyond it is unloaded, reloaded from disk on demand). */
  maxSessions: number;
  /** A job's model unused for this long is unloaded. */
  sessionIdleMs: number;
  /** Largest upload chunk (one TrainBatch frame of an upload job), bytes. */
  maxChunkBytes: number;
  /** Bytes of uploaded chunks a tenant may hold on the server, all its jobs together. */
  maxUploadBytesPerTenant: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxFrameBytes: 64 * 1024 * 1024,
  maxJsonBytes: 1024 * 1024,
  maxActiveJobsPerTenant: 4,
  maxJobsPerTenant: 100,
  maxDiskBytesPerTenant: 10 * 1024 ** 3,
  maxLabels: 1000,
  maxBatchSize: 512,
  maxConcurrentUploads: 16,
  bodyTimeoutMs: 60_000,
  headersTimeoutMs: 20_000,
  maxSessions: 8,
  sessionIdleMs: 10 * 60_000,
  maxChunkBytes: 16 * 1024 * 1024,
  maxUploadBytesPerTenant: 4 * 1024 ** 3,
};

/** The smallest value of each limit a config may set (below these the service cannot work). */
const LIMIT_MIN: ServerLimits = {
  maxFrameBytes: 1024,
  maxJsonBytes: 1024,
  maxActiveJobsPerTenant: 1,
  maxJobsPerTenant: 1,
  maxDiskBytesPerTenant: 1024 * 1024,
  maxLabels: 2,
  maxBatchSize: 1,
  maxConcurrentUploads: 1,
  bodyTimeoutMs: 100,
  headersTimeoutMs: 100,
  maxSessions: 1,
  sessionIdleMs: 1000,
  maxChunkBytes: 1024,
  maxUploadBytesPerTenant: 1024 * 1024,
};

export class ConfigFileError extends Error {}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith("127.");
}

export function parseServerConfig(raw: unknown, baseDir = process.cwd(), where = "server config"): ServerConfig {
  const fail = (msg: string): never => {
    throw new ConfigFileError(`${where}: ${msg}`);
  };
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) fail("must be a JSON object");
  const r = raw as Record<string, unknown>;
  const known = new Set(["host", "port", "dataDir", "tls", "allowInsecureHttp", "models", "limits", "checkpointEvery", "log"]);
  for (const k of Object.keys(r)) if (!known.has(k)) fail(`unknown field "${k}" (known: ${[...known].join(", ")})`);
  const path = (p: unknown, field: string): string => {
    if (typeof p !== "string" || !p) fail(`${field} must be a non-empty string path`);
    return isAbsolute(p as string) ? (p as string) : resolve(baseDir, p as string);
  };
  const int = (v: unknown, field: string, min: number, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || (v as number) < min) fail(`${field} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const host = r.host === undefined ? "127.0.0.1" : typeof r.host === "string" ? r.host : fail("host must be a string");
  const port = int(r.port, "port", 0, 8750);
  if (port > 65535) fail(`port ${port} is above 65535`);
  let tls: ServerConfig["tls"];
  if (r.tls !== undefined) {
    const t = r.tls as Record<string, unknown>;
    tls = { cert: path(t?.cert, "tls.cert"), key: path(t?.key, "tls.key") };
    for (const f of [tls.cert, tls.key]) if (!existsSync(f)) fail(`TLS file ${f} does not exist`);
  }
  const allowInsecureHttp = r.allowInsecureHttp === true;
  if (!tls && !isLoopback(host) && !allowInsecureHttp)
    fail(
      `refusing plain HTTP on ${host}: give tls.cert and tls.key, bind to 127.0.0.1, or set allowInsecureHttp (behind a TLS proxy only)`,
    );
  if (!r.models || typeof r.models !== "object") fail('models must map names to {"path": DIR, "splits": [k, ...]}');
  const models = new Map<string, CatalogueEntry>();
  for (const [name, e] of Object.entries(r.models as Record<string, unknown>)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) fail(`model name "${name}" must be 1-64 letters, digits, '_', '.' or '-'`);
    const entry = e as Record<string, unknown>;
    const dir = path(entry?.path, `models.${name}.path`);
    if (!existsSync(dir)) fail(`models.${name}.path ${dir} does not exist`);
    const splits = entry.splits;
    if (!Array.isArray(splits) || !splits.length || splits.some((k) => !Number.isInteger(k) || k < 0))
      fail(`models.${name}.splits must be a non-empty list of layer indices (k >= 0)`);
    models.set(name, { path: dir, splits: splits as number[] });
  }
  if (r.limits !== undefined && (!r.limits || typeof r.limits !== "object" || Array.isArray(r.limits)))
    fail("limits must be a JSON object");
  const lim = (r.limits ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(lim))
    if (!Object.hasOwn(DEFAULT_LIMITS, k)) fail(`unknown field "limits.${k}" (known: ${Object.keys(DEFAULT_LIMITS).join(", ")})`);
  const limits = { ...DEFAULT_LIMITS };
  for (const k of Object.keys(DEFAULT_LIMITS) as Array<keyof ServerLimits>)
    limits[k] = int(lim[k], `limits.${k}`, LIMIT_MIN[k], DEFAULT_LIMITS[k]);
  return {
    host,
    port,
    dataDir: path(r.dataDir, "dataDir"),
    tls,
    allowInsecureHttp,
    models,
    limits,
    checkpointEvery: int(r.checkpointEvery, "checkpointEvery", 1, 1),
    log: r.log !== false,
  };
}

export function readServerConfig(file: string): ServerConfig {
  if (!existsSync(file)) throw new ConfigFileError(`${file}: no such config file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigFileError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return parseServerConfig(raw, dirname(resolve(file)), file);
}
