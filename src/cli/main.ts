#!/usr/bin/env node
// `sap`: the command line, thin over the library. One file per command under commands/; this
// file only dispatches. Results go to stdout (with --json, one JSON object), everything else to
// stderr. Exit codes: 0 success, 1 runtime error, 2 usage error (bad command, option or value).
import { readFileSync } from "node:fs";
import { ParamError } from "../params/index.js";
import { applyPrecision } from "./flags.js";
import { commandHelp, parseCommandArgs, UsageError, type Command } from "./options.js";
import { errorLine } from "./render.js";
import { command as bench } from "./commands/bench.js";
import { command as client } from "./commands/client.js";
import { command as demo } from "./commands/demo.js";
import { command as evalCommand } from "./commands/eval.js";
import { command as finetune } from "./commands/finetune.js";
import { command as keys } from "./commands/keys.js";
import { command as model } from "./commands/model.js";
import { command as predict } from "./commands/predict.js";
import { command as pretrain } from "./commands/pretrain.js";
import { command as serve } from "./commands/serve.js";

export const COMMANDS: Command[] = [demo, finetune, predict, evalCommand, pretrain, model, serve, keys, client, bench];

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export function usage(): string {
  return [
    "usage: sap <command> [options]        sap <command> --help for its options",
    "",
    "Split-and-Privatize fine-tuning: the customer runs the bottom and privatizes, the vendor tunes the top.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    "",
    "Options: --help, --version",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const c = COMMANDS.find((x) => x.name === rest[0]);
    process.stdout.write(c ? commandHelp(c) : usage() + "\n");
    return 0;
  }
  if (!name) {
    process.stderr.write(usage() + "\n");
    return 2;
  }
  const c = COMMANDS.find((x) => x.name === name);
  if (!c) {
    process.stderr.write(`sap: unknown command ${JSON.stringify(name)}\n${usage()}\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(commandHelp(c));
    return 0;
  }
  try {
    const args = parseCommandArgs(c.name, c.options(), rest);
    applyPrecision(args);
    await c.run(args);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    const err = e as Error;
    const isUsage = e instanceof UsageError || e instanceof ParamError;
    process.stderr.write(errorLine(c.name, err.message));
    if (isUsage) process.stderr.write(`(see sap ${c.name} --help)\n`);
    if (process.env.SAP_DEBUG) process.stderr.write(`${err.stack}\n`);
    return isUsage ? 2 : 1;
  }
}

// Run when executed (not when a test imports COMMANDS or main).
if (process.argv[1] && new URL(import.meta.url).pathname === (await import("node:fs")).realpathSync(process.argv[1]))
  process.exitCode = await main(process.argv.slice(2));
