// `sap bench service`: N concurrent customers on loopback fine-tune a tiny model through a real
// `sap serve` child process; reports steps/s, step latency percentiles, bytes per step, and the
// overhead against the same steps run in one process.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { clientFinetune } from "../client/finetune.js";
import { SapClient } from "../client/sdk.js";
import type { Dataset } from "../data/index.js";
import { Store } from "../server/store.js";
import { engineInfo, setThreads } from "../tensor/index.js";
import { finetune } from "../train/finetune.js";

export interface ServiceBenchOptions {
  modelDir: string;
  dataset: Dataset;
  customers: number;
  batchSize: number;
  maxSeqLen: number;
  /**
   * Threads for the server process and for the customers' process during the networked phase.
   * Both share this machine, so by default they split its cores; the in-process baseline keeps
   * the process's own setting (all cores unless SAP_THREADS says otherwise).
   */
  serverThreads?: number;
  clientThreads?: number;
  onProgress?: (msg: string) => void;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
}

export async function benchService(opts: ServiceBenchOptions): Promise<Record<string, number | string>> {
  const say = opts.onProgress ?? (() => {});
  const work = mkdtempSync(join(tmpdir(), "sap-bench-service-"));
  const common = {
    split: 1,
    privatizer: { name: "dchi", params: { eta: 100 } },
    peft: { name: "lora", params: {} },
    epochs: 1,
    batchSize: opts.batchSize,
    lr: 1e-3,
    warmupRatio: 0.1,
    weightDecay: 0.01,
    clip: 1,
    maxSeqLen: opts.maxSeqLen,
    seed: 1,
    noiseSeed: 1,
  };
  const dataset = { ...opts.dataset, dev: opts.dataset.dev.slice(0, opts.batchSize) };
  try {
    say(`in-process baseline: ${opts.customers} runs one after another`);
    let localSeconds = 0;
    for (let i = 0; i < opts.customers; i++) {
      const t0 = performance.now();
      await finetune({
        ...common,
        modelDir: opts.modelDir,
        dataset,
        outDir: join(work, `local-${i}`),
        resume: false,
        checkpointEvery: 1_000_000,
      });
      localSeconds += (performance.now() - t0) / 1000;
    }
    const dataDir = join(work, "server");
    mkdirSync(dataDir, { recursive: true });
    const keyStore = new Store(join(dataDir, "sap.db"));
    const { key } = keyStore.createKey("bench");
    keyStore.close();
    const configFile = join(work, "server.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        host: "127.0.0.1",
        port: 0,
        dataDir,
        models: { bench: { path: resolve(opts.modelDir), splits: [1] } },
        limits: { maxActiveJobsPerTenant: opts.customers },
        log: false,
      }),
    );
    const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "cli", "main.js");
    const cores = engineInfo().threads;
    const serverThreads = opts.serverThreads ?? Math.max(1, Math.ceil(cores / 2));
    const clientThreads = opts.clientThreads ?? Math.max(1, Math.floor(cores / 2));
    const child = spawn(process.execPath, [...process.execArgv, cli, "serve", "--config", configFile], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, SAP_THREADS: String(serverThreads) },
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once("exit", (code) => reject(new Error(`server exited with ${code} before listening`)));
    });
    try {
      say(`${opts.customers} concurrent customers against ${url} (threads: server ${serverThreads}, customers ${clientThreads})`);
      setThreads(clientThreads);
      const t0 = performance.now();
      const runs = await Promise.all(
        Array.from({ length: opts.customers }, async (_, i) => {
          const client = new SapClient({ server: url, key });
          try {
            return await clientFinetune({ ...common, client, model: "bench", dataset, cacheDir: join(work, `cache-${i}`) });
          } finally {
            client.close();
          }
        }),
      );
      const wall = (performance.now() - t0) / 1000;
      const lat = runs.flatMap((r) => r.stepLatencyMs);
      const steps = runs.reduce((s, r) => s + r.steps, 0);
      return {
        customers: opts.customers,
        steps,
        service_seconds: Number(wall.toFixed(2)),
        service_steps_per_second: Number((steps / wall).toFixed(2)),
        step_latency_p50_ms: Number(percentile(lat, 50).toFixed(1)),
        step_latency_p99_ms: Number(percentile(lat, 99).toFixed(1)),
        bytes_per_step: Math.round(runs.reduce((s, r) => s + r.bytesPerStep, 0) / runs.length),
        in_process_seconds: Number(localSeconds.toFixed(2)),
        in_process_threads: cores,
        server_threads: serverThreads,
        client_threads: clientThreads,
        in_process_steps_per_second: Number((steps / localSeconds).toFixed(2)),
        overhead_vs_in_process: `${((100 * (wall - localSeconds)) / localSeconds).toFixed(1)}%`,
        note: "the service includes bottom download, job creation, one checkpoint per step and a dev pass per customer; client and server share this machine",
      };
    } finally {
      setThreads(cores);
      child.kill("SIGTERM");
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
