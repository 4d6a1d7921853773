// `sap bench engine` (a BERT layer forward + backward against PyTorch, alternated in one run) and
// `sap bench service` (concurrent customers through a real `sap serve` against in-process runs).
import { loadTask } from "../../data/index.js";
import { UsageError, type Command } from "../options.js";
import { note, printJson, printLine } from "../render.js";

export const command: Command = {
  name: "bench",
  summary: "benchmarks: the engine against PyTorch side by side, or the service against in-process runs",
  usage: [
    "sap bench engine [--json] [--rounds N] [--iters N] [--no-torch]",
    "sap bench service --model DIR [--customers 8] [--json]",
  ],
  options: () => [
    { name: "json", type: "boolean", help: "print the result as one JSON object" },
    { name: "rounds", type: "int", min: 1, default: 3, help: "engine: alternated rounds", group: "engine" },
    { name: "iters", type: "int", min: 1, default: 3, help: "engine: iterations per round", group: "engine" },
    { name: "warmup", type: "int", min: 0, default: 1, help: "engine: warm-up iterations", group: "engine" },
    { name: "batch", type: "int", min: 1, help: "batch size (engine 16, service 32)", group: "engine" },
    { name: "seq", type: "int", min: 1, help: "sequence length (engine 64, service 32)", group: "engine" },
    { name: "no-torch", type: "boolean", help: "engine: skip the PyTorch side", group: "engine" },
    { name: "model", type: "string", placeholder: "DIR", help: "service: a small model (sap-bert-tiny)", group: "service" },
    { name: "task", type: "string", default: "sst2", help: "service: the task", group: "service" },
    { name: "data-dir", type: "string", placeholder: "DIR", help: "service: the shared data folder", group: "service" },
    // 2,048 sentences = 64 steps per customer, so per-job set-up is not all it measures.
    { name: "max-train", type: "int", min: 1, default: 2048, help: "service: training sentences per customer", group: "service" },
    { name: "customers", type: "int", min: 1, max: 64, default: 8, help: "service: concurrent customers", group: "service" },
    { name: "server-threads", type: "int", min: 1, help: "service: the server's threads", group: "service" },
    { name: "client-threads", type: "int", min: 1, help: "service: the customers' threads", group: "service" },
  ],
  examples: ["npm run bench -- engine", "sap bench service --model models/sap-bert-tiny --customers 8 --json"],
  async run(args) {
    const v = args.values;
    const [which = "engine", extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
    const progress = (m: string): void => note(`bench: ${m}`);
    let res: Record<string, unknown>;
    if (which === "service") {
      if (!v.model) throw new UsageError("bench service needs --model DIR (a small model, e.g. a tiny BERT)");
      const { benchService } = await import("../../bench/service.js");
      res = await benchService({
        modelDir: v.model as string,
        dataset: loadTask(v.task as string, {
          dataDir: v["data-dir"] as string | undefined,
          maxTrain: v["max-train"] as number,
          maxEval: 64,
          seed: 1,
        }),
        customers: v.customers as number,
        serverThreads: v["server-threads"] as number | undefined,
        clientThreads: v["client-threads"] as number | undefined,
        batchSize: (v.batch as number | undefined) ?? 32,
        maxSeqLen: (v.seq as number | undefined) ?? 32,
        onProgress: progress,
      });
    } else if (which === "engine") {
      const { benchEngine } = await import("../../bench/engine.js");
      res = (await benchEngine({
        rounds: v.rounds as number,
        iters: v.iters as number,
        warmup: v.warmup as number,
        batch: (v.batch as number | undefined) ?? 16,
        seq: (v.seq as number | undefined) ?? 64,
        torch: v["no-torch"] !== true,
        onProgress: progress,
      })) as unknown as Record<string, unknown>;
    } else throw new UsageError(`unknown benchmark ${JSON.stringify(which)} (available: engine, service)`);
    if (v.json) printJson(res);
    else for (const [k, x] of Object.entries(res)) printLine(`${k.padEnd(30)} ${String(x)}`);
  },
};
