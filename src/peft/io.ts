// Adapters on their own, applied to a base checkpoint by rebuilding the method's modules and
// loading the tensors by name. LoRA is saved in Hugging Face PEFT's layout (adapter_config.json
// as a LoraConfig, PEFT's tensor names, sap's metadata in sap_adapter.json; see hf-peft.ts), and
// LoRA adapters saved by PEFT load too. The other methods have no exact PEFT counterpart (sap's
// bottleneck adapters, BitFit and top-only full tuning are not PEFT methods; PEFT's prompt and
// prefix tuning act on the input embeddings / every layer, sap's on the top layers after the
// split), so they keep sap's own format: adapter_config.json ("sap-peft-v1": method, params,
// split, labels, base model) + adapter_model.safetensors with sap's names. Old LoRA adapters in
// that format still load.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EncoderConfig } from "../models/config.js";
import type { SplittableModel } from "../models/model.js";
import { Rng, readSafetensors, writeSafetensors } from "../tensor/index.js";
import {
  SAP_ADAPTER_FILE,
  SAP_ADAPTER_FORMAT,
  inferFromPeftTensors,
  loadPeftTensors,
  loraParamsFromPeft,
  peftSplit,
  readPeftTensors,
  readSapAdapterFile,
  toPeftLora,
  type PeftLoraConfig,
} from "./hf-peft.js";
import { getPeft } from "./registry.js";
import type { PeftInstance, PeftParams } from "./types.js";

export interface AdapterConfig {
  /** sap's own layout, or Hugging Face PEFT's (LoRA). */
  format: "sap-peft-v1" | "hf-peft";
  method: string;
  params: PeftParams;
  split: number;
  labels: string[];
  modelType: string;
  /** Where the base model came from (a path or a catalogue name), for humans. */
  baseModel: string;
  privatizer?: { name: string; params: Record<string, unknown> };
  maxSeqLen?: number;
  /** The LoraConfig as found in adapter_config.json (hf-peft only). */
  peft?: PeftLoraConfig;
}

export type AdapterMeta = Omit<AdapterConfig, "format" | "method" | "params" | "peft">;

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
  renameSync(tmp, path);
}

/** adapter_config.json is written last: its presence marks a complete adapter directory. */
export function savePeft(dir: string, inst: PeftInstance, meta: AdapterMeta): void {
  mkdirSync(dir, { recursive: true });
  const hf =
    inst.method === "lora" ? toPeftLora(inst, { ...meta, modelType: meta.modelType as EncoderConfig["modelType"] }) : null;
  if (hf) {
    writeSafetensors(join(dir, "adapter_model.safetensors"), hf.tensors, { metadata: { format: "pt" } });
    writeJsonAtomic(join(dir, SAP_ADAPTER_FILE), {
      format: SAP_ADAPTER_FORMAT,
      method: inst.method,
      params: inst.params,
      ...meta,
    });
    writeJsonAtomic(join(dir, "adapter_config.json"), hf.config);
    return;
  }
  const cfg: AdapterConfig = { format: "sap-peft-v1", method: inst.method, params: inst.params, ...meta };
  writeSafetensors(
    join(dir, "adapter_model.safetensors"),
    inst.trainable().map(([n, t]) => [n, { shape: t.shape, data: t.data }]),
  );
  // A LoRA saved here before would leave sap metadata that no longer belongs to the tensors.
  rmSync(join(dir, SAP_ADAPTER_FILE), { force: true });
  writeJsonAtomic(join(dir, "adapter_config.json"), cfg);
}

export function readAdapterConfig(dir: string): AdapterConfig {
  const path = join(dir, "adapter_config.json");
  if (!existsSync(path)) throw new Error(`${dir}: no adapter_config.json (not an adapter directory)`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (raw.format === "sap-peft-v1") return raw as unknown as AdapterConfig;
  if (raw.peft_type === undefined)
    throw new Error(`${path}: unknown adapter format ${String(raw.format)} (neither sap's nor PEFT's)`);
  const params = loraParamsFromPeft(raw, path);
  const sap = readSapAdapterFile(dir);
  if (sap) {
    const p = sap.params as PeftParams;
    for (const k of ["rank", "alpha", "targets"] as const)
      if (JSON.stringify(p[k]) !== JSON.stringify(params[k]))
        throw new Error(
          `${dir}: ${SAP_ADAPTER_FILE} and adapter_config.json disagree on ${k} (${JSON.stringify(p[k])} vs ${JSON.stringify(params[k])})`,
        );
    if (sap.split !== peftSplit(raw, path))
      throw new Error(
        `${dir}: ${SAP_ADAPTER_FILE} has split ${String(sap.split)} but layers_to_transform starts at ${peftSplit(raw, path)}`,
      );
    const meta = sap as unknown as AdapterMeta;
    return { ...meta, format: "hf-peft", method: "lora", params: { ...p, ...params }, peft: raw };
  }
  // A PEFT adapter from elsewhere: what sap's metadata would say is read off the tensors.
  const inferred = inferFromPeftTensors(readPeftTensors(dir), join(dir, "adapter_model.safetensors"));
  return {
    format: "hf-peft",
    method: "lora",
    params,
    split: peftSplit(raw, path),
    labels: inferred.labels,
    modelType: inferred.modelType,
    baseModel: typeof raw.base_model_name_or_path === "string" ? raw.base_model_name_or_path : "",
    peft: raw,
  };
}

function checkModel(dir: string, cfg: AdapterConfig, model: SplittableModel): void {
  if (cfg.modelType !== model.config.modelType)
    throw new Error(`${dir}: adapter was trained on a ${cfg.modelType} model, not ${model.config.modelType}`);
  if (cfg.labels.length !== model.config.numLabels)
    throw new Error(
      `${dir}: adapter has ${cfg.labels.length} labels but the model head has ${model.config.numLabels}; load the base with numLabels`,
    );
}

/** Applies a saved adapter (sap's or PEFT's layout) to a freshly loaded base model (same architecture). */
export function loadPeft(dir: string, model: SplittableModel): { instance: PeftInstance; config: AdapterConfig } {
  const cfg = readAdapterConfig(dir);
  checkModel(dir, cfg, model);
  if (cfg.format === "hf-peft") {
    const tensors = readPeftTensors(dir);
    const instance = getPeft("lora").apply(model, cfg.split, cfg.params, new Rng(0));
    loadPeftTensors(dir, cfg.peft!, model, instance, cfg.split, tensors);
    return { instance, config: cfg };
  }
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
