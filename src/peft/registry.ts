// PEFT methods by name ("lora", "adapter", "prefix", "prompt", "bitfit", "full"). Each declares
// its parameters; a method is only ever applied with params checked against them.
import { ParamError, parseParams, shortJson, type ParamRecord } from "../params/index.js";
import type { PeftMethod } from "./types.js";

const methods = new Map<string, PeftMethod>();

export function registerPeft(m: PeftMethod): void {
  methods.set(m.name, {
    ...m,
    apply: (model, split, params, rng) => m.apply(model, split, checkPeftParams(m.name, params), rng),
  });
}

export function getPeft(name: string): PeftMethod {
  const m = methods.get(name);
  if (!m) throw new ParamError(`unknown PEFT method ${shortJson(name)} (available: ${[...methods.keys()].join(", ")})`);
  return m;
}

/** Params checked against the method's declarations (unknown, mistyped or out-of-range ones refused). */
export function checkPeftParams(name: string, params: Record<string, unknown>): ParamRecord {
  return parseParams(`peft ${name}`, getPeft(name).params, params);
}

export function listPeft(): PeftMethod[] {
  return [...methods.values()];
}
