// `sap bench engine` (a BERT layer forward + backward against PyTorch, alternated in one run),
// `sap bench finetune` (split fine-tuning against Hugging Face transformers + PEFT, alternated) and
// `sap bench service` (concurrent customers through a real `sap serve` against in-process runs).
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { loadTask } from "../../data/index.js";
import { UsageError, type Command } from "../options.js";
import { note, printJson, printLine } from "../render.js";

const FINETUNE_PRECISIONS = ["fp32", "bf16"] as const;

export const command: Command = {
  name: "bench",
  summary:
    "benchmarks: the engine against PyTorch side by side, fine-tuning against Hugging Face transformers + PEFT, or the service against in-process runs",
  usage: [
    "sap bench engine [--json] [--rounds N] [--iters N] [--no-torch]",
    "sap bench finetune [--model DIR] [--rounds N] [--steps N] [--precisions fp32,bf16] [--threads N] [--json]",
    "sap bench service --model DIR [--customers 8] [--json]",
  ],
  options: () => [
    { name: "json", type: "boolean", help: "print the result as one JSON object" },
    {
      name: "append",
      type: "string",
      placeholder: "FILE",
      help: "also append the result as one JSON line to FILE (e.g. experiments/bench-finetune.jsonl)",
    },
    { name: "rounds", type: "int", min: 1, max: 1000, default: 3, help: "engine, finetune: alternated rounds", group: "engine" },
    { name: "iters", type: "int", min: 1, default: 3, help: "engine: iterations per round", group: "engine" },
    {
      name: "warmup",
      type: "int",
      min: 0,
      max: 1000,
      help: "warm-up iterations (engine 1) or steps per round (finetune 2)",
      group: "engine",
    },
    { name: "batch", type: "int", min: 1, max: 4096, help: "batch size (engine 16, finetune 32, service 32)", group: "engine" },
    {
      name: "seq",
      type: "int",
      min: 1,
      max: 4096,
      help: "sequence length (engine 64, finetune 64, service 32)",
      group: "engine",
    },
    { name: "no-torch", type: "boolean", help: "engine, finetune: skip the PyTorch side", group: "engine" },
    { name: "steps", type: "int", min: 1, max: 100000, default: 10, help: "finetune: timed steps per round", group: "finetune" },
    {
      name: "precisions",
      type: "list",
      placeholder: "A,B",
      default: [...FINETUNE_PRECISIONS],
      help: "finetune: the precisions to run, each on both sides (fp32, bf16)",
      group: "finetune",
    },
    {
      name: "threads",
      type: "int",
      min: 1,
      max: 256,
      default: 2,
      help: "finetune: threads of each side (SAP_THREADS / torch.set_num_threads)",
      group: "finetune",
    },
    { name: "split", type: "int", min: 0, default: 2, help: "finetune: cut after layer k", group: "finetune" },
    { name: "rank", type: "int", min: 1, max: 1024, default: 8, help: "finetune: LoRA rank", group: "finetune" },
    {
      name: "eta",
      type: "number",
      min: 0,
      minExclusive: true,
      default: 100,
      help: "finetune: the d_χ budget η at the cut",
      group: "finetune",
    },
    {
      name: "python",
      type: "string",
      placeholder: "PY",
      help: "finetune: the Python with torch, transformers and peft (default: the first that has them)",
      group: "finetune",
    },
    {
      name: "model",
      type: "string",
      placeholder: "DIR",
      help: "finetune: the model (default models/sap-bert-mini); service: a small model (sap-bert-tiny)",
      group: "service",
    },
    { name: "task", type: "string", default: "sst2", help: "service: the task", group: "service" },
    { name: "data-dir", type: "string", placeholder: "DIR", help: "finetune, service: the shared data folder", group: "service" },
    // 2,048 sentences = 64 steps per customer, so per-job set-up is not all it measures.
    { name: "max-train", type: "int", min: 1, default: 2048, help: "service: training sentences per customer", group: "service" },
    { name: "customers", type: "int", min: 1, max: 64, default: 8, help: "service: concurrent customers", group: "service" },
    { name: "server-threads", type: "int", min: 1, help: "service: the server's threads", group: "service" },
    { name: "client-threads", type: "int", min: 1, help: "service: the customers' threads", group: "service" },
  ],
  examples: [
    "npm run bench -- engine",
    "sap bench finetune --rounds 5 --steps 10 --append experiments/bench-finetune.jsonl",
    "sap bench service --model models/sap-bert-tiny --customers 8 --json",
  ],
  async run(args) {
    const v = args.values;
    const [which = "engine", extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
    const progress = (m: string): void => note(`bench: ${m}`);
    // --append: results accumulate as JSON lines (experiments/*.jsonl), one run per line.
    // Its folder is made before the work, so that a bad path fails before, not after, a long run.
    if (v.append) mkdirSync(dirname(v.append as string), { recursive: true });
    const finish = (res: object, table: () => void): void => {
      if (v.append) appendFileSync(v.append as string, JSON.stringify(res) + "\n");
      if (v.json) printJson(res);
      else table();
    };
    let res: Record<string, unknown>;
    if (which === "finetune") {
      const precisions = v.precisions as string[];
      const bad = precisions.filter((p) => !(FINETUNE_PRECISIONS as readonly string[]).includes(p));
      if (bad.length || !precisions.length)
        throw new UsageError(
          `--precisions takes a list of ${FINETUNE_PRECISIONS.join(", ")}; got ${JSON.stringify(precisions.join(","))}`,
        );
      const { benchFinetune, defaultBenchModel, finetuneTable } = await import("../../bench/finetune.js");
      const r = await benchFinetune({
        modelDir: (v.model as string | undefined) ?? defaultBenchModel(),
        dataDir: v["data-dir"] as string | undefined,
        split: v.split as number,
        rank: v.rank as number,
        eta: v.eta as number,
        batch: (v.batch as number | undefined) ?? 32,
        seq: (v.seq as number | undefined) ?? 64,
        rounds: v.rounds as number,
        steps: v.steps as number,
        warmup: (v.warmup as number | undefined) ?? 2,
        precisions: [...new Set(precisions)] as ("fp32" | "bf16")[],
        threads: v.threads as number,
        batches: 8,
        hf: v["no-torch"] !== true,
        python: v.python as string | undefined,
        onProgress: progress,
      });
      finish(r, () => finetuneTable(r).forEach((l) => printLine(l)));
      return;
    }
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
        warmup: (v.warmup as number | undefined) ?? 1,
        batch: (v.batch as number | undefined) ?? 16,
        seq: (v.seq as number | undefined) ?? 64,
        torch: v["no-torch"] !== true,
        onProgress: progress,
      })) as unknown as Record<string, unknown>;
    } else throw new UsageError(`unknown benchmark ${JSON.stringify(which)} (available: engine, finetune, service)`);
    finish(res, () => {
      for (const [k, x] of Object.entries(res)) printLine(`${k.padEnd(30)} ${String(x)}`);
    });
  },
};
