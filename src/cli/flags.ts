// Option groups several commands share, and their conversion into library specs. Mechanism and
// method flags are generated from the privacy and PEFT registries: a newly registered mechanism
// gets its flags and its help here without an edit.
import { loadTask, loadUserDataset, taskNames, type Dataset } from "../data/index.js";
import { flagOf, type Declared, type ParamDecl, type ParamRecord } from "../params/index.js";
import { checkPeftParams, getPeft, listPeft } from "../peft/index.js";
import { checkMechanismParams, listPrivatizers, mechanismEntry } from "../privacy/index.js";
import { TRAINING_DEFAULTS, type TrainingSpec } from "../split/spec.js";
import { PRECISIONS, setPrecision, type Precision } from "../tensor/index.js";
import type { MechanismSpec } from "../wire/index.js";
import { UsageError, asUsage, inGroup, namesOption, type OptionDecl, type ParsedArgs } from "./options.js";

export const DATA_OPTIONS: OptionDecl[] = inGroup("Data", [
  { name: "task", type: "string", placeholder: "NAME", help: `a built-in task (${taskNames.join(", ")})` },
  {
    name: "data-dir",
    type: "string",
    placeholder: "DIR",
    help: "where the shared data sets are (default $SAP_SHARED_DIR/data, else shared/data next to the sap package)",
  },
  {
    name: "train",
    type: "string",
    placeholder: "FILE",
    help: "your training data (CSV, TSV or JSONL) instead of --task",
  },
  {
    name: "dev",
    type: "string",
    placeholder: "FILE",
    help: "your dev data (default: a held-out part of --train)",
  },
  {
    name: "format",
    type: "string",
    choices: ["csv", "tsv", "jsonl"],
    help: "format of --train/--dev (default: from the extension)",
  },
  { name: "text-column", type: "string", placeholder: "NAME", help: "column holding the text" },
  { name: "text-pair-column", type: "string", placeholder: "NAME", help: "column of the pair's second text" },
  { name: "label-column", type: "string", placeholder: "NAME", help: "column holding the label" },
  {
    name: "labels",
    type: "list",
    placeholder: "A,B,...",
    help: "label names in class order; the label column holds these names or numbers (positions, see --label-base)",
  },
  {
    name: "label-base",
    type: "int",
    min: 0,
    max: 1,
    help: "numbers in the label column count --labels from 0 or from 1 (AG News: 1); without it numbers must include 0",
  },
  { name: "max-train", type: "int", min: 1, help: "use at most N training examples" },
  { name: "max-eval", type: "int", min: 1, help: "use at most N dev examples" },
]);

/** One option per distinct flag of the entries' declarations; a flag shared by several entries lists them all. */
function registryOptions(entries: Declared[], group: string, also: string): OptionDecl[] {
  const byFlag = new Map<string, { decl: ParamDecl; owners: string[] }>();
  for (const e of entries)
    for (const p of e.params) {
      const f = flagOf(p);
      const have = byFlag.get(f);
      if (have && have.decl.type !== p.type)
        throw new Error(`--${f} is declared as ${have.decl.type} by ${have.owners.join(", ")} and as ${p.type} by ${e.name}`);
      if (have) have.owners.push(e.name);
      else byFlag.set(f, { decl: p, owners: [e.name] });
    }
  return [...byFlag].map(([flag, { decl, owners }]) => ({
    name: flag,
    // Typed and range-checked by the registry once the entry is known; strings here.
    type: "string",
    placeholder: decl.type === "list" ? "A,B" : decl.type === "string" ? "VALUE" : decl.type === "int" ? "N" : "X",
    help: `${decl.help} [${also} ${owners.join(", ")}${decl.default !== undefined ? `; default ${String(decl.default)}` : ""}]`,
    group,
  }));
}

/** `--NAME` choosing one registry entry, then one option per flag its entries declare. */
function registryGroup(
  option: string,
  what: string,
  entries: Declared[],
  dflt: string,
  group: string,
  also: string,
): OptionDecl[] {
  const names = entries.map((e) => e.name);
  return [namesOption(option, what, names, { default: dflt, group }), ...registryOptions(entries, group, also)];
}

export function mechanismOptions(): OptionDecl[] {
  const noiseSeedHelp = "a seeded noise stream for reproducible experiments (default: CSPRNG noise)";
  return [
    ...registryGroup(
      "privatizer",
      "the customer's mechanism",
      listPrivatizers(),
      TRAINING_DEFAULTS.privatizer,
      "Privacy",
      "privatizer",
    ),
    { name: "noise-seed", type: "int", min: 0, help: noiseSeedHelp, group: "Privacy" },
    { name: "seeded-noise", type: "boolean", help: "seed the noise from --seed (experiments only)", group: "Privacy" },
    {
      name: "fresh-noise",
      type: "boolean",
      help: "privatize every example afresh each epoch (releases compose); default: privatize once and re-send that release",
      group: "Privacy",
    },
  ];
}

export function peftOptions(): OptionDecl[] {
  return registryGroup("peft", "the vendor's PEFT method", listPeft(), TRAINING_DEFAULTS.peft, "PEFT", "method");
}

/** The params of the selected entry from its flags; a flag it does not declare is a usage error. */
function paramsFromFlags(
  args: ParsedArgs,
  entry: Declared,
  all: Declared[],
  kind: string,
  check: (name: string, raw: Record<string, unknown>) => ParamRecord,
): ParamRecord {
  const mine = new Map(entry.params.map((p) => [flagOf(p), p]));
  const raw: Record<string, unknown> = {};
  for (const other of all)
    for (const p of other.params) {
      const f = flagOf(p);
      if (!args.given.has(f)) continue;
      const d = mine.get(f);
      if (!d) {
        const owners = all.filter((e) => e.params.some((q) => flagOf(q) === f)).map((e) => e.name);
        throw new UsageError(`--${f} is a parameter of ${kind} ${owners.join(", ")}, not of --${kind} ${entry.name}`);
      }
      raw[d.name] = args.values[f];
    }
  return asUsage(() => check(entry.name, raw));
}

export function mechanismFrom(args: ParsedArgs): MechanismSpec {
  const name = args.values.privatizer as string;
  const entry = asUsage(() => mechanismEntry(name));
  return {
    name,
    params: paramsFromFlags(args, entry, listPrivatizers(), "privatizer", checkMechanismParams) as MechanismSpec["params"],
  };
}

export function peftFrom(args: ParsedArgs): TrainingSpec["peft"] {
  const name = args.values.peft as string;
  const entry = asUsage(() => getPeft(name));
  return { name, params: paramsFromFlags(args, entry, listPeft(), "peft", checkPeftParams) };
}

/** The engine's GEMM precision, for every command that trains or infers (main.ts applies it). */
export const PRECISION_OPTION: OptionDecl = {
  name: "precision",
  type: "string",
  choices: [...PRECISIONS],
  default: "fp32",
  help: "matrix products in fp32, or bf16 with fp32 accumulation (oneDNN + AVX512_BF16; auto: bf16 where available)",
  group: "Engine",
};

/** Sets the process-wide precision from --precision, when the command has the option. */
export function applyPrecision(args: ParsedArgs): void {
  const p = args.values.precision;
  if (p !== undefined) asUsage(() => setPrecision(p as Precision));
}

export function trainingOptions(): OptionDecl[] {
  const d = TRAINING_DEFAULTS;
  const g = "Training";
  return [
    { name: "split", type: "int", min: 0, default: d.split, help: "cut after layer k (k = 0: after the embeddings)", group: g },
    { name: "epochs", type: "int", min: 1, default: d.epochs, help: "training epochs", group: g },
    { name: "batch-size", type: "int", min: 1, max: 4096, default: d.batchSize, help: "examples per step", group: g },
    {
      name: "lr",
      type: "number",
      min: 0,
      minExclusive: true,
      max: 1,
      maxExclusive: true,
      default: d.lr,
      help: "peak learning rate",
      group: g,
    },
    {
      name: "warmup",
      type: "number",
      min: 0,
      max: 1,
      maxExclusive: true,
      default: d.warmupRatio,
      help: "warm-up, as a fraction of the steps",
      group: g,
    },
    { name: "weight-decay", type: "number", min: 0, default: d.weightDecay, help: "AdamW weight decay", group: g },
    { name: "clip", type: "number", min: 0, minExclusive: true, default: d.clip, help: "gradient-norm clipping", group: g },
    {
      name: "max-seq-len",
      type: "int",
      min: 1,
      max: 4096,
      default: d.maxSeqLen,
      help: "truncate examples to N tokens",
      group: g,
    },
    { name: "seed", type: "int", min: 0, default: d.seed, help: "seed of shuffling, initialisation and dropout", group: g },
    PRECISION_OPTION,
  ];
}

/** The data set the options name, loaded and checked. */
export function datasetFrom(args: ParsedArgs, seed: number): Dataset {
  const v = args.values;
  const subset = { maxTrain: v["max-train"] as number | undefined, maxEval: v["max-eval"] as number | undefined, seed };
  if (v.task && (v.labels || v["label-base"] !== undefined))
    throw new UsageError("--labels and --label-base describe --train data; a --task has its own labels");
  if (v.task) return loadTask(v.task as string, { ...subset, dataDir: v["data-dir"] as string | undefined });
  if (!v.train)
    throw new UsageError(`give --task (${taskNames.join(", ")}) or --train FILE with --text-column and --label-column`);
  if (!v["text-column"] || !v["label-column"]) throw new UsageError("--train needs --text-column and --label-column");
  if (v["label-base"] !== undefined && !v.labels)
    throw new UsageError("--label-base says how numbers in the label column index --labels: give --labels A,B,... too");
  return loadUserDataset({
    train: v.train as string,
    dev: v.dev as string | undefined,
    format: v.format as "csv" | "tsv" | "jsonl" | undefined,
    textColumn: v["text-column"] as string,
    textPairColumn: v["text-pair-column"] as string | undefined,
    labelColumn: v["label-column"] as string,
    labels: v.labels as string[] | undefined,
    labelBase: v["label-base"] as 0 | 1 | undefined,
    ...subset,
  });
}

/** The training settings `sap finetune` and `sap client finetune` share, parsed and checked once. */
export function trainingSpecFrom(args: ParsedArgs): TrainingSpec {
  const v = args.values;
  const seed = v.seed as number;
  return {
    split: v.split as number,
    privatizer: mechanismFrom(args),
    peft: peftFrom(args),
    epochs: v.epochs as number,
    batchSize: v["batch-size"] as number,
    lr: v.lr as number,
    warmupRatio: v.warmup as number,
    weightDecay: v["weight-decay"] as number,
    clip: v.clip as number,
    maxSeqLen: v["max-seq-len"] as number,
    seed,
    noiseSeed: v["noise-seed"] !== undefined ? (v["noise-seed"] as number) : v["seeded-noise"] ? seed : undefined,
    freshNoise: v["fresh-noise"] === true,
    // Loaded last: every flag above is checked before the data is read.
    dataset: datasetFrom(args, seed),
  };
}

/** --model DIR and --out DIR, as every in-process command takes them. */
export function modelAndOut(outHelp: string): OptionDecl[] {
  return [
    { name: "model", type: "string", placeholder: "DIR", help: "a Hugging Face model directory (e.g. models/sap-bert-mini)" },
    { name: "out", type: "string", placeholder: "DIR", help: outHelp },
  ];
}

export const OUTPUT_OPTIONS: OptionDecl[] = [
  { name: "json", type: "boolean", help: "print the result as one JSON object on stdout", group: "Output" },
  { name: "quiet", type: "boolean", help: "no progress on stderr", group: "Output" },
];
