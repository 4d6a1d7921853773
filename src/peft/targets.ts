// Finding the pieces of the top model a method touches: its layers, its head, and Linear layers
// by their path inside a layer ("attention.self.query"), per architecture.
import type { SplittableModel } from "../models/model.js";
import { Linear, type Module, type Tensor } from "../tensor/index.js";

export function isTopLayerParam(model: SplittableModel, split: number, name: string): boolean {
  for (let i = split; i < model.numLayers; i++) if (name.startsWith(model.layerPrefix(i))) return true;
  return false;
}

/** Parameters outside the embeddings and every layer: the task head (and GPT-2's ln_f). */
export function headParams(model: SplittableModel): Array<[string, Tensor]> {
  return model.namedParameters().filter(([n]) => {
    if (n.startsWith(model.embeddingPrefix)) return false;
    for (let i = 0; i < model.numLayers; i++) if (n.startsWith(model.layerPrefix(i))) return false;
    return true;
  });
}

/** Parameters the vendor holds: layers split..L-1 and the head. */
export function topParams(model: SplittableModel, split: number): Array<[string, Tensor]> {
  const head = new Set(headParams(model).map(([n]) => n));
  return model.namedParameters().filter(([n]) => head.has(n) || isTopLayerParam(model, split, n));
}

/** Parameters the customer holds: the embeddings and layers 0..split-1. */
export function bottomParams(model: SplittableModel, split: number): Array<[string, Tensor]> {
  return model.namedParameters().filter(([n]) => {
    if (n.startsWith(model.embeddingPrefix)) return true;
    for (let i = 0; i < split; i++) if (n.startsWith(model.layerPrefix(i))) return true;
    return false;
  });
}

/** Linear layers in layers [from, to) whose path inside the layer ends with one of `suffixes`. */
export function findLinears(
  model: SplittableModel,
  from: number,
  to: number,
  suffixes: readonly string[],
): Array<[string, Linear]> {
  const out: Array<[string, Linear]> = [];
  for (const [name, m] of model.namedModules() as Array<[string, Module]>) {
    if (!(m instanceof Linear)) continue;
    for (let i = from; i < to; i++) {
      const prefix = model.layerPrefix(i);
      if (!name.startsWith(prefix)) continue;
      const rel = name.slice(prefix.length);
      if (suffixes.some((s) => rel === s || rel.endsWith(`.${s}`))) out.push([name, m]);
    }
  }
  return out;
}

export const DEFAULT_LORA_TARGETS: Record<string, string[]> = {
  bert: ["query", "value"],
  roberta: ["query", "value"],
  distilbert: ["q_lin", "v_lin"],
  gpt2: ["c_attn"],
};

/** Where bottleneck adapters go: after each attention output and FFN output projection. */
export const ADAPTER_TARGETS: Record<string, string[]> = {
  bert: ["attention.output.dense", "output.dense"],
  roberta: ["attention.output.dense", "output.dense"],
  distilbert: ["attention.out_lin", "ffn.lin2"],
  gpt2: ["attn.c_proj", "mlp.c_proj"],
};

export function listParam(v: unknown, fallback: string[]): string[] {
  if (v === undefined) return fallback;
  if (Array.isArray(v)) return v.map(String);
  return String(v)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export function numParam(
  params: Record<string, unknown>,
  key: string,
  fallback: number,
  check: (n: number) => boolean,
  what: string,
): number {
  const v = params[key];
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new Error(`peft: ${key} must be ${what}, got ${String(v)}`);
  return n;
}
