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
  models: Record<string, CatalogueEntry>;
  limits: {
    /** Largest wire frame accepted, bytes. */
    maxFrameBytes: number;
    /** Jobs in state created/running per tenant. */
    maxActiveJobsPerTenant: number;
  };
  /** Checkpoint (and then acknowledge as durable) every this many steps. 1 = every step. */
  checkpointEvery: number;
  /** Write one JSON line per request to stderr. */
  log: boolean;
}

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
  const models: Record<string, CatalogueEntry> = {};
  for (const [name, e] of Object.entries(r.models as Record<string, unknown>)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) fail(`model name "${name}" must be 1-64 letters, digits, '_', '.' or '-'`);
    const entry = e as Record<string, unknown>;
    const dir = path(entry?.path, `models.${name}.path`);
    if (!existsSync(dir)) fail(`models.${name}.path ${dir} does not exist`);
    const splits = entry.splits;
    if (!Array.isArray(splits) || !splits.length || splits.some((k) => !Number.isInteger(k) || k < 0))
      fail(`models.${name}.splits must be a non-empty list of layer indices (k >= 0)`);
    models[name] = { path: dir, splits: splits as number[] };
  }
  const lim = (r.limits ?? {}) as Record<string, unknown>;
  return {
    host,
    port,
    dataDir: path(r.dataDir, "dataDir"),
    tls,
    allowInsecureHttp,
    models,
    limits: {
      maxFrameBytes: int(lim.maxFrameBytes, "limits.maxFrameBytes", 1024, 64 * 1024 * 1024),
      maxActiveJobsPerTenant: int(lim.maxActiveJobsPerTenant, "limits.maxActiveJobsPerTenant", 1, 4),
    },
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
