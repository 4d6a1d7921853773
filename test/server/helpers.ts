// Shared set-up of the service tests: a temporary data dir, a loopback server on tiny-bert, keys.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SapClient } from "../../src/client/sdk.js";
import { parseServerConfig } from "../../src/server/config.js";
import { startServer, type RunningServer, type ServerHooks } from "../../src/server/http.js";
import { fixture } from "../paths.js";

export function tempDir(dirs: string[]): string {
  const d = mkdtempSync(join(tmpdir(), "sap-srv-"));
  dirs.push(d);
  return d;
}

export function cleanup(dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

export function serverConfigJson(dataDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    host: "127.0.0.1",
    port: 0,
    dataDir,
    models: { "tiny-bert": { path: fixture("tiny-bert"), splits: [1] } },
    log: false,
    ...extra,
  };
}

export function startTestServer(
  dataDir: string,
  extra: Record<string, unknown> = {},
  hooks: ServerHooks = {},
): Promise<RunningServer> {
  return startServer(parseServerConfig(serverConfigJson(dataDir, extra)), hooks);
}

export function clientFor(server: { url: string }, key: string, reconnectTimeoutMs = 2000): SapClient {
  return new SapClient({ server: server.url, key, reconnectTimeoutMs });
}
