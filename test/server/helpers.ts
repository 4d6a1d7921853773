// Shared set-up of the service tests: a temporary data dir, a loopback server on tiny-bert, keys.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SapClient } from "../../src/client/sdk.js";
import { parseServerConfig } from "../../src/server/config.js";
import { startServer, type RunningServer, type ServerHooks } from "../../src/server/http.js";
import type { Hyper, JobSpec } from "../../src/wire/index.js";
import { fixture, repoRoot } from "../paths.js";

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

/** A small LoRA + d_χ job on tiny-bert; tests override the optimisation settings they depend on. */
export function tinyJobSpec(hyper: Partial<Hyper> = {}): JobSpec {
  return {
    model: "tiny-bert",
    split: 1,
    labels: ["negative", "positive"],
    peft: { name: "lora", params: {} },
    privatizer: { name: "dchi", params: { eta: 100 } },
    hyper: {
      epochs: 1,
      stepsPerEpoch: 4,
      batchSize: 2,
      lr: 1e-3,
      warmupRatio: 0,
      weightDecay: 0.01,
      clip: 1,
      seed: 1,
      maxSeqLen: 8,
      ...hyper,
    },
  };
}

/** `sap serve` as a child process (recorded in `children` so the caller can kill what is left), resolved once it listens. */
export function spawnServer(configFile: string, children: ChildProcess[]): Promise<{ child: ChildProcess; url: string }> {
  const cli = join(repoRoot, "dist", "src", "cli", "main.js");
  const child = spawn(process.execPath, [cli, "serve", "--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
}
