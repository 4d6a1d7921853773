// `sap pretrain`: masked-LM (BERT) or causal-LM (GPT-2) pre-training with packing, checkpoints
// and a held-out metric.
import { readFileSync } from "node:fs";
import { PRESETS, pretrain } from "../../train/pretrain.js";
import { PRECISION_OPTION } from "../flags.js";
import { UsageError, inGroup, required, type Command } from "../options.js";
import { printJson, printLine, terminalProgress } from "../render.js";

export const command: Command = {
  name: "pretrain",
  summary: "pre-train a model (masked LM for BERT, causal LM for GPT-2) on text files, with checkpoints and a held-out metric",
  usage: ["sap pretrain (--preset NAME | --config FILE | --model DIR) --tokenizer DIR --data PATH... --out DIR [options]"],
  options: () => [
    ...inGroup("Model", [
      { name: "preset", type: "string", choices: Object.keys(PRESETS), help: "a built-in architecture" },
      { name: "config", type: "string", placeholder: "FILE", help: "a config.json for a new model" },
      { name: "model", type: "string", placeholder: "DIR", help: "continue from this model directory" },
      { name: "tokenizer", type: "string", placeholder: "DIR", help: "tokenizer folder (default: --model)" },
      { name: "glove-init", type: "string", placeholder: "FILE", help: "word embeddings from GloVe vectors" },
    ]),
    ...inGroup("Data", [
      { name: "data", type: "string", multiple: true, placeholder: "PATH", help: "text files, .gz, .jsonl or folders" },
      { name: "heldout-blocks", type: "int", min: 1, default: 256, help: "blocks kept out for the held-out metric" },
    ]),
    { name: "out", type: "string", placeholder: "DIR", help: "where checkpoints and the model go" },
    ...inGroup("Training", [
      { name: "seq-len", type: "int", min: 8, max: 4096, default: 128, help: "tokens per block" },
      { name: "batch-size", type: "int", min: 1, max: 4096, default: 32, help: "blocks per micro-batch" },
      {
        name: "accumulate",
        type: "int",
        min: 1,
        max: 1024,
        default: 1,
        help: "micro-batches per optimizer step (gradient accumulation)",
      },
      { name: "steps", type: "int", min: 1, default: 1000, help: "optimisation steps" },
      { name: "lr", type: "number", min: 0, minExclusive: true, max: 1, default: 5e-4, help: "peak learning rate" },
      { name: "warmup", type: "number", min: 0, default: 0.06, help: "warm-up: a fraction of --steps (< 1) or steps" },
      { name: "weight-decay", type: "number", min: 0, default: 0.01, help: "AdamW weight decay" },
      { name: "mask-prob", type: "number", min: 0, minExclusive: true, max: 0.99, default: 0.15, help: "share of tokens masked" },
      { name: "clip", type: "number", min: 0, minExclusive: true, default: 1, help: "gradient-norm clipping" },
      { name: "seed", type: "int", min: 0, default: 42, help: "seed" },
      { name: "checkpoint-every", type: "int", min: 1, default: 200, help: "checkpoint every N steps" },
      { name: "eval-every", type: "int", min: 1, default: 500, help: "held-out evaluation every N steps" },
    ]),
    {
      name: "resume",
      type: "boolean",
      help: "continue from the checkpoint in --out, else from its committed snapshot (restart rule)",
    },
    {
      name: "rewarm",
      type: "int",
      min: 1,
      default: 200,
      help: "restart rule: steps over which the learning rate ramps up again after resuming from the snapshot",
    },
    { name: "json", type: "boolean", help: "print the summary as one JSON object" },
    PRECISION_OPTION,
  ],
  examples: [
    "sap pretrain --preset sap-bert-mini --tokenizer models/sap-bert-mini --data ../shared/data/corpora --out runs/pretrain --steps 5000",
  ],
  async run(args) {
    const v = args.values;
    const out = required<string>(args, "out", "DIR");
    const data = (v.data as string[] | undefined) ?? [];
    if (!data.length) throw new UsageError("--data PATH is required (text files, .gz, .jsonl or folders; repeatable)");
    const sources = ["preset", "config", "model"].filter((k) => v[k] !== undefined).length;
    if (sources !== 1)
      throw new UsageError(`give exactly one of --preset (${Object.keys(PRESETS).join(", ")}), --config FILE or --model DIR`);
    const tokenizerDir = (v.tokenizer ?? v.model) as string | undefined;
    if (!tokenizerDir)
      throw new UsageError("--tokenizer DIR is required for a new model (a folder with vocab.txt or tokenizer.json)");
    const steps = v.steps as number;
    const warm = v.warmup as number;
    let config: Record<string, unknown> | undefined;
    if (v.config !== undefined)
      try {
        config = JSON.parse(readFileSync(v.config as string, "utf8")) as Record<string, unknown>;
      } catch (e) {
        throw new UsageError(`--config ${String(v.config)}: ${(e as Error).message}`);
      }
    const res = await pretrain({
      preset: v.preset as string | undefined,
      config,
      modelDir: v.model as string | undefined,
      tokenizerDir,
      data,
      outDir: out,
      seqLen: v["seq-len"] as number,
      batchSize: v["batch-size"] as number,
      accumulate: v.accumulate as number,
      rewarmSteps: v.rewarm as number,
      steps,
      lr: v.lr as number,
      warmupSteps: warm < 1 ? Math.round(warm * steps) : Math.round(warm),
      weightDecay: v["weight-decay"] as number,
      maskProb: v["mask-prob"] as number,
      clip: v.clip as number,
      seed: v.seed as number,
      checkpointEvery: v["checkpoint-every"] as number,
      evalEvery: v["eval-every"] as number,
      heldoutBlocks: v["heldout-blocks"] as number,
      gloveInit: v["glove-init"] as string | undefined,
      resume: v.resume === true,
      onProgress: terminalProgress(),
    });
    const summary = {
      out: res.outDir,
      steps: res.step,
      tokens_seen: res.tokensSeen,
      train_seconds: Math.round(res.elapsedSeconds),
      ...res.final,
    };
    if (v.json) printJson(summary);
    else printLine(`pretrained ${res.outDir}: ${JSON.stringify(summary)}`);
  },
};
