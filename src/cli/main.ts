#!/usr/bin/env node
// `sap`: the command line, thin over the library. Each command parses its flags, calls the
// library, and renders progress events; with --json the last stdout line is one JSON object.
import { parseArgs } from "node:util";
import { benchEngine } from "../bench/engine.js";
import { verifyModelDir } from "../models/verify.js";
import { pretrain, PRESETS } from "../train/pretrain.js";
import { terminalProgress } from "../train/progress.js";

type Handler = (argv: string[]) => Promise<void>;

function printJson(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const commands: Record<string, { summary: string; run: Handler }> = {
  model: {
    summary: "model verify DIR [--json]   compare a model directory with its golden.json (PyTorch reference)",
    run: async (argv) => {
      const { values, positionals } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: { json: { type: "boolean", default: false } },
      });
      const [sub, dir] = positionals;
      if (sub !== "verify" || !dir) throw new UsageError("usage: sap model verify DIR [--json]");
      const res = verifyModelDir(dir);
      if (values.json) {
        printJson(res);
      } else {
        for (const [k, v] of Object.entries(res.errors)) process.stdout.write(`${k.padEnd(64)} ${v.toExponential(2)}\n`);
        process.stdout.write(
          `max relative error ${res.max_rel_err.toExponential(2)} (${res.max_rel_err <= 1e-4 ? "OK" : "FAIL"}: tolerance 1e-4)\n`,
        );
      }
      if (res.max_rel_err > 1e-4) process.exitCode = 1;
    },
  },
  demo: {
    summary: "demo   verifies the four golden fixtures and benchmarks the engine briefly",
    run: async () => {
      const { join } = await import("node:path");
      const shared = process.env.SAP_SHARED_DIR ?? join(process.cwd(), "..", "shared");
      for (const name of ["tiny-bert", "tiny-roberta", "tiny-distilbert", "tiny-gpt2"]) {
        const res = verifyModelDir(join(shared, "fixtures", name));
        process.stdout.write(`${name.padEnd(16)} max relative error vs PyTorch ${res.max_rel_err.toExponential(2)}\n`);
      }
      const res = await benchEngine({ rounds: 1, iters: 2, warmup: 1, batch: 16, seq: 64, torch: false });
      process.stdout.write(
        `BERT-base layer fwd+bwd ${res.base_fwdbwd_ms} ms (${res.base_gflops} GFLOP/s), small layer ${res.small_fwdbwd_ms} ms\n`,
      );
    },
  },
  pretrain: {
    summary:
      "pretrain (--preset NAME | --config FILE | --model DIR) --data PATH... --out DIR [--steps N --batch-size B --seq-len T --lr X --resume ...]",
    run: async (argv) => {
      const { values } = parseArgs({
        args: argv,
        options: {
          preset: { type: "string" },
          config: { type: "string" },
          model: { type: "string" },
          tokenizer: { type: "string" },
          data: { type: "string", multiple: true },
          out: { type: "string" },
          "seq-len": { type: "string", default: "128" },
          "batch-size": { type: "string", default: "32" },
          steps: { type: "string", default: "1000" },
          lr: { type: "string", default: "5e-4" },
          warmup: { type: "string", default: "0.06" },
          "weight-decay": { type: "string", default: "0.01" },
          "mask-prob": { type: "string", default: "0.15" },
          clip: { type: "string", default: "1.0" },
          seed: { type: "string", default: "42" },
          "checkpoint-every": { type: "string", default: "200" },
          "eval-every": { type: "string", default: "500" },
          "heldout-blocks": { type: "string", default: "256" },
          "glove-init": { type: "string" },
          resume: { type: "boolean", default: false },
          json: { type: "boolean", default: false },
        },
      });
      if (!values.out) throw new UsageError("--out DIR is required");
      if (!values.data?.length) throw new UsageError("--data PATH is required (text files, .gz, .jsonl or folders; repeatable)");
      const sources = [values.preset, values.config, values.model].filter(Boolean).length;
      if (sources !== 1)
        throw new UsageError(`give exactly one of --preset (${Object.keys(PRESETS).join(", ")}), --config FILE or --model DIR`);
      const steps = positiveInt("--steps", values.steps);
      const warm = Number(values.warmup);
      if (!(warm >= 0))
        throw new UsageError(`--warmup must be a fraction of steps (< 1) or a step count, got "${values.warmup}"`);
      const { readFileSync } = await import("node:fs");
      const tokenizerDir = values.tokenizer ?? values.model;
      if (!tokenizerDir)
        throw new UsageError("--tokenizer DIR is required for a new model (a folder with vocab.txt or tokenizer.json)");
      const res = await pretrain({
        preset: values.preset,
        config: values.config ? (JSON.parse(readFileSync(values.config, "utf8")) as Record<string, unknown>) : undefined,
        modelDir: values.model,
        tokenizerDir,
        data: values.data,
        outDir: values.out,
        seqLen: positiveInt("--seq-len", values["seq-len"]),
        batchSize: positiveInt("--batch-size", values["batch-size"]),
        steps,
        lr: positiveNumber("--lr", values.lr),
        warmupSteps: warm < 1 ? Math.round(warm * steps) : Math.round(warm),
        weightDecay: Number(values["weight-decay"]),
        maskProb: positiveNumber("--mask-prob", values["mask-prob"]),
        clip: positiveNumber("--clip", values.clip),
        seed: nonNegativeInt("--seed", values.seed),
        checkpointEvery: positiveInt("--checkpoint-every", values["checkpoint-every"]),
        evalEvery: positiveInt("--eval-every", values["eval-every"]),
        heldoutBlocks: positiveInt("--heldout-blocks", values["heldout-blocks"]),
        gloveInit: values["glove-init"],
        resume: values.resume,
        onProgress: terminalProgress(),
      });
      const summary = {
        out: res.outDir,
        steps: res.step,
        tokens_seen: res.tokensSeen,
        train_seconds: Math.round(res.elapsedSeconds),
        ...res.final,
      };
      if (values.json) printJson(summary);
      else process.stdout.write(`pretrained ${res.outDir}: ${JSON.stringify(summary)}\n`);
    },
  },
  bench: {
    summary: "bench engine [--json] [--rounds N] [--iters N] [--no-torch]   benchmarks against PyTorch",
    run: async (argv) => {
      const { values, positionals } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          json: { type: "boolean", default: false },
          rounds: { type: "string", default: "3" },
          iters: { type: "string", default: "3" },
          warmup: { type: "string", default: "1" },
          batch: { type: "string", default: "16" },
          seq: { type: "string", default: "64" },
          "no-torch": { type: "boolean", default: false },
        },
      });
      const which = positionals[0] ?? "engine";
      if (which !== "engine") throw new UsageError(`unknown benchmark "${which}" (available: engine)`);
      const res = await benchEngine({
        rounds: positiveInt("--rounds", values.rounds),
        iters: positiveInt("--iters", values.iters),
        warmup: nonNegativeInt("--warmup", values.warmup),
        batch: positiveInt("--batch", values.batch),
        seq: positiveInt("--seq", values.seq),
        torch: !values["no-torch"],
        onProgress: (m) => process.stderr.write(`bench: ${m}\n`),
      });
      if (values.json) printJson(res);
      else for (const [k, v] of Object.entries(res)) process.stdout.write(`${k.padEnd(28)} ${String(v)}\n`);
    },
  },
};

class UsageError extends Error {}

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${v}"`);
  return n;
}

function positiveNumber(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got "${v}"`);
  return n;
}

function nonNegativeInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got "${v}"`);
  return n;
}

function usage(): string {
  return [
    "usage: sap <command> [options]",
    "",
    ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`),
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(usage() + "\n");
    return cmd ? 0 : 2;
  }
  const c = commands[cmd];
  if (!c) {
    process.stderr.write(`sap: unknown command "${cmd}"\n${usage()}\n`);
    return 2;
  }
  try {
    await c.run(rest);
    return 0;
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`sap ${cmd}: ${err.message}\n`);
    if (process.env.SAP_DEBUG) process.stderr.write(`${err.stack}\n`);
    return e instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
