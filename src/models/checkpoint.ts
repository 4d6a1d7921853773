// Loading and saving model directories laid out as Hugging Face lays them out:
// config.json + model.safetensors (or a sharded model.safetensors.index.json). Pickle
// checkpoints (.bin/.pt) are refused with instructions, never executed.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Module, Rng, materializeInit, readSafetensors, withDeferredInit, writeSafetensors, type LoadedTensor, type Tensor } from "../tensor/index.js";
import { BertForMaskedLM, BertForSequenceClassification, RobertaForSequenceClassification } from "./bert.js";
import { ConfigError, parseConfig } from "./config.js";
import { DistilBertForSequenceClassification } from "./distilbert.js";
import { GPT2ForSequenceClassification, GPT2LMHeadModel } from "./gpt2.js";
import type { EncoderConfig, SplittableModel } from "./types.js";

export class CheckpointError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = "CheckpointError";
  }
}

export type Task = "classification" | "mlm" | "lm";

export interface LoadOptions {
  task?: Task;
  /** Overrides the label count of config.json (a new classification head). */
  numLabels?: number;
  labels?: string[];
  /** Seed for any freshly initialised head. */
  seed?: number;
  /** The generator the model keeps (initialisers, then dropout); default new Rng(seed). Given, its state can be saved and restored by the caller. */
  rng?: Rng;
}

export interface LoadReport {
  /** Parameters not in the checkpoint, freshly initialised (a new task head). */
  initialised: string[];
  /** Checkpoint tensors the model does not use (another task's head, buffers). */
  unused: string[];
  files: string[];
}

export interface Loaded<M extends Module> {
  model: M;
  config: EncoderConfig;
  report: LoadReport;
}

/** Checkpoint-name prefix of the base model inside a task model (Hugging Face names). */
export const BASE_PREFIX: Record<EncoderConfig["modelType"], string> = {
  bert: "bert.",
  roberta: "roberta.",
  distilbert: "distilbert.",
  gpt2: "transformer.",
};

const PICKLE = /\.(bin|pt|pth|ckpt|pkl)$/;

export function readConfig(dir: string): EncoderConfig {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(`${dir}: not a model directory`);
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new CheckpointError(`${dir}: no config.json (a Hugging Face model directory needs one)`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  try {
    return parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Reads every tensor of a model directory (single or sharded safetensors). */
export function readWeights(dir: string): { tensors: Map<string, LoadedTensor>; files: string[] } {
  const single = join(dir, "model.safetensors");
  const index = join(dir, "model.safetensors.index.json");
  let files: string[];
  if (existsSync(single)) {
    files = [single];
  } else if (existsSync(index)) {
    let map: Record<string, string>;
    try {
      map = (JSON.parse(readFileSync(index, "utf8")) as { weight_map: Record<string, string> }).weight_map;
    } catch (e) {
      throw new CheckpointError(`${index}: not a valid shard index: ${(e as Error).message}`);
    }
    if (!map || typeof map !== "object") throw new CheckpointError(`${index}: no weight_map`);
    files = [...new Set(Object.values(map))].map((f) => join(dir, f));
    for (const f of files) if (!existsSync(f)) throw new CheckpointError(`${index} names shard ${f}, which is missing`);
  } else {
    const pickles = readdirSync(dir).filter((f) => PICKLE.test(f));
    if (pickles.length)
      throw new CheckpointError(
        `${dir}: only a pickle checkpoint (${pickles.join(", ")}) is present. sap never unpickles files (they can run ` +
          `arbitrary code). Convert it once, where you trust the file, with Python:\n` +
          `  from transformers import AutoModel; AutoModel.from_pretrained("${dir}").save_pretrained("${dir}", safe_serialization=True)\n` +
          `or: import torch, safetensors.torch; safetensors.torch.save_file(torch.load("${join(dir, pickles[0]!)}"), "${single}")`,
      );
    throw new CheckpointError(`${dir}: no model.safetensors or model.safetensors.index.json`);
  }
  const tensors = new Map<string, LoadedTensor>();
  for (const f of files) for (const [name, t] of readSafetensors(f).tensors) tensors.set(name, t);
  return { tensors, files };
}

/** Old BERT checkpoints name LayerNorm parameters gamma/beta. */
function normaliseName(name: string): string {
  return name.replace(/\.gamma$/, ".weight").replace(/\.beta$/, ".bias");
}

/** Buffers some exporters store; never parameters. */
const BUFFER = /(\.position_ids|\.attn\.bias|\.attn\.masked_bias|\.token_type_ids)$/;

export function createModel(config: EncoderConfig, task: Task, rng: Rng): SplittableModel | BertForMaskedLM | GPT2LMHeadModel {
  switch (config.modelType) {
    case "bert":
      if (task === "mlm") return new BertForMaskedLM(config, rng);
      if (task === "classification") return new BertForSequenceClassification(config, rng);
      break;
    case "roberta":
      if (task === "classification") return new RobertaForSequenceClassification(config, rng);
      break;
    case "distilbert":
      if (task === "classification") return new DistilBertForSequenceClassification(config, rng);
      break;
    case "gpt2":
      if (task === "lm") return new GPT2LMHeadModel(config, rng);
      if (task === "classification") return new GPT2ForSequenceClassification(config, rng);
      break;
  }
  throw new CheckpointError(`task "${task}" is not available for model_type ${config.modelType}`);
}

/** Copies checkpoint tensors into a model's parameters, checking names and shapes. */
export function loadStateInto(model: Module, config: EncoderConfig, tensors: Map<string, LoadedTensor>, where: string): LoadReport {
  const base = BASE_PREFIX[config.modelType];
  const params = new Map(model.namedParameters());
  const byName = new Map<string, LoadedTensor>();
  const unused: string[] = [];
  for (const [raw, t] of tensors) {
    if (BUFFER.test(raw)) {
      unused.push(raw);
      continue;
    }
    let name = normaliseName(raw);
    // A bare base-model checkpoint (BertModel, GPT2Model) lacks the task wrapper's prefix.
    if (!params.has(name) && params.has(base + name)) name = base + name;
    byName.set(name, t);
  }
  const initialised: string[] = [];
  const missingBase: string[] = [];
  for (const [name, p] of params) {
    const t = byName.get(name);
    if (!t) {
      // A pooler missing from a masked-LM checkpoint is initialised fresh, as Hugging Face does.
      if (name.startsWith(base) && !/\.pooler\./.test(name)) missingBase.push(name);
      else initialised.push(name);
      continue;
    }
    byName.delete(name);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i]))
      throw new CheckpointError(`${where}: tensor ${name} has shape [${t.shape.join(", ")}] but the model (from config.json) expects [${p.shape.join(", ")}]`);
    p.data.set(t.data);
  }
  if (missingBase.length)
    throw new CheckpointError(
      `${where}: ${missingBase.length} tensor(s) missing from the checkpoint: ${missingBase.slice(0, 8).join(", ")}${missingBase.length > 8 ? ", …" : ""}`,
    );
  const unexpected: string[] = [];
  for (const name of byName.keys()) {
    // Another task's head (MLM cls.*, lm_head, a classifier) or a pooler the model lacks is fine.
    if (!name.startsWith(base) || /\.pooler\./.test(name) || name === "lm_head.weight") unused.push(name);
    else unexpected.push(name);
  }
  if (unexpected.length)
    throw new CheckpointError(
      `${where}: ${unexpected.length} unexpected tensor(s) for a ${config.modelType} model of ${config.numLayers} layers: ` +
        `${unexpected.slice(0, 8).join(", ")}${unexpected.length > 8 ? ", …" : ""} (does config.json match the weights?)`,
    );
  return { initialised, unused, files: [] };
}

/** Loads a Hugging Face model directory for a task. */
export function loadPretrained(dir: string, opts: LoadOptions = {}): Loaded<SplittableModel | BertForMaskedLM | GPT2LMHeadModel> {
  let config = readConfig(dir);
  const labels = opts.labels ?? (opts.numLabels ? Array.from({ length: opts.numLabels }, (_, i) => config.labels[i] ?? `LABEL_${i}`) : null);
  if (labels) config = { ...config, labels, numLabels: labels.length };
  const task = opts.task ?? (config.modelType === "gpt2" && !config.raw.id2label ? "lm" : "classification");
  const { tensors, files } = readWeights(dir);
  // Initial values are drawn only for what the checkpoint lacks (a new head), and are the same
  // values an eager initialisation would give.
  const model = withDeferredInit(() => createModel(config, task, opts.rng ?? new Rng(opts.seed ?? 42)));
  const report = loadStateInto(model, config, tensors, dir);
  const params = new Map(model.namedParameters());
  for (const name of report.initialised) materializeInit(params.get(name)!);
  report.files = files;
  return { model, config, report };
}

export function loadClassifier(dir: string, opts: Omit<LoadOptions, "task"> = {}): Loaded<SplittableModel> {
  return loadPretrained(dir, { ...opts, task: "classification" }) as Loaded<SplittableModel>;
}

/** Writes config.json and model.safetensors (F32 or F16) into dir, each atomically. */
export function savePretrained(model: Module, config: EncoderConfig, dir: string, opts: { dtype?: "F32" | "F16"; extraConfig?: Record<string, unknown> } = {}): void {
  mkdirSync(dir, { recursive: true });
  const raw: Record<string, unknown> = {
    ...config.raw,
    id2label: Object.fromEntries(config.labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(config.labels.map((l, i) => [l, i])),
    ...opts.extraConfig,
  };
  const seen = new Set<Tensor>();
  const entries: Array<[string, { shape: number[]; data: Float32Array }]> = [];
  for (const [name, t] of model.namedParameters()) {
    if (seen.has(t)) continue; // tied weights are stored once
    seen.add(t);
    entries.push([name, { shape: t.shape, data: t.data }]);
  }
  writeSafetensors(join(dir, "model.safetensors"), entries, { dtype: opts.dtype ?? "F32", metadata: { format: "pt" } });
  const tmp = join(dir, `config.json.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(raw, null, 2) + "\n");
  renameSync(tmp, join(dir, "config.json"));
}
