#!/usr/bin/env node
// `sap`: the command line, thin over the library. Each command parses its flags, calls the
// library, and renders progress events; with --json the last stdout line is one JSON object.
import { parseArgs } from "node:util";
import { benchEngine } from "../bench/engine.js";
import { verifyModelDir } from "../models/verify.js";

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
