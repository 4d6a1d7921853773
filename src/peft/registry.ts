// PEFT methods by name ("lora", "adapter", "prefix", "prompt", "bitfit", "full").
import type { PeftMethod } from "./types.js";

const methods = new Map<string, PeftMethod>();

export function registerPeft(m: PeftMethod): void {
  methods.set(m.name, m);
}

export function getPeft(name: string): PeftMethod {
  const m = methods.get(name);
  if (!m) throw new Error(`unknown PEFT method "${name}" (available: ${[...methods.keys()].join(", ")})`);
  return m;
}

export function listPeft(): PeftMethod[] {
  return [...methods.values()];
}
