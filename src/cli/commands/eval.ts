// `sap eval privacy`: fine-tune and attack over a grid of mechanisms × budgets × seeds. Its
// mechanism, budget and attack options come from the registries; the whole grid is validated
// before anything trains.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { listAttacks } from "../../attacks/registry.js";
import { defaultDataDir } from "../../data/index.js";
import { checkSweepAttacks, runPrivacySweep, sweepSettings, type SweepOptions } from "../../eval/sweep.js";
import { budgetOf, describeParams } from "../../params/index.js";
import { checkPeftParams } from "../../peft/index.js";
import { listPrivatizers } from "../../privacy/index.js";
import { readDocuments } from "../../train/corpus.js";
import { DATA_OPTIONS, PRECISION_OPTION, datasetFrom, modelAndOut } from "../flags.js";
import { UsageError, asMismatchUsage, asUsage, namesOption, required, type Command, type ParsedArgs } from "../options.js";
import { printJson, printLine, terminalProgress } from "../render.js";

export const command: Command = {
  name: "eval",
  summary:
    "privacy evaluation: fine-tune and attack over mechanisms × budgets × seeds; JSON, CSV, SVG plot, Markdown/HTML report",
  usage: ["sap eval privacy --model DIR (--task NAME | --train FILE ...) --out DIR [options]"],
  options: () => [
    PRECISION_OPTION,
    ...modelAndOut(
      "where results and the report go; the same sweep resumes there and may grow its grid (a different one is refused)",
    ),
    { name: "overwrite", type: "boolean", help: "replace the results of a previous sweep in --out" },
    ...DATA_OPTIONS,
    { name: "split", type: "int", min: 0, default: 2, help: "cut after layer k", group: "Grid" },
    namesOption("privatizers", "mechanisms", mechanismNames(), { default: ["none", "dchi", "cti"], group: "Grid", list: true }),
    {
      name: "etas",
      type: "list",
      placeholder: "X,Y",
      help: "budget values for every mechanism whose budget is η (default: each mechanism's declared sweep)",
      group: "Grid",
    },
    {
      name: "budget",
      type: "string",
      multiple: true,
      placeholder: "MECH=X,Y",
      help: "budget values for one mechanism, e.g. gaussian=0.5,1,2",
      group: "Grid",
    },
    {
      name: "mechanism-param",
      type: "string",
      multiple: true,
      placeholder: "MECH.P=V",
      help: "a fixed mechanism parameter, e.g. dchi.clip=10",
      group: "Grid",
    },
    { name: "seeds", type: "int", min: 1, max: 100, default: 1, help: "seeds per cell", group: "Grid" },
    // The optimisation attack is the strongest behind k >= 1 layers (experiments/privacy-mini-v2): on by default.
    namesOption("attacks", "attacks", attackNames(), { default: ["nn-l2", "mlp", "optim"], group: "Attacks", list: true }),
    {
      name: "attack-param",
      type: "string",
      multiple: true,
      placeholder: "ATTACK.P=V",
      help: "an attack parameter, e.g. mlp.epochs=5",
      group: "Attacks",
    },
    {
      name: "public",
      type: "string",
      multiple: true,
      placeholder: "FILE",
      help: "public text the attacker trains on (default: the Brown corpus in the data dir)",
      group: "Attacks",
    },
    { name: "max-public", type: "int", min: 1, default: 4000, help: "public sentences used", group: "Attacks" },
    {
      name: "canaries",
      type: "int",
      min: 0,
      max: 10_000,
      default: 32,
      help: "canary sentences with synthetic personal data",
      group: "Attacks",
    },
    { name: "attack-only", type: "boolean", help: "skip fine-tuning (privacy only)", group: "Attacks" },
    { name: "fresh-noise", type: "boolean", help: "the customer privatizes afresh each epoch (default: once)", group: "Attacks" },
    { name: "peft", type: "string", default: "lora", help: "PEFT method of each fine-tuning run", group: "Training" },
    { name: "epochs", type: "int", min: 1, default: 1, help: "epochs per run", group: "Training" },
    { name: "batch-size", type: "int", min: 1, default: 32, help: "batch size", group: "Training" },
    { name: "lr", type: "number", min: 0, minExclusive: true, max: 1, default: 1e-3, help: "learning rate", group: "Training" },
    { name: "max-seq-len", type: "int", min: 1, max: 4096, default: 64, help: "tokens per example", group: "Training" },
    { name: "seed", type: "int", min: 0, default: 42, help: "data subsetting seed", group: "Training" },
    { name: "json", type: "boolean", help: "print the summary rows as one JSON object" },
  ],
  details: () =>
    [
      "Mechanisms and their parameters (the budget is what the grid varies):",
      ...listPrivatizers().flatMap((m) => [
        `  ${m.name}: ${m.summary}${budgetOf(m) ? `; default sweep ${budgetOf(m)!.name} = ${(budgetOf(m)!.sweep ?? []).join(", ")}` : ""}`,
        ...describeParams(m).map((l) => `      ${l}`),
      ]),
      "Attacks:",
      ...listAttacks().flatMap((a) => [`  ${a.name} (${a.kind}): ${a.summary}`, ...describeParams(a).map((l) => `      ${l}`)]),
    ].join("\n"),
  examples: [
    "sap eval privacy --model models/sap-bert-mini --task sst2 --split 2 --privatizers none,dchi,cti --etas 10,25,50 --out runs/privacy",
    "sap eval privacy --model models/sap-bert-mini --task sst2 --privatizers none,gaussian,laplace --budget gaussian=0.5,1 --budget laplace=0.5,1 --attacks nn-l2,optim --out runs/coord",
  ],
  async run(args) {
    const [sub, extra] = args.positionals;
    if (sub !== "privacy" || extra !== undefined)
      throw new UsageError("usage: sap eval privacy --model DIR --task NAME ... --out DIR");
    const v = args.values;
    const model = required<string>(args, "model", "DIR");
    const out = required<string>(args, "out", "DIR");
    const grid = gridFrom(args);
    // Everything about the grid is checked before the data and the public corpus are read.
    asUsage(() => sweepSettings(grid));
    asUsage(() => checkPeftParams(v.peft as string, {}));
    const dataset = datasetFrom(args, v.seed as number);
    asUsage(() => checkSweepAttacks({ attacks: grid.attacks, attackParams: grid.attackParams, dataset }));
    const publicFiles = (v.public as string[] | undefined) ?? [
      join((v["data-dir"] as string | undefined) ?? defaultDataDir(), "corpora", "brown", "brown_sentences_untagged.txt"),
    ];
    for (const f of publicFiles)
      if (!existsSync(f))
        throw new UsageError(
          `the attackers' public text ${f} does not exist; give --public FILE (any English text) or --data-dir`,
        );
    const publicTexts = publicFiles
      .flatMap((f) => readDocuments(f))
      .flatMap((d) => d.split("\n"))
      .filter((l) => l.trim().length > 0)
      .slice(0, v["max-public"] as number);
    const { summary } = await asMismatchUsage(() =>
      runPrivacySweep({
        modelDir: model,
        dataset,
        split: v.split as number,
        ...grid,
        seeds: v.seeds as number,
        publicTexts,
        peft: { name: v.peft as string, params: {} },
        epochs: v.epochs as number,
        batchSize: v["batch-size"] as number,
        lr: v.lr as number,
        maxSeqLen: v["max-seq-len"] as number,
        outDir: out,
        attackOnly: v["attack-only"] === true,
        freshNoise: v["fresh-noise"] === true,
        canaries: v.canaries as number,
        overwrite: v.overwrite === true,
        onProgress: terminalProgress(),
      }),
    );
    if (v.json) printJson({ results: summary });
    else printLine(`report: ${join(out, "report.md")} (and report.html, plot.svg, results.json/csv)`);
  },
};

const mechanismNames = (): string[] => listPrivatizers().map((m) => m.name);
const attackNames = (): string[] => listAttacks().map((a) => a.name);

type Grid = Pick<SweepOptions, "privatizers" | "budgets" | "etas" | "mechanismParams" | "attacks" | "attackParams">;

function gridFrom(args: ParsedArgs): Grid {
  const v = args.values;
  const numbers = (flag: string, xs: string[]): number[] =>
    xs.map((x) => {
      const n = Number(x);
      if (x.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag} takes numbers, got ${JSON.stringify(x)}`);
      return n;
    });
  const budgets: Record<string, number[]> = {};
  for (const b of (v.budget as string[] | undefined) ?? []) {
    const m = /^([\w.-]+)=(.+)$/.exec(b);
    if (!m) throw new UsageError(`--budget takes MECH=X,Y,..., got ${JSON.stringify(b)}`);
    budgets[m[1]!] = numbers(`--budget ${m[1]}`, m[2]!.split(","));
  }
  const dotted = (flag: string, list: string[] | undefined): Record<string, Record<string, string>> => {
    const out: Record<string, Record<string, string>> = {};
    for (const s of list ?? []) {
      const m = /^([\w-]+)\.(\w+)=(.*)$/.exec(s);
      if (!m) throw new UsageError(`${flag} takes NAME.PARAM=VALUE, got ${JSON.stringify(s)}`);
      (out[m[1]!] ??= {})[m[2]!] = m[3]!;
    }
    return out;
  };
  const privatizers = v.privatizers as string[];
  for (const name of Object.keys(budgets))
    if (!privatizers.includes(name)) throw new UsageError(`--budget ${name}=... names a mechanism that is not in --privatizers`);
  return {
    privatizers,
    budgets,
    etas: v.etas !== undefined ? numbers("--etas", v.etas as string[]) : undefined,
    mechanismParams: dotted("--mechanism-param", v["mechanism-param"] as string[] | undefined),
    attacks: v.attacks as string[],
    attackParams: dotted("--attack-param", v["attack-param"] as string[] | undefined),
  };
}
