// The CLI's own argument parser and help generator. Every command declares its options (the
// same declaration type the registries use), so `--help`, parsing and validation come from one
// place; bad input is a UsageError (exit 2) with our message, never Node's.
import { ParamError, checkValue, rangeText, type ParamDecl } from "../params/index.js";
import { RunMismatchError } from "../train/run-settings.js";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface OptionDecl extends Omit<ParamDecl, "budget" | "sweep" | "flag" | "required"> {
  /** Shown in help in place of the value: DIR, FILE, N... */
  placeholder?: string;
  /** May be given several times (values collected in order). */
  multiple?: boolean;
  /** Heading the option is listed under in --help. */
  group?: string;
}

export type OptionValue = string | number | boolean | string[] | number[];

export interface ParsedArgs {
  /** Typed values by option name; defaults filled in; absent options without defaults are undefined. */
  values: Record<string, OptionValue | undefined>;
  /** Options the user actually gave (so a default can be told from an explicit value). */
  given: Set<string>;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** `sap NAME ...` synopsis lines. */
  usage: string[];
  /** Computed when needed: options generated from the registries see every registered entry. */
  options: () => OptionDecl[];
  examples: string[];
  /** Extra help text (file formats, subcommands). */
  details?: () => string;
  run(args: ParsedArgs): Promise<void>;
}

/** Parses argv against declarations. `--name value`, `--name=value`, booleans bare; `--` ends options. */
export function parseCommandArgs(command: string, decls: OptionDecl[], argv: string[]): ParsedArgs {
  const byName = new Map(decls.map((d) => [d.name, d]));
  const raw = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--") || a === "--") {
      if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a))
        throw new UsageError(`unknown option ${a} for sap ${command} (options start with --)`);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const d = byName.get(name);
    if (!d) throw new UsageError(`unknown option --${name} for sap ${command}`);
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (d.type === "boolean") value = "true";
    else {
      // The next word is the value even when it starts with a dash (--eta -1): the check below names the problem.
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value (${d.placeholder ?? rangeText(d)})`);
      value = argv[++i]!;
    }
    if (!d.multiple && raw.has(name)) throw new UsageError(`--${name} is given twice`);
    raw.set(name, [...(raw.get(name) ?? []), value]);
  }
  const values: ParsedArgs["values"] = {};
  for (const d of decls) {
    const given = raw.get(d.name);
    if (!given) {
      values[d.name] = d.default as OptionValue | undefined;
      continue;
    }
    const conv = given.map((v) => optionValue(d, v));
    values[d.name] = d.multiple ? (conv.flat() as OptionValue) : conv[0];
  }
  return { values, given: new Set(raw.keys()), positionals };
}

function optionValue(d: OptionDecl, v: string): OptionValue {
  if (d.type === "string" && !d.choices) return v;
  try {
    return checkValue(`--${d.name}`, d, v) as OptionValue;
  } catch (e) {
    if (e instanceof ParamError) throw new UsageError(e.message);
    throw e;
  }
}

/** The command's --help: synopsis, summary, options by group with defaults and ranges, examples. */
export function commandHelp(c: Command): string {
  const opts = [...c.options(), { name: "help", type: "boolean", help: "show this help" } as OptionDecl];
  const groups = new Map<string, OptionDecl[]>();
  for (const o of opts) groups.set(o.group ?? "Options", [...(groups.get(o.group ?? "Options") ?? []), o]);
  const lines = [`usage: ${c.usage.join("\n       ")}`, "", c.summary];
  for (const [g, os] of groups) {
    lines.push("", `${g}:`);
    for (const o of os) {
      const left = `  --${o.name}${o.type === "boolean" ? "" : ` ${o.placeholder ?? placeholderOf(o)}`}`;
      const facts = [
        o.default !== undefined && o.type !== "boolean" ? `default ${String(o.default)}` : "",
        o.choices ? `one of ${o.choices.join(", ")}` : "",
        o.multiple ? "repeatable" : "",
      ].filter(Boolean);
      lines.push(`${left.padEnd(30)} ${o.help}${facts.length ? ` (${facts.join("; ")})` : ""}`);
    }
  }
  if (c.details) lines.push("", c.details().trimEnd());
  if (c.examples.length) lines.push("", "Examples:", ...c.examples.map((e) => `  ${e}`));
  return lines.join("\n") + "\n";
}

function placeholderOf(o: OptionDecl): string {
  return o.type === "int" ? "N" : o.type === "number" ? "X" : o.type === "list" ? "A,B" : "VALUE";
}

/** A required option's value, or a usage error naming it. */
export function required<T extends OptionValue>(args: ParsedArgs, name: string, what: string): T {
  const v = args.values[name];
  if (v === undefined || v === "") throw new UsageError(`--${name} ${what} is required`);
  return v as T;
}

/** Runs f, turning a registry's ParamError (bad input from the command line) into a UsageError. */
export function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ParamError) throw new UsageError(e.message);
    throw e;
  }
}

/** A run or sweep refused because --out holds other outputs is a usage error (exit 2): the flags decide. */
export async function asMismatchUsage<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof RunMismatchError) throw new UsageError(e.message);
    throw e;
  }
}

/** An option naming registry entries (`--privatizer NAME`, `--attacks A,B`): its help lists what is registered. */
export function namesOption(
  name: string,
  what: string,
  names: string[],
  opts: { default?: string | string[]; group: string; list?: boolean },
): OptionDecl {
  const list = opts.list === true;
  return {
    name,
    type: list ? "list" : "string",
    placeholder: list ? "A,B" : "NAME",
    help: `${what}: ${names.join(", ")}`,
    ...(opts.default !== undefined ? { default: opts.default } : {}),
    group: opts.group,
  };
}

/** The same options with one help heading (saves repeating `group` on every declaration). */
export function inGroup(group: string, decls: Omit<OptionDecl, "group">[]): OptionDecl[] {
  return decls.map((d) => ({ ...d, group }));
}
