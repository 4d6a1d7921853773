// Declared parameters: each privacy mechanism, PEFT method and attack says once what it takes
// (name, type, default, range, help, which one is the privacy budget). The registries check
// params against these declarations, and the CLI, the sweep, the server's job validation and
// the help text are all generated from them; nothing restates a parameter elsewhere.

export type ParamValue = number | string | boolean | string[];
export type ParamRecord = Record<string, ParamValue>;

export interface ParamDecl {
  /** Key in the params record (and in saved configs). */
  name: string;
  type: "number" | "int" | "string" | "boolean" | "list";
  help: string;
  default?: ParamValue;
  /** Inclusive bounds, unless the matching exclusive flag is set. */
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  choices?: readonly string[];
  /** The privacy budget of a mechanism: the one parameter a privacy sweep varies. */
  budget?: boolean;
  /** Values a sweep uses for the budget when none are given. */
  sweep?: readonly number[];
  /** CLI flag without the dashes, where it differs from `name` (dchi's clip is --noise-clip). */
  flag?: string;
  /** Must be given (no default). */
  required?: boolean;
}

/** Something registered by name with declared parameters. */
export interface Declared {
  readonly name: string;
  readonly summary: string;
  readonly params: readonly ParamDecl[];
}

export class ParamError extends Error {
  override readonly name = "ParamError";
}

export function flagOf(d: ParamDecl): string {
  return d.flag ?? d.name;
}

/** The allowed range in words: "> 0", "in [0, 1)", "an integer >= 1". */
export function rangeText(d: Omit<ParamDecl, "name" | "help">): string {
  const kind = d.type === "int" ? "an integer" : d.type === "number" ? "a number" : d.type === "list" ? "a list" : `a ${d.type}`;
  if (d.choices) return `one of ${d.choices.join(", ")}`;
  const lo = d.min !== undefined ? `${d.minExclusive ? ">" : ">="} ${d.min}` : "";
  const hi = d.max !== undefined ? `${d.maxExclusive ? "<" : "<="} ${d.max}` : "";
  if (lo && hi) return `${kind} in ${d.minExclusive ? "(" : "["}${d.min}, ${d.max}${d.maxExclusive ? ")" : "]"}`;
  return [kind, lo || hi].filter(Boolean).join(" ");
}

/** One value, from JSON or from a command-line string, checked against its declaration. */
export function checkParam(owner: string, d: ParamDecl, raw: unknown): ParamValue {
  return checkValue(`${owner}: ${d.name}`, d, raw);
}

/** As checkParam, with the error naming the value as `label` ("--eta must be a number > 0, got -1"). */
export function checkValue(label: string, d: Omit<ParamDecl, "name">, raw: unknown): ParamValue {
  const bad = (): never => {
    throw new ParamError(`${label} must be ${rangeText(d)}, got ${typeof raw === "string" ? shortText(raw) : shortJson(raw)}`);
  };
  switch (d.type) {
    case "number":
    case "int": {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : Number.NaN;
      if (!Number.isFinite(n) || (d.type === "int" && !Number.isInteger(n))) bad();
      if (d.min !== undefined && (d.minExclusive ? n <= d.min : n < d.min)) bad();
      if (d.max !== undefined && (d.maxExclusive ? n >= d.max : n > d.max)) bad();
      return n;
    }
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "false") return raw === "true";
      return bad();
    case "string":
      if (typeof raw !== "string" || raw.length > 4096) bad();
      if (d.choices && !d.choices.includes(raw as string)) bad();
      return raw as string;
    case "list": {
      const list = typeof raw === "string" ? raw.split(",").map((s) => s.trim()) : raw;
      if (!Array.isArray(list) || list.length > 64 || list.some((x) => typeof x !== "string" || !x || x.length > 256)) bad();
      return list as string[];
    }
  }
}

/**
 * Params checked against declarations: unknown names refused, values typed and in range,
 * defaults filled in, required ones present. Strings (from a command line) are converted.
 */
export function parseParams(owner: string, decls: readonly ParamDecl[], raw: Record<string, unknown> = {}): ParamRecord {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new ParamError(`${owner}: params must be an object`);
  const byName = new Map(decls.map((d) => [d.name, d]));
  const out: ParamRecord = {};
  for (const [k, v] of Object.entries(raw)) {
    const d = byName.get(k);
    if (!d)
      throw new ParamError(
        `${owner}: unknown parameter ${shortJson(k)} (${decls.length ? `parameters: ${decls.map((x) => x.name).join(", ")}` : "it takes none"})`,
      );
    if (v === undefined) continue;
    out[k] = checkParam(owner, d, v);
  }
  for (const d of decls) {
    if (out[d.name] !== undefined) continue;
    if (d.default !== undefined) out[d.name] = d.default;
    else if (d.required) throw new ParamError(`${owner}: parameter ${d.name} is required (${d.help})`);
  }
  return out;
}

/** The declaration of an entry's privacy budget, if it has one. */
export function budgetOf(entry: Declared): ParamDecl | undefined {
  return entry.params.find((p) => p.budget);
}

/** Help lines for an entry's parameters: `--flag  help (default, range)`. */
export function describeParams(entry: Declared): string[] {
  return entry.params.map((d) => {
    const extra = [d.default !== undefined ? `default ${String(d.default)}` : d.required ? "required" : "optional", rangeText(d)];
    return `--${flagOf(d)}  ${d.help}${d.budget ? " [privacy budget]" : ""} (${extra.join("; ")})`;
  });
}

/** JSON of a value, cut short: error messages never echo more than a few dozen characters. */
export function shortJson(v: unknown, max = 60): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

/** A user-given string cut short for an error message. */
export function shortText(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

/** A mechanism's privacy budget: a positive number, required, varied by sweeps over `sweep`. */
export function positiveBudget(name: string, help: string, sweep: readonly number[], flag?: string): ParamDecl {
  return {
    name,
    type: "number",
    min: 0,
    minExclusive: true,
    required: true,
    budget: true,
    sweep,
    help,
    ...(flag ? { flag } : {}),
  };
}
