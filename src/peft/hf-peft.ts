// LoRA adapters in Hugging Face PEFT's own layout (checked against peft 0.21): adapter_config.json
// is a LoraConfig and adapter_model.safetensors uses PEFT's tensor names, so that
// `PeftModel.from_pretrained` loads what sap saves and sap loads what PEFT saves. sap's own
// metadata (split, labels, privatizer, ...) goes to sap_adapter.json: peft 0.21 ignores unknown
// keys in adapter_config.json but warns that the file needs a newer PEFT, which would mislead.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BASE_PREFIX } from "../models/checkpoint.js";
import type { EncoderConfig } from "../models/config.js";
import type { SplittableModel } from "../models/model.js";
import { readSafetensors, type LoadedTensor, type Tensor } from "../tensor/index.js";
import type { PeftInstance, PeftParams } from "./types.js";

export const SAP_ADAPTER_FILE = "sap_adapter.json";
export const SAP_ADAPTER_FORMAT = "sap-adapter-v1";

/** PEFT's state-dict names are the wrapped model's: PeftModel.base_model (LoraModel).model. */
const PEFT_PREFIX = "base_model.model.";
const LORA_PARAM = /\.lora\.(A|B)$/;

/** PEFT's layers_pattern: the name of the module list that holds the transformer layers. */
export const LAYERS_PATTERN: Record<EncoderConfig["modelType"], string> = {
  bert: "layer",
  roberta: "layer",
  distilbert: "layer",
  gpt2: "h",
};

export type PeftLoraConfig = Record<string, unknown>;

/** sap name -> PEFT name: `x.query.lora.A` -> `base_model.model.x.query.lora_A.weight`. */
export function toPeftName(name: string): string {
  return PEFT_PREFIX + name.replace(LORA_PARAM, ".lora_$1.weight");
}

/** PEFT name -> sap name, or null for a name that is not a PEFT model tensor. */
export function fromPeftName(name: string): string | null {
  if (!name.startsWith(PEFT_PREFIX)) return null;
  return name.slice(PEFT_PREFIX.length).replace(/\.lora_(A|B)\.weight$/, ".lora.$1");
}

/** The module PEFT's modules_to_save names for a head parameter ("classifier", "pooler", "ln_f"). */
function headModule(name: string, modelType: EncoderConfig["modelType"]): string {
  const base = BASE_PREFIX[modelType];
  const rel = name.startsWith(base) ? name.slice(base.length) : name;
  return rel.split(".")[0]!;
}

/**
 * The LoraConfig and tensors of a sap LoRA instance, or null where PEFT cannot express it (no
 * LoRA module at all: a split after the last layer, which PEFT refuses as "target modules not found").
 */
export function toPeftLora(
  inst: PeftInstance,
  meta: { split: number; modelType: EncoderConfig["modelType"]; baseModel: string },
): { config: PeftLoraConfig; tensors: Array<[string, { shape: number[]; data: Float32Array }]> } | null {
  const trainable = inst.trainable();
  const loraNames = trainable.map(([n]) => n).filter((n) => LORA_PARAM.test(n));
  if (!loraNames.length) return null;
  const pattern = LAYERS_PATTERN[meta.modelType];
  const layerRe = new RegExp(`\\.${pattern}\\.(\\d+)\\.`);
  const layers = [...new Set(loraNames.map((n) => Number(layerRe.exec(n)![1])))].sort((a, b) => a - b);
  // sap trains the whole head (BERT's pooler, GPT-2's ln_f included); PEFT adds classifier/score itself.
  const modulesToSave = [...new Set(trainable.filter(([n]) => !LORA_PARAM.test(n)).map(([n]) => headModule(n, meta.modelType)))];
  const config: PeftLoraConfig = {
    peft_type: "LORA",
    task_type: "SEQ_CLS",
    base_model_name_or_path: meta.baseModel,
    revision: null,
    inference_mode: true,
    r: inst.params.rank,
    lora_alpha: inst.params.alpha,
    lora_dropout: inst.params.dropout,
    target_modules: inst.params.targets,
    // sap puts LoRA on layers split..L-1 only; at split 0 that is every layer (PEFT's null).
    layers_to_transform: meta.split > 0 ? layers : null,
    layers_pattern: meta.split > 0 ? pattern : null,
    modules_to_save: modulesToSave,
    bias: "none",
    // GPT-2's Conv1D stores weights [in, out]; PEFT forces fan_in_fan_out there (with a warning
    // when it is false). lora_A/lora_B are [r, in] and [out, r] either way, as sap's A and B.
    fan_in_fan_out: meta.modelType === "gpt2",
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    lora_bias: false,
    rank_pattern: {},
    alpha_pattern: {},
  };
  return { config, tensors: trainable.map(([n, t]) => [toPeftName(n), { shape: t.shape, data: t.data }]) };
}

/** LoraConfig keys sap reads, and keys that do not change what the saved tensors mean. */
const HANDLED = new Set([
  "peft_type",
  "task_type",
  "r",
  "lora_alpha",
  "lora_dropout",
  "target_modules",
  "layers_to_transform",
  "layers_pattern",
  "modules_to_save",
  "bias",
  "fan_in_fan_out",
  "init_lora_weights",
  "base_model_name_or_path",
  "revision",
  "inference_mode",
  "peft_version",
  "auto_mapping",
  "megatron_core",
  "qalora_group_size",
]);

/** PEFT's "off" values: any other key must hold one, or the adapter is not a plain LoRA. */
function isOff(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === "object" && Object.keys(v).length === 0;
}

/** sap's LoRA params from a PEFT LoraConfig, refusing options sap's LoRA does not implement. */
export function loraParamsFromPeft(cfg: PeftLoraConfig, where: string): PeftParams {
  if (cfg.peft_type !== "LORA")
    throw new Error(`${where}: a PEFT ${String(cfg.peft_type)} adapter; sap loads PEFT LoRA adapters only`);
  if (cfg.task_type !== undefined && cfg.task_type !== null && cfg.task_type !== "SEQ_CLS")
    throw new Error(`${where}: task_type ${String(cfg.task_type)}; sap loads sequence-classification (SEQ_CLS) adapters only`);
  if (cfg.bias !== undefined && cfg.bias !== "none")
    throw new Error(
      `${where}: bias "${String(cfg.bias)}" is not supported (sap's LoRA trains no biases of the base layers; use "none")`,
    );
  // Other initialisations (pissa, olora, corda, loftq) rewrite the base weights, so the saved
  // A and B do not apply to the original base model.
  const init = cfg.init_lora_weights;
  if (init !== undefined && init !== true && init !== false && init !== "gaussian")
    throw new Error(
      `${where}: init_lora_weights "${String(init)}" changes the base weights; sap needs an adapter of the unchanged base`,
    );
  for (const [k, v] of Object.entries(cfg))
    if (!HANDLED.has(k) && !isOff(v))
      throw new Error(`${where}: PEFT option ${k} = ${JSON.stringify(v)} is not supported by sap's LoRA`);
  const r = cfg.r;
  if (typeof r !== "number" || !Number.isInteger(r) || r < 1)
    throw new Error(`${where}: r must be a positive integer, got ${JSON.stringify(r)}`);
  const alpha = cfg.lora_alpha ?? 8; // PEFT's default
  if (typeof alpha !== "number" || !(alpha > 0))
    throw new Error(`${where}: lora_alpha must be positive, got ${JSON.stringify(alpha)}`);
  const dropout = cfg.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1))
    throw new Error(`${where}: lora_dropout must be in [0, 1), got ${JSON.stringify(dropout)}`);
  const targets = cfg.target_modules;
  if (typeof targets === "string")
    throw new Error(`${where}: target_modules is a regular expression ("${targets}"); sap needs a list of module names`);
  if (!Array.isArray(targets) || !targets.length || !targets.every((t) => typeof t === "string"))
    throw new Error(`${where}: target_modules must be a non-empty list of module names, got ${JSON.stringify(targets)}`);
  return { rank: r, alpha, dropout, targets: targets as string[] };
}

/** The layers PEFT adapts (null: all of them). */
function layerList(cfg: PeftLoraConfig, where: string): number[] | null {
  const v = cfg.layers_to_transform;
  if (v === undefined || v === null) return null;
  const list = typeof v === "number" ? [v] : v;
  if (!Array.isArray(list) || !list.every((i) => Number.isInteger(i) && (i as number) >= 0))
    throw new Error(`${where}: layers_to_transform must be a layer index or a list of them, got ${JSON.stringify(v)}`);
  return [...new Set(list as number[])].sort((a, b) => a - b);
}

/** The split a PEFT adapter implies: its LoRA layers must be k..L-1 (sap's top), k the split. */
export function peftSplit(cfg: PeftLoraConfig, where: string): number {
  const layers = layerList(cfg, where);
  return layers && layers.length ? layers[0]! : 0;
}

/** What sap needs when a PEFT adapter comes without sap_adapter.json: inferred from the tensors. */
export function inferFromPeftTensors(
  tensors: Map<string, LoadedTensor>,
  where: string,
): { modelType: EncoderConfig["modelType"]; labels: string[] } {
  const names = [...tensors.keys()].map((n) => fromPeftName(n) ?? n);
  const types = Object.entries(BASE_PREFIX) as Array<[EncoderConfig["modelType"], string]>;
  const found = types.find(([, prefix]) => names.some((n) => n.startsWith(prefix)));
  if (!found)
    throw new Error(`${where}: no tensor names a bert, roberta, distilbert or gpt2 layer (${names.slice(0, 4).join(", ")})`);
  // The head's output layer: BERT/DistilBERT classifier, RoBERTa classifier.out_proj, GPT-2 score.
  const head = ["classifier.out_proj.weight", "classifier.weight", "score.weight"]
    .map((n) => tensors.get(PEFT_PREFIX + n))
    .find(Boolean);
  if (!head)
    throw new Error(
      `${where}: adapter_model.safetensors holds no classification head (classifier/score in modules_to_save); ` +
        `sap needs the head trained with the adapter`,
    );
  return { modelType: found[0], labels: Array.from({ length: head.shape[0]! }, (_, i) => `LABEL_${i}`) };
}

export function readPeftTensors(dir: string): Map<string, LoadedTensor> {
  const path = join(dir, "adapter_model.safetensors");
  if (!existsSync(path)) {
    const bin = join(dir, "adapter_model.bin");
    if (existsSync(bin))
      throw new Error(
        `${dir}: only adapter_model.bin (a pickle) is present. sap never unpickles files (they can run arbitrary code). ` +
          `Convert it once, where you trust the file, with Python:\n` +
          `  import torch, safetensors.torch; safetensors.torch.save_file(torch.load("${bin}", weights_only=True), "${path}")\n` +
          `or re-save the PeftModel with save_pretrained(dir) (safetensors is its default)`,
      );
    throw new Error(`${dir}: no adapter_model.safetensors`);
  }
  return readSafetensors(path).tensors;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Copies a PEFT adapter's tensors into a sap LoRA instance (built on the split the config
 * implies), checking names and shapes. Head parameters PEFT did not save (its SEQ_CLS default
 * keeps only classifier/score, not BERT's pooler) stay as the base model has them, as in PEFT.
 */
export function loadPeftTensors(
  dir: string,
  cfg: PeftLoraConfig,
  model: SplittableModel,
  instance: PeftInstance,
  split: number,
  tensors: Map<string, LoadedTensor>,
): void {
  const where = join(dir, "adapter_config.json");
  const L = model.numLayers;
  const pattern = LAYERS_PATTERN[model.config.modelType];
  const lp = cfg.layers_pattern;
  const patterns = lp === undefined || lp === null ? [] : Array.isArray(lp) ? lp : [lp];
  if (patterns.length && !patterns.includes(pattern))
    throw new Error(
      `${where}: layers_pattern ${JSON.stringify(lp)} does not name ${model.config.modelType}'s layers ("${pattern}")`,
    );
  const layers = layerList(cfg, where);
  if (layers) {
    const top = Array.from({ length: L - split }, (_, i) => split + i);
    if (!sameShape(layers, top))
      throw new Error(
        `${where}: layers_to_transform [${layers.join(", ")}] is not a top block k..${L - 1} of the ${L}-layer model; ` +
          `sap's split puts LoRA on layers split..L-1 only`,
      );
  }
  const want = new Map<string, Tensor>(instance.trainable());
  const loaded = new Set<string>();
  const where2 = join(dir, "adapter_model.safetensors");
  for (const [peftName, t] of tensors) {
    const name = fromPeftName(peftName);
    if (name === null)
      throw new Error(`${where2}: tensor ${peftName} is not a PEFT model tensor (names start with ${PEFT_PREFIX})`);
    const p = want.get(name);
    if (!p)
      throw new Error(
        `${where2}: unexpected tensor ${peftName}: sap's LoRA has ${LORA_PARAM.test(name) ? "no such LoRA module" : "no such head parameter"} ` +
          `(target_modules ${JSON.stringify(cfg.target_modules)} in layers ${split}..${L - 1}, modules_to_save in the head only)`,
      );
    if (!sameShape(t.shape, p.shape))
      throw new Error(`${where2}: ${peftName} has shape [${t.shape.join(", ")}] but the model expects [${p.shape.join(", ")}]`);
    p.data.set(t.data);
    loaded.add(name);
  }
  const missing = [...want.keys()].filter((n) => !loaded.has(n) && LORA_PARAM.test(n));
  if (missing.length)
    throw new Error(
      `${where2}: ${missing.length} LoRA tensor(s) missing: ${missing.slice(0, 4).map(toPeftName).join(", ")}${missing.length > 4 ? ", …" : ""}`,
    );
  const C = model.config.numLabels;
  const outputLayer = [...want].filter(([n, p]) => !LORA_PARAM.test(n) && p.shape[0] === C && !loaded.has(n));
  if (outputLayer.length)
    throw new Error(
      `${where2}: the classification head (${outputLayer.map(([n]) => toPeftName(n)).join(", ")}) is missing; ` +
        `save it with the adapter (modules_to_save) so that it matches the LoRA`,
    );
}

export function readSapAdapterFile(dir: string): Record<string, unknown> | null {
  const path = join(dir, SAP_ADAPTER_FILE);
  if (!existsSync(path)) return null;
  const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  if (raw.format !== SAP_ADAPTER_FORMAT) throw new Error(`${path}: unknown format ${String(raw.format)}`);
  return raw;
}
