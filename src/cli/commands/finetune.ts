// `sap finetune`: SAP fine-tuning in one process (customer and vendor sides both here).
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { finetune } from "../../train/finetune.js";
import { batchToFrame, type WireBatch } from "../../wire/index.js";
import {
  DATA_OPTIONS,
  OUTPUT_OPTIONS,
  mechanismOptions,
  modelAndOut,
  peftOptions,
  trainingOptions,
  trainingSpecFrom,
} from "../flags.js";
import { UsageError, asMismatchUsage, required, type Command } from "../options.js";
import { printJson, printLine, terminalProgress } from "../render.js";

export const command: Command = {
  name: "finetune",
  summary:
    "SAP fine-tuning in one process: bottom + privatizer (customer) and top + PEFT (vendor); writes the best adapter, metrics.json, metrics.jsonl and report.md",
  usage: ["sap finetune --model DIR (--task NAME | --train FILE ...) --out DIR [options]"],
  options: () => [
    ...modelAndOut("where the adapter, metrics and report go"),
    ...DATA_OPTIONS,
    ...trainingOptions(),
    ...mechanismOptions(),
    ...peftOptions(),
    {
      name: "resume",
      type: "boolean",
      help: "continue the run in --out (refused when its settings differ from the ones given now)",
    },
    {
      name: "overwrite",
      type: "boolean",
      help: "start a new run in a used --out, removing the previous run's outputs (otherwise refused)",
    },
    { name: "checkpoint-every", type: "int", min: 1, default: 500, help: "checkpoint every N steps (and at each epoch end)" },
    { name: "random-init", type: "boolean", help: "the same architecture from random initialisation (a baseline)" },
    { name: "train-bottom", type: "string", choices: ["lora", "full"], help: "U-shaped: the customer also trains its bottom" },
    { name: "dump-wire", type: "string", placeholder: "FILE", help: "write every batch the vendor received, as wire frames" },
    ...OUTPUT_OPTIONS,
  ],
  examples: [
    "sap finetune --model models/sap-bert-mini --task sst2 --split 2 --privatizer cti --eta 100 --peft lora --epochs 3 --out runs/sst2-cti",
    "sap finetune --model models/sap-bert-mini --train reviews.csv --text-column text --label-column label --privatizer dchi --eta 50 --out runs/mine",
  ],
  async run(args) {
    const v = args.values;
    const model = required<string>(args, "model", "DIR (a Hugging Face model directory, e.g. models/sap-bert-mini)");
    const out = required<string>(args, "out", "DIR");
    if (v.resume && args.given.has("random-init")) throw new UsageError("--random-init applies to a new run, not --resume");
    if (v.resume && v.overwrite)
      throw new UsageError("--resume continues the run in --out and --overwrite replaces it: give one");
    const spec = trainingSpecFrom(args);
    const res = await asMismatchUsage(() =>
      finetune({
        modelDir: model,
        ...spec,
        outDir: out,
        resume: v.resume === true,
        overwrite: v.overwrite === true,
        checkpointEvery: v["checkpoint-every"] as number,
        randomInit: v["random-init"] === true,
        trainBottom: v["train-bottom"] as "lora" | "full" | undefined,
        onWire: dumpWire(v["dump-wire"] as string | undefined),
        onProgress: v.quiet ? undefined : terminalProgress(),
        onMetric: (rec) => {
          mkdirSync(out, { recursive: true });
          appendFileSync(join(out, "metrics.jsonl"), JSON.stringify(rec) + "\n");
        },
      }),
    );
    if (v.json)
      printJson({
        dev_accuracy: res.dev_accuracy,
        best_dev_accuracy: res.best_dev_accuracy,
        best_epoch: res.best_epoch,
        train_seconds: Number(res.train_seconds.toFixed(2)),
        seconds_per_epoch: Number(res.seconds_per_epoch.toFixed(2)),
        examples_per_second: Number(res.examples_per_second.toFixed(1)),
        trainable_parameters: res.trainable_parameters,
        ...res.settings,
        cti: res.cti,
        out: res.outDir,
      });
    else
      printLine(
        `done: best dev accuracy ${(100 * res.best_dev_accuracy).toFixed(2)}% (epoch ${res.best_epoch}); adapter, metrics.json and report.md in ${res.outDir}`,
      );
  },
};

/** --dump-wire FILE: every batch the vendor received, as wire frames (docs/wire-format.md). */
function dumpWire(file: string | undefined): ((w: WireBatch, phase: "train" | "eval") => void) | undefined {
  if (!file) return undefined;
  // Created at the first batch, after the run has accepted --out (the file may live inside it).
  let seq = 0;
  return (w, phase) => {
    if (seq === 0) writeFileSync(file, new Uint8Array(0));
    appendFileSync(file, batchToFrame(w, ++seq, "f32", phase === "train"));
  };
}
