// Adapters on their own: adapter_config.json (method, params, split, labels, base model) and
// adapter_model.safetensors (the trained tensors, head included). Applying one to a base
// checkpoint rebuilds the method's modules and loads the tensors by name.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SplittableModel } from "../models/model.js";
import { Rng, readSafetensors, writeSafetensors } from "../tensor/index.js";
import { getPeft } from "./registry.js";
import type { PeftInstance, PeftParams } from "./types.js";

export interface AdapterConfig {
  format: "sap-peft-v1";
  method: string;
  params: PeftParams;
  split: number;
  labels: string[];
  modelType: string;
  /** Where the base model came from (a path or a catalogue name), for humans. */
  baseModel: string;
  privatizer?: { name: string; params: Record<string, unknown> };
  maxSeqLen?: number;
}

export function savePeft(dir: string, inst: PeftInstance, meta: Omit<AdapterConfig, "format" | "method" | "params">): void {
  mkdirSync(dir, { recursive: true });
  const cfg: AdapterConfig = { format: "sap-peft-v1", method: inst.method, params: inst.params, ...meta };
  writeSafetensors(
    join(dir, "adapter_model.safetensors"),
    inst.trainable().map(([n, t]) => [n, { shape: t.shape, data: t.data }]),
  );
  const tmp = join(dir, `adapter_config.json.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(cfg, null, 2) + "\n");
  renameSync(tmp, join(dir, "adapter_config.json"));
}

export function readAdapterConfig(dir: string): AdapterConfig {
  const path = join(dir, "adapter_config.json");
  if (!existsSync(path)) throw new Error(`${dir}: no adapter_config.json (not an adapter directory)`);
  const cfg = JSON.parse(readFileSync(path, "utf8")) as AdapterConfig;
  if (cfg.format !== "sap-peft-v1") throw new Error(`${path}: unknown adapter format ${String(cfg.format)}`);
  return cfg;
}

/** Applies a saved adapter to a freshly loaded base model (same architecture). */
export function loadPeft(dir: string, model: SplittableModel): { instance: PeftInstance; config: AdapterConfig } {
  const cfg = readAdapterConfig(dir);
  if (cfg.modelType !== model.config.modelType)
    throw new Error(`${dir}: adapter was trained on a ${cfg.modelType} model, not ${model.config.modelType}`);
  if (cfg.labels.length !== model.config.numLabels)
    throw new Error(
      `${dir}: adapter has ${cfg.labels.length} labels but the model head has ${model.config.numLabels}; load the base with numLabels`,
    );
  const instance = getPeft(cfg.method).apply(model, cfg.split, cfg.params, new Rng(0));
  const { tensors } = readSafetensors(join(dir, "adapter_model.safetensors"));
  const want = new Map(instance.trainable());
  for (const [name, p] of want) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${dir}: adapter_model.safetensors lacks ${name}`);
    if (t.data.length !== p.size) throw new Error(`${dir}: ${name} has ${t.data.length} values, the model expects ${p.size}`);
    p.data.set(t.data);
  }
  for (const name of tensors.keys())
    if (!want.has(name)) throw new Error(`${dir}: unexpected tensor ${name} for method ${cfg.method}`);
  return { instance, config: cfg };
}
